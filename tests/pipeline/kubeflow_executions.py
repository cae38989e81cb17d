"""The two executions of the compiled tiny spec that the KFP stand-in runs, in either of its modes.

tests/pipeline/test_kubeflow_backend.py runs both in venv mode (`make test`); test_kubeflow_image.py runs the
first with every task inside the built image (`make image-check`). The first blesses and pushes to s3://, with
the test metrics of the local tiny run; the second, with a worse candidate, is refused against the served model
and pushes nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from kubeflow_runner import command_line
from pipeline.recorded import tfma_results
from tests.helpers import TINY_RUN_SETTINGS, make_tiny_run_corpus
from tests.stand_ins import kfp_backend
from tests.stand_ins.s3_server import ACCESS_KEY, SECRET_KEY

NAME = "tiny"
PVC = "corpora"
TASKS = (
    "DirectoryExampleGen",
    "ImportSchemaGen",
    "StatisticsGen",
    "StrictExampleValidator",
    "DriftCheck",
    "Transform",
    "Trainer",
    "ServedModelBaseline",
    "Evaluator",
    "Pusher",
    "RunRetention",
)
# The retention the last step applies to the bucket (components/run_retention.py): the first run keeps itself, the
# second keeps both (the first pushed the kept version) and retires a planted older run.
RETENTION_FLAGS = ("--keep-runs", "1", "--keep-versions", "1")
RUNS_FOLDER = f"tfx/{NAME}/pipeline_root/text-classifier-{NAME}"


def compile_tiny(base: Path, s3, output: str, *flags, image: str = "stand-in:latest") -> Path:
    corpora = base / "corpora"
    job = base / output
    code = command_line.main(
        [
            "compile",
            "--name",
            NAME,
            "--num-classes",
            "2",
            "--output",
            str(job),
            "--image",
            image,
            "--corpus-pvc",
            PVC,
            "--corpus-mount",
            str(corpora),
            "--pipeline-root",
            f"s3://{s3.bucket}/tfx/{NAME}/pipeline_root",
            "--serving-dir",
            f"s3://{s3.bucket}/tfx/{NAME}/serving",
            "--s3-endpoint",
            s3.endpoint,
            *flags,
        ]
    )
    assert code == 0
    return job


def first_execution(s3, base: Path, image: str | None = None) -> SimpleNamespace:
    """The tiny run's corpus and settings, compiled for Kubeflow and executed once (container mode: `image`)."""
    make_tiny_run_corpus(base / "corpora" / NAME)
    job = compile_tiny(base, s3, "job.json", *TINY_RUN_SETTINGS, *RETENTION_FLAGS, image=image or "stand-in:latest")
    backend = kfp_backend.Backend(
        base / "pod",
        kfp_backend.ObjectStore(s3.endpoint, ACCESS_KEY, SECRET_KEY),
        secrets={"mlpipeline-minio-artifact": {"accesskey": ACCESS_KEY, "secretkey": SECRET_KEY}},
        volumes={PVC: base / "corpora"},
        image=image,
    )
    first = backend.run(job)
    return SimpleNamespace(base=base, job=job, backend=backend, first=first, settings=TINY_RUN_SETTINGS, image=image)


def metadata(result, task, key):
    return result.tasks[task].artifacts[key].metadata


def served_versions(s3):
    return sorted({k.split("/")[3] for k in s3.keys(f"tfx/{NAME}/serving/")})


def run_record(s3, result) -> dict:
    """The RunRetention step's record of a run, read from the bucket."""
    uri = result.tasks["RunRetention"].artifacts["record"].uri
    body = s3.client().get_object(Bucket=s3.bucket, Key=uri[len(f"s3://{s3.bucket}/") :] + "/record.json")["Body"]
    return json.loads(body.read())


def plant_an_older_run(s3) -> tuple[str, str]:
    """A run recorded before the first (its model and record), and a version it pushed: (model key, record key)."""
    client, root = s3.client(), f"s3://{s3.bucket}/{RUNS_FOLDER}"
    model_key = f"{RUNS_FOLDER}/older-run/Trainer/u0/model/saved_model.pb"
    record_key = f"{RUNS_FOLDER}/older-run/RunRetention/u0/record/record.json"
    model = f"{root}/older-run/Trainer/u0/model"
    record = {"run_id": "older-run", "finished_at": 1.0, "pushed_version": "1", "artifacts": [model]}
    client.put_object(Bucket=s3.bucket, Key=model_key, Body=b"model")
    client.put_object(Bucket=s3.bucket, Key=record_key, Body=json.dumps(record).encode())
    client.put_object(Bucket=s3.bucket, Key=f"tfx/{NAME}/serving/1/saved_model.pb", Body=b"model")
    return model_key, record_key


