"""A stand-in for the Kubeflow Pipelines 2.x open-source backend: runs a compiled pipeline job here.

It does for each task what the backend's driver and launcher do, following
their source (kubeflow/pipelines, backend/src/v2), and refuses what they refuse:

  compile (compiler/visitor.go, compiler/argocompiler)
    * an executor that is neither a container nor an importer ("non-container
      and non-importer executor not implemented": TFX's resolver tasks);
    * a task name that Argo would refuse: the compiler names each Argo DAG task
      after the KFP task (and `<task>-driver`), unsanitized, and Argo takes only
      `[a-zA-Z0-9][-a-zA-Z0-9]*` of at most 128 characters
      (argo-workflows workflowFieldNameFmt): a TFX component id with `_` fails;
    * a pipeline root that is not gs://, s3://, minio:// or mem://
      (objectstore.ParseBucketPathToConfig).
  driver (driver/resolve.go, driver/driver.go provisionOutputs, driver/k8s.go)
    * parameters: `runtimeValue.constant` (with the {{$.pipeline_job_name}}-style
      values substituted), `componentInputParameter`, `taskOutputParameter`;
      anything else is refused, `constantValue` (PipelineSpec 2.0.0) included
      ("param runtime value spec of type ... not implemented");
    * artifacts: `taskOutputArtifact` from upstream tasks;
    * outputs provisioned at <root>/<pipeline>/<run id>/<task>/<uuid>/<key>, the
      executor output file at the task root's local path + /output_metadata.json;
    * the cache (cacheutils.GenerateCacheKey): on when the task's
      `cachingOptions.enableCache` says so, keyed on input artifact names,
      parameter values, output specs without URIs, image, command and args;
    * container `env`, and the Kubernetes platform spec's `secretAsEnv` and
      `pvcMount`. `lifecycle.preCacheCheck` is never run: nothing in the
      backend reads it.
  launcher (component/launcher_v2.go)
    * every input artifact downloaded to its local path (/s3/<bucket>/<key>,
      LocalPathForURI) before the command runs, output folders' parents created;
    * placeholders filled: {{$}} (the ExecutorInput as JSON), input and output
      artifact uri/path, input parameters, output parameter files. A `{{$...}}`
      placeholder left over is refused here (the real launcher would pass it on
      verbatim and the step would get a literal placeholder);
    * the command run; a non-zero exit fails the task and the run;
    * the executor output file read, each output artifact's uri and metadata
      merged back, a local output folder uploaded if the step wrote one (TFX's
      executors write to the artifact URIs directly, so there is none), and the
      artifacts recorded the way RecordArtifact does (display_name,
      store_session_info), for downstream tasks to receive as the driver would.

Two modes stand in for a pod:
  * venv (the default, `make test`'s quick path): this checkout's venv for the
    image (the ENV of the Dockerfile's last stage, PATH aside, read from the
    file, and the checkout in place of WORKDIR); a subprocess for the pod; a
    folder (`pod_root`) for the pod's file system root, under which the
    launcher's absolute local paths (/s3/..., /tmp/kfp/...) are made. A PVC is
    "mounted" only where it already is: its host folder must be the mount path.
  * container (`image=`, `make image-check`): each task's command and args run
    with `podman run` in the built image, as Kubernetes runs a container: the
    spec's command replaces the image's ENTRYPOINT and its args the CMD; the
    image's own WORKDIR and ENV; the spec's env and secrets as `-e`; the PVC's
    host folder mounted at its mount path; pod_root's /s3, /gcs, /minio and
    /tmp/kfp mounted at those paths, so the launcher's downloads and the
    executor's output file are where the step looks for them; host networking
    (the object store on 127.0.0.1).
A dict stands in for Kubernetes secrets, an S3-compatible server (tests: moto on
127.0.0.1) for the object store. Not modelled: Argo and Kubernetes (scheduling,
resources, GPUs, retries), ML Metadata (an in-memory record stands in), the
launcher's own object-store credentials (it uses the ones given here).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_ARGO_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
_ARGO_NAME_MAX = 128
BUCKET_SCHEMES = ("gs://", "s3://", "minio://", "mem://")
_PLACEHOLDER = re.compile(r"\{\{\$[^}]*\}\}")
# Values the driver substitutes in a constant parameter (driver/resolve.go).
_RUNTIME_CONSTANTS = (
    "{{$.pipeline_job_name}}",
    "{{$.pipeline_job_resource_name}}",
    "{{$.pipeline_job_uuid}}",
    "{{$.pipeline_task_name}}",
    "{{$.pipeline_task_uuid}}",
    "{{$.pipeline_job_create_time_utc}}",
    "{{$.pipeline_job_schedule_time_utc}}",
)


class BackendRefusal(RuntimeError):
    """What the KFP backend would refuse; the message is the backend's where it has one."""


