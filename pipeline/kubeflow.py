"""Kubeflow Pipelines: compile the pipeline (KFP v2 spec) and schedule it.

The pipeline comes from the same factory and run request as the local run;
the project's code is baked into the image (see Dockerfile), so compiling
uploads nothing. The spec still changes with our code: the Transform, Trainer
and ExampleGen configurations carry fingerprints of the source they run, and
ImportSchemaGen the schema's sha256.

What the compiled spec is made to satisfy, from the Kubeflow Pipelines
backend's source (kubeflow/pipelines, backend/src/v2):
  * PipelineSpec schema 2.1.0: runtime parameters are `constant`; the 2.0.0
    form `constantValue` is refused by the driver (driver/resolve.go).
  * No resolver task: the Argo compiler implements container and importer
    executors only (compiler/visitor.go). The baseline is a container step,
    ServedModelBaseline.
  * No cache may serve a stale step. The backend never runs TFX's
    `lifecycle.preCacheCheck` hook, so ExampleGen's cache key would be its
    parameters alone, blind to the corpus; caching is off for ExampleGen and
    for ServedModelBaseline (whose answer depends on the serving destination).
  * Artifact URIs must be gs://, s3:// or minio:// (the launcher's
    LocalPathForURI; objectstore.ParseBucketPathToConfig refuses anything else).
    For s3:// every step gets the endpoint as environment variables and its keys
    from a Kubernetes secret (`platformSpec`, honoured by the driver).
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from pipeline import component_ids as ids
from pipeline import configs
from pipeline.run_request import RunRequest

if TYPE_CHECKING:
    from components.corpus import Layout

class SchedulingError(RuntimeError):
    """The schedule command cannot go on; the message says what to fix."""


# ---------------------------------------------------------------------------- compile

# Component ids whose KFP tasks must never be served from KFP's cache (see the module docstring).
UNCACHED_COMPONENTS = (ids.EXAMPLE_GEN, ids.BASELINE)
OBJECT_STORE_SCHEMES = ("gs://", "s3://", "minio://")


def check_uri(flag: str, value: str) -> None:
    """A pipeline root or serving destination must be on an object store the launcher can address."""
    if not value.startswith(OBJECT_STORE_SCHEMES):
        raise ValueError(f"{flag} {value}: Kubeflow Pipelines stores artifacts on object storage only; pass a "
                         f"gs://BUCKET/... or s3://BUCKET/... URI (the KFP launcher refuses other schemes)")


def compile_pipeline(
    output: Path,
    name: str,
    pipeline_root: str,
    data_root: str,
    serving_dir: str,
    image: str,
    num_classes: int,
    request: RunRequest,
    layout: Optional["Layout"] = None,
    resources: Optional[Dict[str, configs.Resources]] = None,
    s3: configs.S3Settings = configs.S3Settings(),
    corpus_volume: Optional[Tuple[str, str]] = None,
) -> Path:
    """Writes the KFP v2 pipeline job (JSON) for `image` to `output`; returns the path.

    `layout`: the corpus's (default train/ and test/); the corpus is not on this machine, so it is the
    caller's word, and ExampleGen refuses a corpus laid out otherwise when it runs.
    `corpus_volume`: (PersistentVolumeClaim, mount path) mounted into ExampleGen's pod.
    """
    from tfx import v1 as tfx  # slow import

    from pipeline.pipeline import create_pipeline

    check_uri("--pipeline-root", pipeline_root)
    check_uri("--serving-dir", serving_dir)
    # Inside the image the schema is read relative to the WORKDIR (the project root).
    schema_at_runtime = (f"schemas/{request.schema_name}/schema.pbtxt" if request.schema_name
                         else str(request.schema_file))
    pipeline = create_pipeline(
        pipeline_name=f"{configs.PIPELINE_NAME}-{name}",
        pipeline_root=pipeline_root,
        data_root=data_root,
        serving_dir=serving_dir,
        num_classes=num_classes,
        request=request,
        layout=layout,
        schema_file_at_runtime=schema_at_runtime,
        resources=configs.KUBEFLOW_RESOURCES if resources is None else resources,
    )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image, default_commands=list(configs.CONTAINER_COMMAND), use_pipeline_spec_2_1=True),
        output_dir=str(output.parent),
        output_filename=output.name,
    )
    runner.run(pipeline, write_out=True)
    job = json.loads(output.read_text())
    _turn_cache_off(job["pipelineSpec"], UNCACHED_COMPONENTS)
    if any(uri.startswith("s3://") for uri in (pipeline_root, serving_dir)):
        _add_s3_access(job, s3)
    if corpus_volume:
        _mount_corpus(job, *corpus_volume)
    output.write_text(json.dumps(job, indent=2, sort_keys=True))
    return output


def _turn_cache_off(spec: Dict, component_ids) -> None:
    tasks = spec["root"]["dag"]["tasks"]  # TFX names each task after its component id
    for component_id in component_ids:
        if component_id not in tasks:
            raise RuntimeError(f"compiled spec has no task {component_id}; cannot turn its cache off")
        tasks[component_id]["cachingOptions"] = {"enableCache": False}


def _kubernetes_executors(job: Dict) -> Dict:
    """The Kubernetes platform spec's per-executor settings (created empty)."""
    platforms = job.setdefault("platformSpec", {}).setdefault("platforms", {})
    return platforms.setdefault("kubernetes", {}).setdefault("deploymentSpec", {}).setdefault("executors", {})


