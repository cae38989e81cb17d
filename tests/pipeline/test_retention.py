"""Retention (issue 30): a scheduled pipeline's folders stay bounded, and nothing a kept run or version needs goes.

The soak test runs the pipeline 3 times on a corpus that grows between runs, with a policy of 1 run and 2
served versions: the second newest run stays because it pushed a kept version, the first is retired; every bound
is computed from the policy. `make soak` runs it 10 times under the default policy (TC_SOAK_RUNS). Its corpus
is templated (issue 30): 60 files per class written from one form each, which near-duplicate chains used to
take whole into one split.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from components.retention_policy import RetentionPolicy
from pipeline import configs, retention
from tests.helpers import run_cli, write_doc

# In `make test`: three runs and a policy of its own, not the ten runs under the default policy that issue 30 asked
# for: a run of this corpus takes 70-95 s in `make test` (ten took 726.57 s, six 565.63 s), and CI must stay under
# 45 minutes. `make soak` runs this same test as issue 30 asked (TC_SOAK_RUNS=10, the default policy, no flags).
SOAK_RUNS = int(os.environ.get("TC_SOAK_RUNS") or 0)
if SOAK_RUNS:
    DEFAULT = RetentionPolicy()
    KEEP_RUNS, KEEP_VERSIONS, RUNS = DEFAULT.keep_runs, DEFAULT.keep_versions, SOAK_RUNS
    POLICY_FLAGS: list[str] = []
else:
    KEEP_RUNS, KEEP_VERSIONS, RUNS = 1, 2, 3
    POLICY_FLAGS = ["--keep-runs", str(KEEP_RUNS), "--keep-versions", str(KEEP_VERSIONS)]
KEPT = max(KEEP_RUNS, KEEP_VERSIONS)  # every run pushes: the runs of the kept versions are the newest
FORMS = {
    "good": "a wonderful delightful film, great acting and a lovely story number",
    "bad": "a dull tedious film, poor acting and a story nobody could follow, number",
}


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def test_scheduled_runs_on_a_growing_corpus_keep_the_folders_bounded_and_the_history(tmp_path, monkeypatch, capsys):
    root = tmp_path / "corpus"
    for name, form in FORMS.items():
        for i in range(60):
            write_doc(root / name / f"{i}.txt", f"{form} {i}")
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    work = tmp_path / "runs"
    policy = POLICY_FLAGS
    # Every run blessed and pushed; a small model (the default's million n-gram ids train slower).
    gate = ["--max-accuracy-drop", "1", "--epochs", "3", "--ngram-buckets", "1000"]
    paths = configs.RunPaths(work, "corpus")
    runs = []
    for k in range(RUNS):
        for name, form in FORMS.items():  # the corpus grows: every run trains a new model
            write_doc(root / name / f"new_{k}.txt", f"{form} {100 + k}")
        code, summary = run_cli(tmp_path, ["--data-dir", str(root), "--work-dir", str(work), *policy, *gate])
        assert code == 0, summary["failure"]
        assert summary["push"]["pushed"] is True and summary["evaluation"]["blessed"] is True
        runs.append(summary["run_id"])
        assert summary["retention"]["kept_runs"] == runs[-KEPT:]
        versions = sorted(os.listdir(paths.serving))
        assert len(versions) == min(k + 1, KEEP_VERSIONS)
        assert Path(summary["push"]["path"]).name == versions[-1]  # the newest blessed model is served
    assert "template groups 2 (split like distinct texts)" in capsys.readouterr().out
    report = json.loads(Path(summary["ingestion"]["report"]).read_text())
    assert {d["class"] for group in report["duplicates"]["template_groups"] for d in group} == set(FORMS)

    # The bound from the policy: the kept runs' artifacts, plus what every run keeps (its statistics, evaluation).
    store = retention.writable_store(str(paths.metadata))
    live = [a for a in store.get_artifacts() if a.type in retention.RETIRED_TYPES and a.state == a.LIVE]
    deleted = [a for a in store.get_artifacts() if a.type in retention.RETIRED_TYPES and a.state == a.DELETED]
    assert deleted and all(not Path(a.uri).exists() for a in deleted)
    assert all(Path(a.uri).exists() for a in live)
    newest = store.get_context_by_type_and_name("pipeline_run", runs[-1])
    executions = [e.id for e in store.get_executions_by_context(newest.id)]
    outputs = {e.artifact_id for e in store.get_events_by_execution_ids(executions) if e.type == e.OUTPUT}
    footprint = sum(size(a.uri) for a in store.get_artifacts_by_id(list(outputs)) if a.type in retention.RETIRED_TYPES)
    model = max(size(a.uri) for a in live if a.type == "Model")
    small = [a for a in store.get_artifacts() if a.type not in retention.RETIRED_TYPES]
    bound = KEPT * footprint + sum(size(a.uri) for a in small if Path(a.uri).exists()) + (1 << 20)
    assert size(paths.pipeline_root) <= bound, (size(paths.pipeline_root), bound)
    assert size(paths.serving) <= KEEP_VERSIONS * model * 1.01
    # Nothing new in the temp folder but empty folders of Beam's (and TensorFlow's autograph files, removed when
    # the process ends): no 49 MB package per Beam component.
    left = [f for f in temp.rglob("*") if f.is_file() and not f.name.startswith("__autograph_generated_file")]
    assert left == [] and not list(temp.glob("*/build")), left

    # The history: every run listed, the retired ones as retired, with their evaluation.
    from tools import inspect

    capsys.readouterr()
    assert inspect.main(["runs", "--work-dir", str(work), "--name", "corpus", "--json"]) == 0
    rows = {r["run_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == runs
    assert [rows[r]["retired"] for r in runs] == [True] * (RUNS - KEPT) + [False] * KEPT
    assert all(rows[r]["test_accuracy"] is not None for r in runs)
    assert inspect.main(["runs", "--work-dir", str(work), "--name", "corpus"]) == 0
    assert capsys.readouterr().out.count("(retired)") == RUNS - KEPT


RETIRE_ON_S3 = """
import json, sys
import tensorflow_io  # noqa: F401 - registers s3:// with tf.io.gfile, as the Kubeflow entry point does
from ml_metadata.proto import metadata_store_pb2 as pb
from components.retention_policy import RetentionPolicy
from pipeline import retention