class TaskFailed(RuntimeError):
    """A task's command exited non-zero (or its outputs could not be read)."""


@dataclasses.dataclass
class Artifact:
    id: int
    uri: str
    type: dict
    metadata: dict

    def runtime(self) -> dict:
        """The RuntimeArtifact a downstream driver builds from the MLMD record (metadata/converter.go)."""
        return {"name": str(self.id), "uri": self.uri, "type": self.type, "metadata": self.metadata}


@dataclasses.dataclass
class TaskResult:
    state: str  # "ran" or "cached"
    artifacts: dict[str, Artifact]
    parameters: dict[str, object]
    executor_input: dict
    log: str = ""
    seconds: float = 0.0  # the step's wall time (the command alone: not the downloads, not the driver)


@dataclasses.dataclass
class RunResult:
    run_id: str
    pipeline_root: str  # <root>/<pipeline name>/<run id>
    tasks: dict[str, TaskResult]


# ---------------------------------------------------------------------------- the object store


class ObjectStore:
    """The bucket the launcher copies artifacts to and from (s3:// on an S3-compatible endpoint)."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str = "us-east-1"):
        import boto3

        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
        )

    @staticmethod
    def split(uri: str) -> tuple[str, str]:
        if not uri.startswith("s3://"):
            raise BackendRefusal(f"this stand-in's object store speaks s3:// only, got {uri}")
        bucket, _, key = uri[len("s3://") :].partition("/")
        return bucket, key

    def keys(self, uri: str) -> list[str]:
        bucket, prefix = self.split(uri)
        keys, token = [], None
        while True:
            kwargs = {"Bucket": bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self.client.list_objects_v2(**kwargs)
            keys += [o["Key"] for o in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]

    def download(self, uri: str, local: Path) -> int:
        """objectstore.DownloadBlob: the object, or every object under the prefix, to `local`."""
        bucket, key = self.split(uri)
        count = 0
        for k in self.keys(uri):
            if k != key and not k.startswith(key.rstrip("/") + "/"):
                continue
            rel = os.path.relpath(k, key) if k != key else ""
            dest = local / rel if rel else local
            if k.endswith("/"):  # a folder marker object
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.client.download_file(bucket, k, str(dest))
            count += 1
        return count

    def upload(self, local: Path, uri: str) -> int:
        bucket, key = self.split(uri)
        files = [local] if local.is_file() else [p for p in local.rglob("*") if p.is_file()]
        for path in files:
            rel = "" if path == local else path.relative_to(local).as_posix()
            self.client.upload_file(str(path), bucket, f"{key.rstrip('/')}/{rel}" if rel else key)
        return len(files)


# ---------------------------------------------------------------------------- the image


def image_environment(dockerfile: Path = PROJECT_ROOT / "Dockerfile") -> tuple[dict[str, str], str]:
    """(ENV, WORKDIR) the Dockerfile's last stage gives the image, with the checkout in place of WORKDIR and
    PATH left out (the venv's python runs the step). Venv mode only: a container has the image's own."""
    text = dockerfile.read_text().replace("\\\n", " ")
    stages = re.split(r"^FROM\s.*$", text, flags=re.M)
    env, workdir = {}, "/"
    for line in stages[-1].splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2 or parts[0].startswith("#"):
            continue
        if parts[0] == "WORKDIR":
            workdir = parts[1].strip()
        elif parts[0] == "ENV":
            for item in shlex.split(parts[1]):
                name, _, value = item.partition("=")
                env[name] = value
    env = {k: v.replace(workdir, str(PROJECT_ROOT)) for k, v in env.items() if k != "PATH"}
    return env, workdir


# The launcher's local paths live under these folders of the pod (LocalPathForURI, the outputs' files).
POD_FOLDERS = ("/s3", "/gcs", "/minio", "/tmp/kfp")


def podman_environment() -> dict[str, str]:
    """podman's environment: the project's settings (scripts/containers.conf) unless CONTAINERS_CONF names others."""
    return {
        **os.environ,
        "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(PROJECT_ROOT / "scripts" / "containers.conf")),
    }


# ---------------------------------------------------------------------------- the backend


class Backend:
    """One KFP deployment: its cache survives between runs, as the real one's does."""

    def __init__(
        self,
        pod_root: Path,
        store: ObjectStore,
        secrets: dict[str, dict[str, str]] | None = None,
        volumes: dict[str, Path] | None = None,
        python: str = sys.executable,
        task_timeout: float = 1800.0,
        image: str | None = None,
    ):
        self.pod_root = Path(pod_root)
        self.store = store
        self.secrets = secrets or {}
        self.volumes = {k: Path(v) for k, v in (volumes or {}).items()}
        self.python = python
        self.task_timeout = task_timeout
        self.image = image  # None: venv mode; an image reference: container mode (podman)
        self.cache: dict[str, tuple[dict[str, Artifact], dict[str, object]]] = {}
        self._artifact_ids = 0

    # ---- compile: what the API server / Argo compiler refuses before anything runs

    @staticmethod
    def check(job: dict) -> None:
        """Refuses a job the backend would not compile; silent for one it would."""
        spec = job.get("pipelineSpec", job)
        executors = spec.get("deploymentSpec", {}).get("executors", {})
        for name, component in spec.get("components", {}).items():
            label = component.get("executorLabel")
            if not label:
                continue
            if label not in executors:
                raise BackendRefusal(
                    f'error processing component name="{name}": executor(label="{label}") '
                    "not found in deployment config"
                )
            executor = executors[label]
            if "container" not in executor:
                if "importer" in executor:
                    raise BackendRefusal(f"{name}: importer tasks are accepted by KFP, not by this stand-in")
                raise BackendRefusal(
                    f'error processing component name="{name}": executor(label="{label}"): '
                    "non-container and non-importer executor not implemented"
                )
        root = job.get("runtimeConfig", {}).get("gcsOutputDirectory", "")
        if not root.startswith(BUCKET_SCHEMES) or len(root.split("://", 1)[1].strip("/")) == 0:
            raise BackendRefusal(f'parse bucket config failed: unsupported Cloud bucket: "{root}"')
        for task_name, task in spec["root"]["dag"]["tasks"].items():
            for argo_name in (task_name, f"{task_name}-driver"):
                if not _ARGO_NAME.match(argo_name) or len(argo_name) > _ARGO_NAME_MAX:
                    raise BackendRefusal(
                        f"tasks.{argo_name}: name must consist of alpha-numeric characters or '-', "
                        "and must start with an alpha-numeric character (at most 128)"
                    )
            for param_name, param in task.get("inputs", {}).get("parameters", {}).items():
                _check_parameter_spec(task_name, param_name, param)

    # ---- run

    def run(self, job_file: Path, run_id: str | None = None) -> RunResult:
        job = json.loads(Path(job_file).read_text())
        self.check(job)
        spec = job["pipelineSpec"]
        run_id = run_id or uuid.uuid4().hex[:12]
        pipeline_name = spec["pipelineInfo"]["name"]
        root = _output_uri(job["runtimeConfig"]["gcsOutputDirectory"], pipeline_name, run_id)
        platform = (
            job.get("platformSpec", {})
            .get("platforms", {})
            .get("kubernetes", {})
            .get("deploymentSpec", {})
            .get("executors", {})
        )
        results: dict[str, TaskResult] = {}
        for task_name in topological_order(spec["root"]["dag"]["tasks"]):
            task = spec["root"]["dag"]["tasks"][task_name]
            component = spec["components"][task["componentRef"]["name"]]
            label = component["executorLabel"]
            results[task_name] = self._run_task(
                job,
                task_name,
                task,
                component,
                spec["deploymentSpec"]["executors"][label]["container"],
                platform.get(label, {}),
                results,
                root,
                run_id,
            )
        return RunResult(run_id=run_id, pipeline_root=root, tasks=results)

    def _run_task(self, job, task_name, task, component, container, k8s, upstream, root, run_id) -> TaskResult:
        # driver: inputs, outputs, cache
        params = {
            name: self._resolve_parameter(job, task_name, name, p, upstream, run_id)
            for name, p in task.get("inputs", {}).get("parameters", {}).items()
        }
        artifacts = {
            name: {"artifacts": [self._resolve_artifact(task_name, name, a, upstream).runtime()]}
            for name, a in task.get("inputs", {}).get("artifacts", {}).items()
        }
        task_root = _output_uri(root, task_name, str(uuid.uuid4()))
        outputs = {"artifacts": {}, "parameters": {}, "outputFile": ""}
        for key, out in component.get("outputDefinitions", {}).get("artifacts", {}).items():
            outputs["artifacts"][key] = {
                "artifacts": [
                    {
                        "name": key,
                        "uri": _output_uri(task_root, key),
                        "type": out["artifactType"],
                        **({"metadata": out["metadata"]} if "metadata" in out else {}),
                    }
                ]
            }
        for key in component.get("outputDefinitions", {}).get("parameters", {}):
            outputs["parameters"][key] = {"outputFile": self._in_pod(f"/tmp/kfp/outputs/{key}")}
        outputs["outputFile"] = self._in_pod(local_path_for_uri(task_root) + "/output_metadata.json")
        executor_input = {"inputs": {"parameterValues": params, "artifacts": artifacts}, "outputs": outputs}
        json_format.ParseDict(executor_input, pipeline_spec_pb2.ExecutorInput())  # a well-formed ExecutorInput

        fingerprint = None
        if task.get("cachingOptions", {}).get("enableCache"):
            fingerprint = cache_fingerprint(executor_input, component, container)
            if fingerprint in self.cache:
                cached_artifacts, cached_params = self.cache[fingerprint]
                return TaskResult("cached", cached_artifacts, cached_params, executor_input)

        # launcher
        env = self._environment(container, k8s)
        command, args = fill_placeholders(executor_input, container.get("command", []), container.get("args", []))
        for arg in [*command, *args]:
            leftover = [p for p in _PLACEHOLDER.findall(arg) if p != "{{$}}"]
            if leftover:
                raise BackendRefusal(f"{task_name}: placeholder(s) {leftover} are not filled by the KFP launcher")
        for arts in artifacts.values():  # downloadArtifacts: every input, whether the step reads it or not
            uri = arts["artifacts"][0]["uri"]
            self.store.download(uri, self._local(local_path_for_uri(uri)))
        for arts in outputs["artifacts"].values():  # prepareOutputFolders
            self._local(local_path_for_uri(arts["artifacts"][0]["uri"])).parent.mkdir(parents=True, exist_ok=True)
        for p in outputs["parameters"].values():
            self._on_host(p["outputFile"]).parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        if self.image:
            proc = subprocess.run(
                self._podman_run(command, args, env, k8s),
                env=podman_environment(),
                capture_output=True,
                text=True,
                timeout=self.task_timeout,
                check=False,
            )
        else:
            argv = [self.python if command and command[0] in ("python", "python3") else command[0], *command[1:], *args]
            proc = subprocess.run(
                argv,
                cwd=str(PROJECT_ROOT),
                env=env,
                capture_output=True,
                text=True,
                timeout=self.task_timeout,
                check=False,
            )
        seconds = time.monotonic() - started
        log = proc.stdout + proc.stderr
        if proc.returncode != 0:
            tail = "\n".join(log.strip().splitlines()[-25:])
            raise TaskFailed(f"task {task_name} exited with {proc.returncode}:\n{tail}")

        executor_output = read_executor_output(self._on_host(outputs["outputFile"]))
        recorded: dict[str, Artifact] = {}
        for key, arts in outputs["artifacts"].items():
            art = dict(arts["artifacts"][0])
            produced = executor_output.get("artifacts", {}).get(key, {}).get("artifacts", [])
            if produced:  # mergeRuntimeArtifacts
                if produced[0].get("uri"):
                    art["uri"] = produced[0]["uri"]
                if produced[0].get("metadata"):
                    art["metadata"] = {**art.get("metadata", {}), **produced[0]["metadata"]}
            local = self._local(local_path_for_uri(art["uri"]))
            if local.exists():  # uploadOutputArtifacts: a step that wrote its local path
                self.store.upload(local, art["uri"])
            metadata = {**art.get("metadata", {})}
            metadata.setdefault("display_name", key)
            metadata.setdefault("store_session_info", json.dumps({"Provider": "s3", "Params": {}}))
            self._artifact_ids += 1
            recorded[key] = Artifact(self._artifact_ids, art["uri"], art["type"], metadata)
        out_params = dict(executor_output.get("parameterValues", {}))
        for key, p in outputs["parameters"].items():
            if key not in out_params:
                out_params[key] = self._on_host(p["outputFile"]).read_text()
        if fingerprint:
            self.cache[fingerprint] = (recorded, out_params)
        return TaskResult("ran", recorded, out_params, executor_input, log, seconds)

    def _podman_run(self, command: list[str], args: list[str], env: dict[str, str], k8s: dict) -> list[str]:
        """The pod as `podman run`: Kubernetes' command/args over ENTRYPOINT/CMD, the spec's env, the mounts."""
        argv = ["podman", "run", "--rm", "--network", "host"]
        for folder in POD_FOLDERS:
            host = self._local(folder)
            host.mkdir(parents=True, exist_ok=True)
            argv += ["-v", f"{host}:{folder}"]
        for name, host in self._pvc_mounts(k8s):
            argv += ["-v", f"{host}:{name}"]
        for name, value in sorted(env.items()):
            argv += ["-e", f"{name}={value}"]
        if command:
            argv += ["--entrypoint", json.dumps(command)]
        return [*argv, self.image, *args]

    def _resolve_parameter(self, job, task_name, name, spec, upstream, run_id):
        _check_parameter_spec(task_name, name, spec)
        if "runtimeValue" in spec:
            value = spec["runtimeValue"]["constant"]
            substitutions = {
                "{{$.pipeline_job_name}}": run_id,
                "{{$.pipeline_job_resource_name}}": run_id,
                "{{$.pipeline_job_uuid}}": run_id,
                "{{$.pipeline_task_name}}": task_name,
            }
            return substitutions.get(value, value) if isinstance(value, str) else value
        if "componentInputParameter" in spec:
            values = job.get("runtimeConfig", {}).get("parameterValues", {})
            if spec["componentInputParameter"] not in values:
                raise BackendRefusal(f"{task_name}: pipeline parameter {spec['componentInputParameter']} has no value")
            return values[spec["componentInputParameter"]]
        producer = spec["taskOutputParameter"]
        return upstream[producer["producerTask"]].parameters[producer["outputParameterKey"]]

    @staticmethod
    def _resolve_artifact(task_name, name, spec, upstream) -> Artifact:
        if "taskOutputArtifact" not in spec:
            raise BackendRefusal(
                f"{task_name}: failed to resolve input artifact {name} with spec {spec}: "
                "artifact spec of this type is not implemented by this stand-in"
            )
        ref = spec["taskOutputArtifact"]
        return upstream[ref["producerTask"]].artifacts[ref["outputArtifactKey"]]

    def _environment(self, container: dict, k8s: dict) -> dict[str, str]:
        """The step's environment: in venv mode the image's stand-in, in container mode only what the spec adds
        (the image brings its own ENV)."""
        if self.image:
            env: dict[str, str] = {}
        else:
            image_env, _ = image_environment()
            pod_temp = self._local("/tmp")  # a pod's /tmp is its own: the libraries' temp folders go with the pod
            pod_temp.mkdir(parents=True, exist_ok=True)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(self._local("/root")),
                "TMPDIR": str(pod_temp),
                "TF_CPP_MIN_LOG_LEVEL": "2",
                **image_env,
            }
        env.update({e["name"]: e["value"] for e in container.get("env", [])})
        for item in k8s.get("secretAsEnv", []):
            secret = self.secrets.get(item["secretName"])
            if secret is None:
                raise BackendRefusal(f'secret "{item["secretName"]}" not found')
            for pair in item["keyToEnv"]:
                env[pair["envVar"]] = secret[pair["secretKey"]]
        for mount_path, host in self._pvc_mounts(k8s):
            if not self.image and host.resolve() != Path(mount_path).resolve():
                raise BackendRefusal(
                    f"this stand-in's venv mode mounts a PVC only at its own folder {host}, not at {mount_path}"
                )
        return env

    def _pvc_mounts(self, k8s: dict) -> list[tuple[str, Path]]:
        """(mount path, host folder) of each PVC the task mounts (driver/k8s.go)."""
        mounts = []
        for mount in k8s.get("pvcMount", []):
            name = mount.get("pvcNameParameter", {}).get("runtimeValue", {}).get("constant") or mount.get("constant")
            if not name or not mount.get("mountPath"):
                raise BackendRefusal("failed to mount volume, missing mountpath or pvc name")
            host = self.volumes.get(name)
            if host is None:
                raise BackendRefusal(f'persistentvolumeclaim "{name}" not found')
            mounts.append((mount["mountPath"], host))
        return mounts

    def _local(self, absolute: str) -> Path:
        """A path of the pod's file system, on the host: under pod_root."""
        return self.pod_root / absolute.lstrip("/")

    def _in_pod(self, absolute: str) -> str:
        """A path of the pod's file system as the step sees it (container mode: the path itself)."""
        return absolute if self.image else str(self._local(absolute))

    def _on_host(self, in_pod: str) -> Path:
        """Where the host finds a path the step was given (the inverse of _in_pod)."""
        return self._local(in_pod) if self.image else Path(in_pod)