def _executor_label(spec: Dict, task: str) -> str:
    component = spec["root"]["dag"]["tasks"][task]["componentRef"]["name"]
    return spec["components"][component]["executorLabel"]


def _mount_corpus(job: Dict, pvc: str, mount_path: str) -> None:
    label = _executor_label(job["pipelineSpec"], ids.EXAMPLE_GEN)
    _kubernetes_executors(job).setdefault(label, {})["pvcMount"] = [
        {"pvcNameParameter": {"runtimeValue": {"constant": pvc}}, "mountPath": mount_path}]


def _add_s3_access(job: Dict, s3: configs.S3Settings) -> None:
    """Endpoint variables in every container; keys from the secret, through KFP's Kubernetes platform spec."""
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    secret_env = [{"secretName": s3.secret,
                   "keyToEnv": [{"secretKey": key, "envVar": var} for var, key in s3.secret_env().items()]}]
    for label, executor in executors.items():
        container = executor.get("container")
        if container is None:
            continue
        env = [e for e in container.get("env", []) if e["name"] not in s3.env()]
        container["env"] = env + [{"name": k, "value": v} for k, v in s3.env().items()]
        _kubernetes_executors(job).setdefault(label, {})["secretAsEnv"] = secret_env


def pipeline_spec_of(job_file: Path) -> Dict:
    """The PipelineSpec inside the pipeline job TFX writes (what KFP's upload takes)."""
    job = json.loads(Path(job_file).read_text())
    return job.get("pipelineSpec", job)