metadata, root, serving = sys.argv[1:]
from ml_metadata.metadata_store import metadata_store
config = pb.ConnectionConfig()
config.sqlite.filename_uri = metadata
config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
store = metadata_store.MetadataStore(config)
pipeline_type = store.put_context_type(pb.ContextType(name="pipeline"))
run_type = store.put_context_type(pb.ContextType(name="pipeline_run"))
exec_type = store.put_execution_type(pb.ExecutionType(name="Trainer"))
types = {t: store.put_artifact_type(pb.ArtifactType(name=t)) for t in ("Model", "PushedModel", "ModelEvaluation")}
[pipeline_id] = store.put_contexts([pb.Context(type_id=pipeline_type, name="text-classifier-s3")])
for n in (1, 2):
    [run] = store.get_contexts_by_id(
        store.put_contexts([pb.Context(type_id=run_type, name=f"run-{n}", create_time_since_epoch=n)])
    )
    run_id = run.id
    store.put_parent_contexts([pb.ParentContext(child_id=run_id, parent_id=pipeline_id)])
    artifacts = []
    for kind, folder in (("Model", "Trainer/model"), ("PushedModel", "Pusher/pushed_model"),
                         ("ModelEvaluation", "Evaluator/evaluation")):
        a = pb.Artifact(type_id=types[kind], uri=f"{root}/{folder}/{n}", state=pb.Artifact.LIVE)
        if kind == "PushedModel":
            a.custom_properties["pushed_version"].string_value = str(n)
        artifacts.append((a, pb.Event(type=pb.Event.OUTPUT)))
    store.put_execution(pb.Execution(type_id=exec_type), artifacts, [run])
policy = RetentionPolicy(keep_runs=1, keep_versions=1)
print(json.dumps(retention.retire(metadata, "text-classifier-s3", serving, policy).to_json()), flush=True)
import os
os._exit(0)  # the AWS SDK's teardown crashes at exit (kubeflow_runner/container_entrypoint.py does the same)
"""


def test_retention_removes_from_an_object_store_and_keeps_the_newest_run_and_version(s3, tmp_path):
    """The same policy on s3:// URIs (moto's S3 server on 127.0.0.1, written through tensorflow-io)."""
    import subprocess
    import sys

    from tests.helpers import REPO

    prefix = "retention"  # the objects' key prefix in the stand-in's bucket
    client, root, serving = s3.client(), f"s3://{s3.bucket}/{prefix}/root", f"s3://{s3.bucket}/{prefix}/serving"
    for n in (1, 2):
        for key in (
            f"root/Trainer/model/{n}/saved_model.pb",
            f"root/Pusher/pushed_model/{n}/saved_model.pb",
            f"root/Evaluator/evaluation/{n}/metrics",
            f"serving/{n}/saved_model.pb",
        ):
            client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{key}", Body=b"x" * 100)
    done = subprocess.run(
        [sys.executable, "-c", RETIRE_ON_S3, str(tmp_path / "metadata.sqlite"), root, serving],
        cwd=REPO,
        env={**os.environ, **s3.env()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    retired = json.loads(done.stdout.strip().splitlines()[-1])
    assert retired["kept_runs"] == ["run-2"] and retired["removed_versions"] == ["1"]
    assert sorted(retired["retired_artifacts"]) == [f"{root}/Pusher/pushed_model/1", f"{root}/Trainer/model/1"]
    assert sorted(key.removeprefix(f"{prefix}/") for key in s3.keys(f"{prefix}/")) == [
        "root/Evaluator/evaluation/1/metrics",  # the history stays
        "root/Evaluator/evaluation/2/metrics",
        "root/Pusher/pushed_model/2/saved_model.pb",
        "root/Trainer/model/2/saved_model.pb",
        "serving/2/saved_model.pb",
    ]
    store = retention.writable_store(str(tmp_path / "metadata.sqlite"))
    states = {a.uri.removeprefix(root + "/"): a.state for a in store.get_artifacts()}
    assert states["Trainer/model/1"] == states["Pusher/pushed_model/1"] == retention.DELETED
    assert states["Trainer/model/2"] == states["Evaluator/evaluation/1"] == retention.LIVE