def _check_parameter_spec(task_name: str, name: str, spec: dict) -> None:
    if "runtimeValue" in spec:
        kinds = set(spec["runtimeValue"])
        if kinds != {"constant"}:
            kind = "ConstantValue" if "constantValue" in kinds else "/".join(sorted(kinds))
            raise BackendRefusal(
                f"{task_name}: failed to resolve input parameter {name}: param runtime value spec "
                f"of type *pipelinespec.ValueOrRuntimeParameter_{kind} not implemented"
            )
    elif not ({"componentInputParameter", "taskOutputParameter"} & set(spec)):
        raise BackendRefusal(f"{task_name}: parameter spec of type {sorted(spec)} not implemented yet")


def _output_uri(root: str, *parts: str) -> str:
    """metadata.GenerateOutputURI: no path.Join on the root, which would eat the scheme's //."""
    return f"{root.rstrip('/')}/{'/'.join(parts)}"


def local_path_for_uri(uri: str) -> str:
    """launcher_v2.go LocalPathForURI."""
    for scheme, prefix in (("gs://", "/gcs/"), ("minio://", "/minio/"), ("s3://", "/s3/")):
        if uri.startswith(scheme):
            return prefix + uri[len(scheme) :]
    raise BackendRefusal(f"failed to generate local path for URI {uri}: unsupported storage scheme")


