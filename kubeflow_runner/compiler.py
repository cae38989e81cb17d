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
    for ServedModelBaseline and DriftCheck (whose answers depend on the serving destination), and for
    RunRetention (which reads the bucket as it is).
  * Artifact URIs must be gs://, s3:// or minio:// (the launcher's
    LocalPathForURI; objectstore.ParseBucketPathToConfig refuses anything else).
    For s3:// every step gets the endpoint as environment variables and its keys
    from a Kubernetes secret (`platformSpec`, honoured by the driver).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

from components.retention_policy import RetentionPolicy
from pipeline import component_ids as ids
from pipeline import configs
from pipeline.run_request import RunRequest

if TYPE_CHECKING:
    from components.example_gen.corpus_layout import Layout

# ---------------------------------------------------------------------------- Kubeflow's settings


@dataclasses.dataclass(frozen=True)
class Resources:
    """What one component's container asks Kubeflow for (0 / "" = the cluster's default)."""

    cpu: float = 0
    memory_gib: float = 0
    accelerator_type: str = ""  # e.g. NVIDIA_TESLA_T4, NVIDIA_L4, NVIDIA_TESLA_A100
    accelerator_count: int = 0


KUBEFLOW_IMAGE_NAME = "tfx-text-classifier"  # prefix with your registry: --image REGISTRY/NAME:TAG
# Where the Dockerfile copies the project inside the image (its WORKDIR and
# PYTHONPATH): steps import components/ from there and read schemas/ relative to it.
CONTAINER_PROJECT_ROOT = "/pipeline"
# Defaults fit a default Kubeflow Pipelines install: artifacts and served models in
# its MinIO bucket (pipeline root BUCKET/tfx/NAME/pipeline_root, serving BUCKET/tfx/NAME/serving).
KUBEFLOW_BUCKET = "s3://mlpipeline"
# The corpora reach ExampleGen's pod on a PersistentVolumeClaim (run_kubeflow.py --corpus-pvc).
CORPUS_PVC = "text-classifier-corpora"
CORPUS_MOUNT = "/corpus"
# Every step's command: TFX's KFP v2 entrypoint, wrapped for s3:// (kubeflow_runner/container_entrypoint.py).
CONTAINER_COMMAND = ("python", "-m", "kubeflow_runner.container_entrypoint")


