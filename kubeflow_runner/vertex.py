"""`run_kubeflow.py vertex`: the compiled spec submitted to Vertex AI Pipelines, once or on a schedule."""

from __future__ import annotations

import json
from pathlib import Path

from kubeflow_runner.scheduling import SchedulingError, cron_fields, pipeline_root_of, pipeline_spec_of


def vertex_cron(expression: str) -> str:
    """Vertex takes the usual 5-field cron; KFP's 6-field form is accepted when its seconds are 0."""
    return cron_fields(
        expression, 5, " for Vertex AI: 5 fields 'minute hour day-of-month month day-of-week' (e.g. '0 3 * * *')"
    )


def submit_vertex(
    spec_file: Path,
    project: str,
    region: str,
    pipeline_root: str | None = None,
    service_account: str | None = None,
    cron: str | None = None,
    dry_run: bool = False,
    printer=print,
) -> dict:
    """Submits the compiled job to Vertex AI Pipelines (a schedule with `cron`); `dry_run` sends nothing.

    The job file is the one `compile` writes for Kubeflow; Vertex needs gs://
    for the pipeline root and the serving destination (it mounts no MinIO and
    ignores KFP's Kubernetes platform spec).
    """
    spec_file = Path(spec_file)
    if not spec_file.is_file():
        raise SchedulingError(f"no compiled spec at {spec_file}; run `python run_kubeflow.py compile` first")
    root = pipeline_root or pipeline_root_of(spec_file)
    if not root.startswith("gs://"):
        raise SchedulingError(
            f"Vertex AI Pipelines needs a gs:// pipeline root, got '{root}': pass --pipeline-root, "
            "or compile with --pipeline-root gs://... --serving-dir gs://..."
        )
    if "s3://" in json.dumps(pipeline_spec_of(spec_file)):
        raise SchedulingError(
            f"{spec_file} was compiled for s3:// (MinIO); Vertex AI reads gs:// only: compile "
            "with --pipeline-root gs://... --serving-dir gs://... --corpus-pvc none"
        )
    cron5 = vertex_cron(cron) if cron else None
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    spec = pipeline_spec_of(spec_file)
    name = spec["pipelineInfo"]["name"]
    job = aiplatform.PipelineJob(
        display_name=name,
        template_path=str(spec_file),
        pipeline_root=root,
        project=project,
        location=region,
        enable_caching=None,
        credentials=AnonymousCredentials() if dry_run else None,
    )
    request = {
        "project": project,
        "region": region,
        "display_name": name,
        "pipeline_root": job._gca_resource.runtime_config.gcs_output_directory,  # noqa: SLF001 (what would be sent)
        "schema_version": job._gca_resource.pipeline_spec["schemaVersion"],  # noqa: SLF001
        "tasks": sorted(spec["root"]["dag"]["tasks"]),
        "service_account": service_account,
        "schedule_cron": cron5,
    }
    if dry_run:
        printer(json.dumps({"vertex_request": request}, indent=2))
        return {"dry_run": True, **request}
    if cron5:
        schedule = job.create_schedule(cron=cron5, display_name=f"{name} [{cron5}]", service_account=service_account)
        printer(f"Vertex schedule {schedule.resource_name}: '{cron5}'")
        return {"schedule": schedule.resource_name, **request}
    job.submit(service_account=service_account)
    printer(f"Vertex pipeline job {job.resource_name} submitted")
    return {"job": job.resource_name, **request}