def topological_order(tasks: dict[str, dict]) -> list[str]:
    """Tasks after everything they depend on (dependentTasks and the producers of their inputs)."""
    deps = {}
    for name, task in tasks.items():
        d = set(task.get("dependentTasks", []))
        inputs = task.get("inputs", {})
        d |= {
            a["taskOutputArtifact"]["producerTask"]
            for a in inputs.get("artifacts", {}).values()
            if "taskOutputArtifact" in a
        }
        d |= {
            p["taskOutputParameter"]["producerTask"]
            for p in inputs.get("parameters", {}).values()
            if "taskOutputParameter" in p
        }
        unknown = d - set(tasks)
        if unknown:
            raise BackendRefusal(f"task {name} depends on unknown task(s) {sorted(unknown)}")
        deps[name] = d
    order: list[str] = []
    while len(order) < len(tasks):
        ready = sorted(n for n in tasks if n not in order and deps[n] <= set(order))
        if not ready:
            raise BackendRefusal(f"the DAG has a cycle among {sorted(set(tasks) - set(order))}")
        order += ready
    return order


def fill_placeholders(executor_input: dict, command: list[str], args: list[str]) -> tuple[list[str], list[str]]:
    """launcher_v2.go compileCmdAndArgs / getPlaceholders."""
    as_json = json_format.MessageToJson(
        json_format.ParseDict(executor_input, pipeline_spec_pb2.ExecutorInput()), indent=None
    )
    holders = {}
    for name, arts in executor_input["inputs"]["artifacts"].items():
        holders[f"{{{{$.inputs.artifacts['{name}'].uri}}}}"] = arts["artifacts"][0]["uri"]
        holders[f"{{{{$.inputs.artifacts['{name}'].path}}}}"] = local_path_for_uri(arts["artifacts"][0]["uri"])
    for name, arts in executor_input["outputs"]["artifacts"].items():
        holders[f"{{{{$.outputs.artifacts['{name}'].uri}}}}"] = arts["artifacts"][0]["uri"]
        holders[f"{{{{$.outputs.artifacts['{name}'].path}}}}"] = local_path_for_uri(arts["artifacts"][0]["uri"])
    for name, value in executor_input["inputs"]["parameterValues"].items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):  # Go's FormatFloat(v, 'f', -1, 64)
            text = str(int(value)) if float(value).is_integer() else repr(float(value))
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value)
        holders[f"{{{{$.inputs.parameters['{name}']}}}}"] = text
    for name, p in executor_input["outputs"]["parameters"].items():
        holders[f"{{{{$.outputs.parameters['{name}'].output_file}}}}"] = p["outputFile"]

    def fill(text: str) -> str:
        text = text.replace("{{$}}", as_json)
        for key, value in holders.items():
            text = text.replace(key, value)
        return text

    # As the launcher does: the command gets {{$}} only, the args every placeholder.
    return [c.replace("{{$}}", as_json) for c in command], [fill(a) for a in args]