@dataclasses.dataclass(frozen=True)
class S3Settings:
    """How Kubeflow steps reach an s3:// pipeline root or serving destination.

    Defaults fit the MinIO a default Kubeflow Pipelines install ships: its
    service, and the secret holding its keys (copied into each profile
    namespace on multi-user installs). The endpoint and region become plain
    environment variables of every step; the keys come from the secret.
    """

    endpoint: str = "http://minio-service.kubeflow:9000"
    region: str = "us-east-1"
    secret: str = "mlpipeline-minio-artifact"
    access_key_field: str = "accesskey"  # keys inside the secret
    secret_key_field: str = "secretkey"

    def env(self) -> dict:
        """Plain variables: tensorflow-io's S3 plugin reads S3_*, boto3 (Beam's S3) AWS_*."""
        https = self.endpoint.startswith("https://")
        return {
            "S3_ENDPOINT": self.endpoint,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "S3_USE_HTTPS": "1" if https else "0",
            "S3_VERIFY_SSL": "1" if https else "0",
        }

    def secret_env(self) -> dict:
        """Environment variable -> key in the secret."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_field, "AWS_SECRET_ACCESS_KEY": self.secret_key_field}


KUBEFLOW_RESOURCES = {
    ids.TRANSFORM: Resources(cpu=2, memory_gib=8),
    ids.TRAINER: Resources(cpu=4, memory_gib=16, accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1),
    ids.EVALUATOR: Resources(cpu=2, memory_gib=8),
}


def image_tag(variant: str = "gpu") -> str:
    """The tag `make image VARIANT=...` builds: gpu (the default: the Trainer asks for a GPU) or cpu."""
    return f"{KUBEFLOW_IMAGE_NAME}:{configs.PROJECT_VERSION}-{variant}"


def resource_spec(r: Resources):
    """KFP's ResourceSpec for a component's container."""
    from kfp.pipeline_spec import pipeline_spec_pb2  # Kubeflow only

    spec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec()
    if r.cpu:
        spec.cpu_limit = spec.cpu_request = r.cpu
    if r.memory_gib:
        spec.memory_limit = spec.memory_request = r.memory_gib
    if r.accelerator_type and r.accelerator_count:
        spec.accelerator.type = r.accelerator_type
        spec.accelerator.count = r.accelerator_count
    return spec


# ---------------------------------------------------------------------------- compile

# Component ids whose KFP tasks must never be served from KFP's cache (see the module docstring).
UNCACHED_COMPONENTS = (ids.EXAMPLE_GEN, ids.BASELINE, ids.DRIFT_CHECK, ids.RUN_RETENTION)
OBJECT_STORE_SCHEMES = ("gs://", "s3://", "minio://")


def check_uri(flag: str, value: str) -> None:
    """A pipeline root or serving destination must be on an object store the launcher can address."""
    if not value.startswith(OBJECT_STORE_SCHEMES):
        raise ValueError(
            f"{flag} {value}: Kubeflow Pipelines stores artifacts on object storage only; pass a "
            f"gs://BUCKET/... or s3://BUCKET/... URI (the KFP launcher refuses other schemes)"
        )


def compile_pipeline(
    output: Path,
    name: str,
    pipeline_root: str,
    data_root: str,
    serving_dir: str,
    image: str,
    num_classes: int,
    request: RunRequest,
    layout: Layout | None = None,
    resources: dict[str, Resources] | None = None,
    s3: S3Settings | None = None,
    corpus_volume: tuple[str, str] | None = None,
    retention: RetentionPolicy | None = None,
) -> Path:
    """Writes the KFP v2 pipeline job (JSON) for `image` to `output`; returns the path.

    `layout`: the corpus's (default train/ and test/); the corpus is not on this machine, so it is the
    caller's word, and ExampleGen refuses a corpus laid out otherwise when it runs.
    `corpus_volume`: (PersistentVolumeClaim, mount path) mounted into ExampleGen's pod.
    `retention`: the policy the last step, RunRetention, applies to the bucket (default: RetentionPolicy()).
    """
    from tfx import v1 as tfx  # slow import

    from pipeline.pipeline import create_pipeline

    check_uri("--pipeline-root", pipeline_root)
    check_uri("--serving-dir", serving_dir)
    # Inside the image the schema is read relative to the WORKDIR (the project root).
    schema_at_runtime = (
        f"schemas/{request.schema_name}/schema.pbtxt" if request.schema_name else str(request.schema_file)
    )
    pipeline = create_pipeline(
        pipeline_name=f"{configs.PIPELINE_NAME}-{name}",
        pipeline_root=pipeline_root,
        data_root=data_root,
        serving_dir=serving_dir,
        num_classes=num_classes,
        request=request,
        layout=layout,
        schema_file_at_runtime=schema_at_runtime,
        retention_step=retention or RetentionPolicy(),
    )
    for component in pipeline.components:
        wanted = (KUBEFLOW_RESOURCES if resources is None else resources).get(component.id)
        if wanted:
            component.with_platform_config(resource_spec(wanted))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image, default_commands=list(CONTAINER_COMMAND), use_pipeline_spec_2_1=True
        ),
        output_dir=str(output.parent),
        output_filename=output.name,
    )
    runner.run(pipeline, write_out=True)
    job = json.loads(output.read_text())
    _turn_cache_off(job["pipelineSpec"], UNCACHED_COMPONENTS)
    if any(uri.startswith("s3://") for uri in (pipeline_root, serving_dir)):
        _add_s3_access(job, s3 or S3Settings())
    if corpus_volume:
        _mount_corpus(job, *corpus_volume)
    output.write_text(json.dumps(job, indent=2, sort_keys=True))
    return output


def _turn_cache_off(spec: dict, component_ids) -> None:
    tasks = spec["root"]["dag"]["tasks"]  # TFX names each task after its component id
    for component_id in component_ids:
        if component_id not in tasks:
            raise RuntimeError(f"compiled spec has no task {component_id}; cannot turn its cache off")
        tasks[component_id]["cachingOptions"] = {"enableCache": False}


def _kubernetes_executors(job: dict) -> dict:
    """The Kubernetes platform spec's per-executor settings (created empty)."""
    platforms = job.setdefault("platformSpec", {}).setdefault("platforms", {})
    return platforms.setdefault("kubernetes", {}).setdefault("deploymentSpec", {}).setdefault("executors", {})


def _executor_label(spec: dict, task: str) -> str:
    component = spec["root"]["dag"]["tasks"][task]["componentRef"]["name"]
    return spec["components"][component]["executorLabel"]


def _mount_corpus(job: dict, pvc: str, mount_path: str) -> None:
    label = _executor_label(job["pipelineSpec"], ids.EXAMPLE_GEN)
    _kubernetes_executors(job).setdefault(label, {})["pvcMount"] = [
        {"pvcNameParameter": {"runtimeValue": {"constant": pvc}}, "mountPath": mount_path}
    ]


def _add_s3_access(job: dict, s3: S3Settings) -> None:
    """Endpoint variables in every container; keys from the secret, through KFP's Kubernetes platform spec."""
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    secret_env = [
        {
            "secretName": s3.secret,
            "keyToEnv": [{"secretKey": key, "envVar": var} for var, key in s3.secret_env().items()],
        }
    ]
    for label, executor in executors.items():
        container = executor.get("container")
        if container is None:
            continue
        env = [e for e in container.get("env", []) if e["name"] not in s3.env()]
        container["env"] = env + [{"name": k, "value": v} for k, v in s3.env().items()]
        _kubernetes_executors(job).setdefault(label, {})["secretAsEnv"] = secret_env
