"""Kubeflow Pipelines: compile the pipeline (KFP v2 spec) and schedule it.

The pipeline comes from the same factory and configuration as the local run;
the project's code is baked into the image (see Dockerfile), so compiling
uploads nothing. The spec still changes with our code: the Transform, Trainer
and ExampleGen configurations carry fingerprints of the source they run, and
ImportSchemaGen the schema's sha256.
"""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pipeline import configs

class SchedulingError(RuntimeError):
    """The schedule command cannot go on; the message says what to fix."""


# ---------------------------------------------------------------------------- compile

def compile_pipeline(
    output: Path,
    pipeline_root: str,
    data_root: str,
    serving_dir: str,
    image: str,
    num_classes: int,
    schema: str,
    name: str,
    exclude_dirs: Sequence[str] = (),
    has_test_dir: bool = True,
    min_accuracy: float = configs.EvaluationConfig.min_accuracy,
    beam_pipeline_args: Sequence[str] = configs.DEFAULT_BEAM_ARGS,
    resources: Optional[Dict[str, configs.Resources]] = None,
    transform: configs.TransformConfig = configs.TransformConfig(),
    train: configs.TrainConfig = configs.TrainConfig(),
) -> Path:
    """Writes the KFP v2 pipeline job (JSON) for `image` to `output`; returns the path."""
    from tfx import v1 as tfx  # noqa: WPS433 (slow import)

    from pipeline.pipeline import create_pipeline  # noqa: WPS433

    local_schema = configs.schema_path(schema)
    pipeline = create_pipeline(
        pipeline_name=f"{configs.PIPELINE_NAME}-{name}",
        pipeline_root=pipeline_root,
        data_root=data_root,
        schema_file=str(local_schema),
        schema_file_at_runtime=f"{configs.CONTAINER_PROJECT_ROOT}/schemas/{schema}/schema.pbtxt",
        serving_dir=serving_dir,
        num_classes=num_classes,
        has_test_dir=has_test_dir,
        ingest=configs.IngestConfig(exclude_dirs=tuple(exclude_dirs)),
        transform=transform,
        train=train,
        evaluation=configs.EvaluationConfig(min_accuracy=min_accuracy),
        beam_pipeline_args=beam_pipeline_args,
        target="kubeflow",
        resources=configs.KUBEFLOW_RESOURCES if resources is None else resources,
    )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=str(output.parent),
        output_filename=output.name,
    )
    runner.run(pipeline, write_out=True)
    return output


def pipeline_spec_of(job_file: Path) -> Dict:
    """The PipelineSpec inside the pipeline job TFX writes (what KFP's upload takes)."""
    job = json.loads(Path(job_file).read_text())
    return job.get("pipelineSpec", job)


# ---------------------------------------------------------------------------- schedule

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-#LW]+$")


def normalize_cron(expression: str) -> str:
    """KFP's 6-field cron (seconds first). A 5-field expression gets '0' seconds."""
    fields = expression.split()
    if len(fields) == 5:
        fields = ["0"] + fields
    if len(fields) != 6 or not all(_CRON_FIELD.match(f) for f in fields):
        raise SchedulingError(
            f"bad cron expression '{expression}': KFP takes 6 fields 'second minute hour day-of-month month "
            "day-of-week' (e.g. '0 0 3 * * *' for 03:00 every day) or the usual 5 without seconds")
    return " ".join(fields)


def plan(spec_file: Path, pipeline_name: str, version_name: str, experiment: str, namespace: Optional[str],
         cron: str, max_concurrency: int, enabled: bool, run_now: bool) -> List[Dict]:
    """What the schedule command will ask the KFP API for, in order (printed by --dry-run)."""
    steps = [
        {"call": "get or create experiment", "experiment": experiment, "namespace": namespace},
        {"call": "upload pipeline (a new version if it already exists)", "pipeline": pipeline_name,
         "version": version_name, "spec": str(spec_file)},
        {"call": "create recurring run", "cron_expression": cron, "max_concurrency": max_concurrency,
         "enabled": enabled},
    ]
    if run_now:
        steps.append({"call": "create run (now)"})
    return steps