def cache_fingerprint(executor_input: dict, component: dict, container: dict) -> str:
    """cacheutils GenerateCacheKey + GenerateFingerPrint (sha256 of the key as JSON)."""
    outputs = executor_input["outputs"]
    key = {
        "inputArtifactNames": {
            k: {"artifactNames": [a["name"] for a in v["artifacts"]]}
            for k, v in executor_input["inputs"]["artifacts"].items()
        },
        "inputParameterValues": executor_input["inputs"]["parameterValues"],
        "outputArtifactsSpec": {
            k: {
                "name": v["artifacts"][0]["name"],
                "type": v["artifacts"][0]["type"],
                "metadata": v["artifacts"][0].get("metadata"),
            }
            for k, v in outputs["artifacts"].items()
        },
        "outputParametersSpec": {
            k: component["outputDefinitions"]["parameters"][k]["parameterType"] for k in outputs["parameters"]
        },
        "containerSpec": {
            "image": container["image"],
            "cmdArgs": [*container.get("command", []), *container.get("args", [])],
        },
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def read_executor_output(path: Path) -> dict:
    """getExecutorOutputFile: none is an empty output; a bad one fails the task."""
    if not path.is_file():
        return {}
    try:
        message = json_format.Parse(path.read_text(), pipeline_spec_pb2.ExecutorOutput())
    except json_format.ParseError as err:
        raise TaskFailed(f"failed to unmarshall ExecutorOutput in file {path}: {err}") from err
    return json_format.MessageToDict(message)