def platform_spec_of(job_file: Path) -> Optional[Dict]:
    """The Kubernetes platform spec compile adds for s3:// (secrets as environment variables), if any."""
    return json.loads(Path(job_file).read_text()).get("platformSpec")


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
         cron: str, max_concurrency: int, enabled: bool, run_now: bool, pipeline_root: str) -> List[Dict]:
    """What the schedule command will ask the KFP API for, in order (printed by --dry-run)."""
    steps = [
        {"call": "get or create experiment", "experiment": experiment, "namespace": namespace},
        {"call": "upload pipeline (a new version if it already exists)", "pipeline": pipeline_name,
         "version": version_name, "spec": str(spec_file)},
        {"call": "create recurring run", "cron_expression": cron, "max_concurrency": max_concurrency,
         "enabled": enabled, "pipeline_root": pipeline_root},
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


def _reach(endpoint: str, what: str, fn, *args, **kwargs):
    """Calls the KFP API; connection failures become a SchedulingError naming the host."""
    import kfp_server_api
    import urllib3

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
    package_text = upload_package(spec_file)
    version_name = version_name or f"{pipeline_name}-{hashlib.sha256(package_text.encode()).hexdigest()[:10]}"
    # KFP takes a run's pipeline root from the run request, not from the spec: without it,
    # the run would write to the cluster's default root, not where the spec was compiled for.
    pipeline_root = pipeline_root_of(spec_file)
    steps = plan(spec_file, pipeline_name, version_name, experiment, namespace, cron6, max_concurrency, enabled,
                 run_now, pipeline_root)
    if dry_run:
        printer(json.dumps({"host": host, "requests": steps}, indent=2))
        return {"dry_run": True, "requests": steps}

    import kfp

    client = _reach(host, "connect", kfp.Client, host=host, namespace=namespace or "kubeflow")
    exp = _reach(host, "create experiment", client.create_experiment, name=experiment, namespace=namespace)
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / f"{pipeline_name}.yaml"
        package.write_text(package_text)
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
                       version_id=version_id, enabled=enabled, pipeline_root=pipeline_root)
    printer(f"recurring run {recurring.recurring_run_id}: '{cron6}', max concurrency {max_concurrency}, "
            f"{'enabled' if enabled else 'disabled'}")
    result = {"experiment_id": exp.experiment_id, "pipeline_id": pipeline_id, "version_id": version_id,
              "recurring_run_id": recurring.recurring_run_id}
    if run_now:
        run = _reach(host, "create run", client.run_pipeline, experiment_id=exp.experiment_id,
                     job_name=f"{pipeline_name} (now)", pipeline_id=pipeline_id, version_id=version_id,
                     pipeline_root=pipeline_root)
        printer(f"run {run.run_id} started")
        result["run_id"] = run.run_id
    return result


# ---------------------------------------------------------------------------- Vertex AI Pipelines


def vertex_cron(expression: str) -> str:
    """Vertex takes the usual 5-field cron; KFP's 6-field form is accepted when its seconds are 0."""
    fields = expression.split()
    if len(fields) == 6 and fields[0] == "0":
        fields = fields[1:]
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise SchedulingError(f"bad cron expression '{expression}' for Vertex AI: 5 fields 'minute hour "
                              "day-of-month month day-of-week' (e.g. '0 3 * * *')")
    return " ".join(fields)


def submit_vertex(spec_file: Path, project: str, region: str, pipeline_root: Optional[str] = None,
                  service_account: Optional[str] = None, cron: Optional[str] = None, dry_run: bool = False,
                  printer=print) -> Dict:
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
        raise SchedulingError(f"Vertex AI Pipelines needs a gs:// pipeline root, got '{root}': pass --pipeline-root, "
                              "or compile with --pipeline-root gs://... --serving-dir gs://...")
    if "s3://" in json.dumps(pipeline_spec_of(spec_file)):
        raise SchedulingError(f"{spec_file} was compiled for s3:// (MinIO); Vertex AI reads gs:// only: compile "
                              "with --pipeline-root gs://... --serving-dir gs://... --corpus-pvc none")
    cron5 = vertex_cron(cron) if cron else None
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    spec = pipeline_spec_of(spec_file)
    name = spec["pipelineInfo"]["name"]
    job = aiplatform.PipelineJob(display_name=name, template_path=str(spec_file), pipeline_root=root,
                                 project=project, location=region, enable_caching=None,
                                 credentials=AnonymousCredentials() if dry_run else None)
    request = {"project": project, "region": region, "display_name": name, "pipeline_root":
               job._gca_resource.runtime_config.gcs_output_directory,  # noqa: SLF001 (what would be sent)
               "schema_version": job._gca_resource.pipeline_spec["schemaVersion"],  # noqa: SLF001
               "tasks": sorted(spec["root"]["dag"]["tasks"]), "service_account": service_account,
               "schedule_cron": cron5}
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