def _reach(endpoint: str, what: str, fn, *args, **kwargs):
    """Calls the KFP API; connection failures become a SchedulingError naming the host."""
    import kfp_server_api  # noqa: WPS433
    import urllib3  # noqa: WPS433

    try:
        return fn(*args, **kwargs)
    except (urllib3.exceptions.HTTPError, ConnectionError, OSError) as err:
        raise SchedulingError(f"cannot reach Kubeflow Pipelines at {endpoint} ({what}): {err}. "
                              "Check --host (e.g. http://localhost:8080 after "
                              "`kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80`).") from err
    except kfp_server_api.exceptions.ApiException as err:
        raise SchedulingError(f"Kubeflow Pipelines at {endpoint} refused '{what}': HTTP {err.status} {err.reason}: "
                              f"{(err.body or '')[:500]}") from err


def schedule(
    spec_file: Path,
    host: str,
    cron: str,
    experiment: str = configs.PIPELINE_NAME,
    namespace: Optional[str] = None,
    pipeline_name: Optional[str] = None,
    version_name: Optional[str] = None,
    max_concurrency: int = 1,
    enabled: bool = True,
    run_now: bool = False,
    dry_run: bool = False,
    printer=print,
) -> Dict:
    """Uploads the compiled spec and creates a recurring run; returns the ids created."""
    spec_file = Path(spec_file)
    if not spec_file.is_file():
        raise SchedulingError(f"no compiled spec at {spec_file}; run `python run_kubeflow.py compile` first")
    cron6 = normalize_cron(cron)
    if max_concurrency < 1:
        raise SchedulingError(f"--max-concurrency must be at least 1, got {max_concurrency}")
    spec = pipeline_spec_of(spec_file)
    pipeline_name = pipeline_name or spec.get("pipelineInfo", {}).get("name") or spec_file.stem
    version_name = version_name or f"{pipeline_name}-{_spec_digest(spec)}"
    steps = plan(spec_file, pipeline_name, version_name, experiment, namespace, cron6, max_concurrency, enabled,
                 run_now)
    if dry_run:
        printer(json.dumps({"host": host, "requests": steps}, indent=2))
        return {"dry_run": True, "requests": steps}

    import kfp  # noqa: WPS433

    client = _reach(host, "connect", kfp.Client, host=host, namespace=namespace or "kubeflow")
    exp = _reach(host, "create experiment", client.create_experiment, name=experiment, namespace=namespace)
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / f"{pipeline_name}.json"
        package.write_text(json.dumps(spec))
        pipeline_id = _reach(host, "find pipeline", client.get_pipeline_id, pipeline_name)
        if pipeline_id is None:
            pipeline = _reach(host, "upload pipeline", client.upload_pipeline, str(package),
                              pipeline_name=pipeline_name, namespace=namespace)
            pipeline_id = pipeline.pipeline_id
            versions = _reach(host, "list versions", client.list_pipeline_versions, pipeline_id=pipeline_id)
            version_id = versions.pipeline_versions[0].pipeline_version_id
            printer(f"uploaded pipeline '{pipeline_name}' ({pipeline_id})")
        else:
            version = _reach(host, "upload version", client.upload_pipeline_version, str(package),
                             pipeline_version_name=version_name, pipeline_id=pipeline_id)
            version_id = version.pipeline_version_id
            printer(f"pipeline '{pipeline_name}' exists: uploaded as new version '{version_name}' ({version_id})")
    recurring = _reach(host, "create recurring run", client.create_recurring_run,
                       experiment_id=exp.experiment_id, job_name=f"{pipeline_name} [{cron6}]",
                       cron_expression=cron6, max_concurrency=max_concurrency, pipeline_id=pipeline_id,
                       version_id=version_id, enabled=enabled)
    printer(f"recurring run {recurring.recurring_run_id}: '{cron6}', max concurrency {max_concurrency}, "
            f"{'enabled' if enabled else 'disabled'}")
    result = {"experiment_id": exp.experiment_id, "pipeline_id": pipeline_id, "version_id": version_id,
              "recurring_run_id": recurring.recurring_run_id}
    if run_now:
        run = _reach(host, "create run", client.run_pipeline, experiment_id=exp.experiment_id,
                     job_name=f"{pipeline_name} (now)", pipeline_id=pipeline_id, version_id=version_id)
        printer(f"run {run.run_id} started")
        result["run_id"] = run.run_id
    return result


def _spec_digest(spec: Dict) -> str:
    import hashlib  # noqa: WPS433

    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