def check_first_execution_blessed_and_pushed(kfp, s3) -> None:
    assert {name: t.state for name, t in kfp.first.tasks.items()} == {name: "ran" for name in TASKS}
    assert metadata(kfp.first, "ServedModelBaseline", "baseline_model")["served_version"] == ""  # nothing served
    assert metadata(kfp.first, "Evaluator", "blessing")["blessed"] == 1
    pushed = metadata(kfp.first, "Pusher", "pushed_model")
    assert pushed["pushed"] == 1
    (version,) = served_versions(s3)
    assert pushed["pushed_destination"] == f"s3://{s3.bucket}/tfx/{NAME}/serving/{version}"
    assert f"tfx/{NAME}/serving/{version}/saved_model.pb" in s3.keys(f"tfx/{NAME}/serving/{version}/")
    record = run_record(s3, kfp.first)
    assert record["pushed_version"] == version and record["retention"]["kept_runs"] == [kfp.first.run_id]
    assert kfp.first.tasks["Trainer"].artifacts["model"].uri in record["artifacts"]


def check_test_metrics_equal_the_local_runs(kfp, tiny_run, tmp_path: Path) -> None:
    evaluation = kfp.first.tasks["Evaluator"].artifacts["evaluation"].uri
    local_copy = tmp_path / "evaluation"
    kfp.backend.store.download(evaluation, local_copy)
    on_kfp = tfma_results.evaluation_metrics(str(local_copy))["overall"]
    local = tiny_run.summary["evaluation"]["overall"]
    assert set(on_kfp) == set(local)
    for metric, value in local.items():
        assert on_kfp[metric] == pytest.approx(value, abs=1e-6), metric


def check_second_execution_refuses_a_worse_candidate(kfp, s3):
    """A three-id vocabulary (padding, OOV, one word): over the lower bound, under the served model."""
    before = served_versions(s3)
    older_model, older_record = plant_an_older_run(s3)
    worse = compile_tiny(
        kfp.base,
        s3,
        "worse.json",
        *kfp.settings,
        "--vocab-size",
        "3",
        "--ngram-buckets",
        "0",
        "--min-accuracy",
        "0",
        *RETENTION_FLAGS,
        image=kfp.image or "stand-in:latest",
    )
    second = kfp.backend.run(worse)
    states = {name: t.state for name, t in second.tasks.items()}
    # KFP's cache served what it may (same inputs and parameters), never ExampleGen or the baseline.
    assert states["ImportSchemaGen"] == "cached"
    assert states["DirectoryExampleGen"] == "ran" and states["ServedModelBaseline"] == "ran"
    served = metadata(second, "ServedModelBaseline", "baseline_model")["served_version"]
    assert served == metadata(kfp.first, "Pusher", "pushed_model")["pushed_destination"]
    assert metadata(second, "Evaluator", "blessing")["blessed"] == 0
    assert metadata(second, "Pusher", "pushed_model").get("pushed", 0) == 0
    assert served_versions(s3) == before
    local_copy = kfp.base / "second-evaluation"
    kfp.backend.store.download(second.tasks["Evaluator"].artifacts["evaluation"].uri, local_copy)
    failures = tfma_results.validation_failures(str(local_copy))
    assert len(failures) == 1 and "no-regression limit" in failures[0], failures
    # DriftCheck read the served model's training profile from s3:// (the same corpus: no drift).
    drift_copy = kfp.base / "second-drift"
    kfp.backend.store.download(second.tasks["DriftCheck"].artifacts["drift"].uri, drift_copy)
    drift = json.loads((drift_copy / "drift.json").read_text())
    assert os.path.basename(drift["served_version"]) == os.path.basename(served.rstrip("/"))
    assert drift["measures"]["label_linf"] == drift["measures"]["token_js"] == 0.0, drift["measures"]
    # RunRetention: the first run stays (it pushed the served version), the planted older run is retired: its model
    # and its version gone, its record kept and marked.
    record = run_record(s3, second)
    assert record["retention"]["kept_runs"] == [kfp.first.run_id, second.run_id]
    assert record["retention"]["retired_runs"] == ["older-run"] and record["pushed_version"] is None
    assert s3.keys(older_model) == [] and served_versions(s3) == before
    retired = json.loads(s3.client().get_object(Bucket=s3.bucket, Key=older_record)["Body"].read())
    assert retired["retired_at"] > 0
    return second
