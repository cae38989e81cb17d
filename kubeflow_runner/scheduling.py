"""Kubeflow Pipelines: upload a compiled spec and schedule it (kubeflow_runner/compiler.py compiles; Vertex AI's
submission, from the same file: kubeflow_runner/vertex.py).

`schedule` speaks KFP's v2beta1 REST API through the kfp SDK, as who kubeflow_runner/credentials.py says. It refuses
what the backend would refuse before sending anything, and `--dry-run` prints the requests instead.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tempfile
from pathlib import Path

from kubeflow_runner import credentials
from pipeline import configs


class SchedulingError(RuntimeError):
    """The schedule command cannot go on; the message says what to fix."""


def pipeline_spec_of(job_file: Path) -> dict:
    """The PipelineSpec inside the pipeline job TFX writes (what KFP's upload takes)."""
    job = json.loads(Path(job_file).read_text())
    return job.get("pipelineSpec", job)


def platform_spec_of(job_file: Path) -> dict | None:
    """The Kubernetes platform spec compile adds for s3:// (secrets as environment variables), if any."""
    return json.loads(Path(job_file).read_text()).get("platformSpec")


# ---------------------------------------------------------------------------- schedule

CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-#LW]+$")


def cron_fields(expression: str, count: int, usage: str) -> str:
    """`expression` as `count` (6: KFP's, seconds first; 5: the usual) fields: a 5-field one gets '0' seconds, a
    6-field one with '0' seconds loses them; anything else is refused with `usage`."""
    fields = expression.split()
    if count == 6 and len(fields) == 5:
        fields = ["0"] + fields
    elif count == 5 and len(fields) == 6 and fields[0] == "0":
        fields = fields[1:]
    if len(fields) != count or not all(CRON_FIELD.match(f) for f in fields):
        raise SchedulingError(f"bad cron expression '{expression}'{usage}")
    return " ".join(fields)


def normalize_cron(expression: str) -> str:
    """KFP's 6-field cron (seconds first). A 5-field expression gets '0' seconds."""
    return cron_fields(
        expression,
        6,
        ": KFP takes 6 fields 'second minute hour day-of-month month day-of-week' (e.g. '0 0 3 * * *' for 03:00 "
        "every day) or the usual 5 without seconds",
    )


def plan(
    spec_file: Path,
    pipeline_name: str,
    version_name: str,
    experiment: str,
    namespace: str | None,
    cron: str,
    max_concurrency: int,
    enabled: bool,
    run_now: bool,
    pipeline_root: str,
) -> list[dict]:
    """What the schedule command will ask the KFP API for, in order (printed by --dry-run)."""
    steps = [
        {"call": "get or create experiment", "experiment": experiment, "namespace": namespace},
        {
            "call": "upload pipeline (a new version if it already exists)",
            "pipeline": pipeline_name,
            "version": version_name,
            "spec": str(spec_file),
        },
        {
            "call": "create recurring run",
            "cron_expression": cron,
            "max_concurrency": max_concurrency,
            "enabled": enabled,
            "pipeline_root": pipeline_root,
        },
    ]
    if run_now:
        steps.append({"call": "create run (now)", "pipeline_root": pipeline_root})
    return steps


def upload_package(job_file: Path) -> str:
    """What KFP's upload takes: the PipelineSpec, then the platform spec as a second YAML document.

    TFX's job wrapper (displayName, runtimeConfig) is not part of it; the
    pipeline root travels with each run instead (see `schedule`).
    """
    import yaml

    docs = [pipeline_spec_of(job_file)]
    platform = platform_spec_of(job_file)
    if platform:
        docs.append(platform)
    return yaml.safe_dump_all(docs, sort_keys=True)


def pipeline_root_of(job_file: Path) -> str:
    return json.loads(Path(job_file).read_text()).get("runtimeConfig", {}).get("gcsOutputDirectory", "")


def _reach_kfp(endpoint: str, what: str, fn, *args, _auth: tuple[str, str | None] = ("", None), **kwargs):
    """Calls the KFP API; connection failures become a SchedulingError naming the host, and a refused or missing
    credential one saying which (`_auth`: the credential's source and the namespace, kubeflow_runner/credentials.py)."""
    import kfp_server_api
    import urllib3

    try:
        return fn(*args, **kwargs)
    except (urllib3.exceptions.HTTPError, ConnectionError, OSError) as err:
        raise SchedulingError(
            f"cannot reach Kubeflow Pipelines at {endpoint} ({what}): {err}. "
            "Check --host (e.g. http://localhost:8080 after "
            "`kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80`)."
        ) from err
    except kfp_server_api.exceptions.ApiException as err:
        message = credentials.refusal(err.status, endpoint, what, *_auth)
        if message:
            raise SchedulingError(message) from err
        raise SchedulingError(
            f"Kubeflow Pipelines at {endpoint} refused '{what}': HTTP {err.status} {err.reason}: "
            f"{(err.body or '')[:500]}"
        ) from err


def schedule(
    spec_file: Path,
    host: str,
    cron: str,
    experiment: str = configs.PIPELINE_NAME,
    namespace: str | None = None,
    pipeline_name: str | None = None,
    version_name: str | None = None,
    max_concurrency: int = 1,
    enabled: bool = True,
    run_now: bool = False,
    dry_run: bool = False,
    printer=print,
    credential: credentials.Credential = credentials.Credential({}, ""),
) -> dict:
    """Uploads the compiled spec and creates a recurring run; returns the ids created."""
    spec_file = Path(spec_file)
    if not spec_file.is_file():
        raise SchedulingError(f"no compiled spec at {spec_file}; run `python run_kubeflow.py compile` first")
    cron6 = normalize_cron(cron)
    if max_concurrency < 1:
        raise SchedulingError(f"--max-concurrency must be at least 1, got {max_concurrency}")
    spec = pipeline_spec_of(spec_file)
    pipeline_name = pipeline_name or spec.get("pipelineInfo", {}).get("name") or spec_file.stem
    package_text = upload_package(spec_file)
    version_name = version_name or f"{pipeline_name}-{hashlib.sha256(package_text.encode()).hexdigest()[:10]}"
    # KFP takes a run's pipeline root from the run request, not from the spec: without it,
    # the run would write to the cluster's default root, not where the spec was compiled for.
    pipeline_root = pipeline_root_of(spec_file)
    steps = plan(
        spec_file,
        pipeline_name,
        version_name,
        experiment,
        namespace,
        cron6,
        max_concurrency,
        enabled,
        run_now,
        pipeline_root,
    )
    if dry_run:
        printer(json.dumps({"host": host, "credential": credential.source or "none", "requests": steps}, indent=2))
        return {"dry_run": True, "requests": steps}

    import kfp

    refused = _reach_kfp(host, "healthz", credentials.probe, host, credential, namespace)  # unreachable: one line
    if refused:
        raise SchedulingError(refused)
    auth = (credential.source, namespace)
    _reach = functools.partial(_reach_kfp, _auth=auth)
    client = _reach(
        host, "connect", kfp.Client, host=host, namespace=namespace or "kubeflow", **credential.client_kwargs
    )
    exp = _reach(host, "create experiment", client.create_experiment, name=experiment, namespace=namespace)
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / f"{pipeline_name}.yaml"
        package.write_text(package_text)
        pipeline_id = _reach(host, "find pipeline", client.get_pipeline_id, pipeline_name)
        if pipeline_id is None:
            pipeline = _reach(
                host,
                "upload pipeline",
                client.upload_pipeline,
                str(package),
                pipeline_name=pipeline_name,
                namespace=namespace,
            )
            pipeline_id = pipeline.pipeline_id
            versions = _reach(host, "list versions", client.list_pipeline_versions, pipeline_id=pipeline_id)
            version_id = versions.pipeline_versions[0].pipeline_version_id
            printer(f"uploaded pipeline '{pipeline_name}' ({pipeline_id})")
        else:
            version = _reach(
                host,
                "upload version",
                client.upload_pipeline_version,
                str(package),
                pipeline_version_name=version_name,
                pipeline_id=pipeline_id,
            )
            version_id = version.pipeline_version_id
            printer(f"pipeline '{pipeline_name}' exists: uploaded as new version '{version_name}' ({version_id})")
    recurring = _reach(
        host,
        "create recurring run",
        client.create_recurring_run,
        experiment_id=exp.experiment_id,
        job_name=f"{pipeline_name} [{cron6}]",
        cron_expression=cron6,
        max_concurrency=max_concurrency,
        pipeline_id=pipeline_id,
        version_id=version_id,
        enabled=enabled,
        pipeline_root=pipeline_root,
    )
    printer(
        f"recurring run {recurring.recurring_run_id}: '{cron6}', max concurrency {max_concurrency}, "
        f"{'enabled' if enabled else 'disabled'}"
    )
    result = {
        "experiment_id": exp.experiment_id,
        "pipeline_id": pipeline_id,
        "version_id": version_id,
        "recurring_run_id": recurring.recurring_run_id,
    }
    if run_now:
        run = _reach(
            host,
            "create run",
            client.run_pipeline,
            experiment_id=exp.experiment_id,
            job_name=f"{pipeline_name} (now)",
            pipeline_id=pipeline_id,
            version_id=version_id,
            pipeline_root=pipeline_root,
        )
        printer(f"run {run.run_id} started")
        result["run_id"] = run.run_id
    return result
