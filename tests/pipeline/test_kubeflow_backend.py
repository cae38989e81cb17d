"""The compiled Kubeflow spec executed: each task as the KFP backend's driver and launcher run it.

tests/stand_ins/kfp_backend.py is the stand-in for the backend (its docstring lists what
it models and what it refuses); tests/stand_ins/s3_server.py the object store (moto's S3
server on 127.0.0.1). The pipeline root and the serving destination are s3://
URIs in that server's bucket; the corpus reaches ExampleGen on a "PVC".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pipeline.kubeflow_executions import (
    NAME,
    check_first_execution_blessed_and_pushed,
    check_second_execution_refuses_a_worse_candidate,
    check_test_metrics_equal_the_local_runs,
    first_execution,
)
from tests.stand_ins import kfp_backend


@pytest.fixture(scope="module")
def kfp(s3, tiny_run, tmp_path_factory):
    """The tiny_run corpus and settings, compiled for Kubeflow and executed once (venv mode)."""
    return first_execution(s3, tmp_path_factory.mktemp("kfp-run"))


def test_first_execution_runs_every_task_blesses_and_pushes(kfp, s3):
    check_first_execution_blessed_and_pushed(kfp, s3)


def test_every_artifact_is_written_into_the_bucket(kfp, s3):
    prefix = f"s3://{s3.bucket}/tfx/{NAME}/pipeline_root/text-classifier-{NAME}/{kfp.first.run_id}/"
    keys = set(s3.keys())
    may_be_empty = {
        ("ServedModelBaseline", "baseline_model"),  # nothing served yet
    }
    for task, result in kfp.first.tasks.items():
        for key, artifact in result.artifacts.items():
            assert artifact.uri.startswith(prefix + task + "/"), artifact.uri
            if (task, key) not in may_be_empty:
                inside = artifact.uri[len(f"s3://{s3.bucket}/") :] + "/"
                assert any(k.startswith(inside) for k in keys), f"{task}.{key}: nothing at {artifact.uri}"
    # Nothing was written to the pods' local copies of the outputs (TFX writes the URIs directly).
    assert not (kfp.base / "pod" / "s3" / s3.bucket / "tfx" / NAME / "serving").exists()


def test_test_metrics_equal_the_local_runs(kfp, tiny_run, tmp_path):
    check_test_metrics_equal_the_local_runs(kfp, tiny_run, tmp_path)


def test_second_execution_gates_a_worse_candidate_against_the_served_model(kfp, s3):
    check_second_execution_refuses_a_worse_candidate(kfp, s3)


# ------------------------------------------------------------------ what the backend refuses


def _tfx_job(tmp_path: Path, components, use_pipeline_spec_2_1: bool = True) -> dict:
    """A job as TFX's KubeflowV2DagRunner writes it."""
    from tfx import v1 as tfx
    from tfx.orchestration import pipeline as tfx_pipeline

    pipeline = tfx_pipeline.Pipeline(
        pipeline_name="refused", pipeline_root="s3://mlpipeline/refused", components=components
    )
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image="x", use_pipeline_spec_2_1=use_pipeline_spec_2_1
        ),
        output_dir=str(tmp_path),
        output_filename="job.json",
    )
    runner.run(pipeline, write_out=True)
    return json.loads((tmp_path / "job.json").read_text())


def test_a_resolver_task_is_refused(tmp_path):
    from tfx import v1 as tfx

    resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    schema = tfx.components.ImportSchemaGen(schema_file="schemas/imdb/schema.pbtxt")
    job = _tfx_job(tmp_path, [schema, resolver])
    with pytest.raises(kfp_backend.BackendRefusal, match="non-container and non-importer executor not implemented"):
        kfp_backend.Backend.check(job)


def test_a_schema_2_0_spec_is_refused_for_its_constant_value(tmp_path):
    from tfx import v1 as tfx

    job = _tfx_job(
        tmp_path, [tfx.components.ImportSchemaGen(schema_file="schemas/imdb/schema.pbtxt")], use_pipeline_spec_2_1=False
    )
    assert job["pipelineSpec"]["schemaVersion"] == "2.0.0"
    with pytest.raises(
        kfp_backend.BackendRefusal,
        match=r"param runtime value spec of type \*pipelinespec.ValueOrRuntimeParameter_ConstantValue",
    ):
        kfp_backend.Backend.check(job)
    accepted = _tfx_job(tmp_path, [tfx.components.ImportSchemaGen(schema_file="schemas/imdb/schema.pbtxt")])
    kfp_backend.Backend.check(accepted)  # the same pipeline as 2.1.0 is fine


def test_a_task_name_argo_refuses_is_refused(tmp_path):
    from tfx import v1 as tfx

    job = _tfx_job(
        tmp_path, [tfx.components.ImportSchemaGen(schema_file="schemas/imdb/schema.pbtxt").with_id("import_schema")]
    )
    with pytest.raises(kfp_backend.BackendRefusal, match="tasks.import_schema: name must consist of alpha-numeric"):
        kfp_backend.Backend.check(job)


def test_a_pipeline_root_that_is_not_a_bucket_is_refused(tmp_path):
    from tfx import v1 as tfx

    job = _tfx_job(tmp_path, [tfx.components.ImportSchemaGen(schema_file="schemas/imdb/schema.pbtxt")])
    job["runtimeConfig"]["gcsOutputDirectory"] = "/mnt/tfx/root"
    with pytest.raises(kfp_backend.BackendRefusal, match="unsupported Cloud bucket"):
        kfp_backend.Backend.check(job)


def test_an_unknown_placeholder_is_refused(kfp, tmp_path):
    job = json.loads(kfp.job.read_text())
    args = job["pipelineSpec"]["deploymentSpec"]["executors"]["DirectoryExampleGen_executor"]["container"]["args"]
    args.append("{{$.inputs.parameters['no_such_parameter']}}")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(job))
    with pytest.raises(kfp_backend.BackendRefusal, match="no_such_parameter.*not filled by the KFP launcher"):
        kfp.backend.run(tampered)
