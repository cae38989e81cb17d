"""Kubeflow: the compiled KFP v2 spec, the container image's recipe, and scheduling."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from components.example_gen import corpus_layout
from components.example_gen.settings import IngestSettings
from kubeflow_runner import command_line, compiler, scheduling
from models import recipe
from pipeline import cli, configs, run_request
from pipeline.pipeline import create_pipeline
from tests.stand_ins.kfp_backend import Backend

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "registry.example/team/text-classifier:test"


def compile_spec(tmp_path: Path, *extra) -> dict:
    out = tmp_path / "spec.json"
    command_line.main(["compile", "--output", str(out), "--image", IMAGE, *extra])
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def imdb_job(tmp_path_factory):
    return compile_spec(tmp_path_factory.mktemp("kfp"), "--dataset", "imdb", "--trainer-gpu", "NVIDIA_L4:2")


def tasks(job):
    return job["pipelineSpec"]["root"]["dag"]["tasks"]


def executors(job):
    return job["pipelineSpec"]["deploymentSpec"]["executors"]


def test_spec_parses_as_a_kfp_pipeline_spec(imdb_job):
    spec = json_format.ParseDict(imdb_job["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    assert spec.pipeline_info.name == "text-classifier-imdb"


def test_spec_is_one_the_kfp_backend_accepts(imdb_job):
    """Schema 2.1.0 (`constant`, not 2.0.0's `constantValue`), container executors only (no resolver)."""
    assert imdb_job["pipelineSpec"]["schemaVersion"] == "2.1.0"
    assert "constantValue" not in json.dumps(imdb_job)
    assert all(set(e) == {"container"} for e in executors(imdb_job).values())
    Backend.check(imdb_job)  # the stand-in's compile-time refusals (tests/kfp_backend.py)


def test_example_gen_and_the_baseline_are_never_served_from_kfps_cache(imdb_job):
    """KFP never runs ExampleGen's preCacheCheck hook: its cache key would not see the corpus."""
    caching = {name: t.get("cachingOptions", {}).get("enableCache", False) for name, t in tasks(imdb_job).items()}
    assert caching.pop("DirectoryExampleGen") is False
    assert caching.pop("ServedModelBaseline") is False
    assert caching.pop("DriftCheck") is False  # its reference is the served model, read at run time
    assert caching.pop("RunRetention") is False  # it reads the bucket as it is
    assert all(caching.values()), caching  # every other step may be cached


def test_spec_has_the_local_pipelines_components_and_dependencies(imdb_job, tmp_path):
    request = run_request.resolve(cli.parse_args(["--dataset", "imdb"]), configs.DATASETS["imdb"])
    # With the same serving destination (a URI: TFX's Pusher rather than AtomicPusher), the same graph.
    local = create_pipeline(
        pipeline_name="x",
        pipeline_root=str(tmp_path),
        data_root=str(tmp_path),
        serving_dir="s3://mlpipeline/tfx/imdb/serving",
        num_classes=2,
        request=request,
    )
    local_deps = {c.id: {u.id for u in c.upstream_nodes} for c in local.components}
    kfp_deps = {name: set(t.get("dependentTasks", [])) for name, t in tasks(imdb_job).items()}
    # Kubeflow's one step more: the retention a local run applies itself, last (after the Pusher).
    assert kfp_deps.pop("RunRetention") == {"DirectoryExampleGen", "Transform", "Trainer", "Pusher"}
    assert kfp_deps == local_deps
    assert "StrictExampleValidator" in kfp_deps["Transform"]  # bad data never reaches Transform
    assert kfp_deps["Evaluator"] >= {"ServedModelBaseline", "Trainer"}


def test_every_executor_uses_the_configured_image_and_command(imdb_job):
    containers = [e["container"] for e in executors(imdb_job).values()]
    assert len(containers) == len(tasks(imdb_job)) == 11  # the local pipeline's ten and RunRetention
    assert {c["image"] for c in containers} == {IMAGE}
    assert all(c["command"] == list(compiler.CONTAINER_COMMAND) for c in containers)


def test_trainer_asks_for_the_configured_gpu(imdb_job):
    resources = executors(imdb_job)["Trainer_executor"]["container"]["resources"]
    assert resources["accelerator"] == {"type": "NVIDIA_L4", "count": "2"}
    assert resources["cpuLimit"] == compiler.KUBEFLOW_RESOURCES["Trainer"].cpu
    assert "accelerator" not in executors(imdb_job)["Transform_executor"]["container"].get("resources", {})


def constant(job, task, parameter):
    return tasks(job)[task]["inputs"]["parameters"][parameter]["runtimeValue"]["constant"]


def test_schema_is_read_from_the_image(imdb_job):
    # Relative to the image's WORKDIR (the project root), as the steps run there.
    assert constant(imdb_job, "ImportSchemaGen", "schema_file") == "schemas/imdb/schema.pbtxt"
    local_sha = __import__("hashlib").sha256(configs.schema_path("imdb").read_bytes()).hexdigest()
    assert constant(imdb_job, "ImportSchemaGen", "schema_sha256") == local_sha


def test_recipe_flags_configure_the_spec_as_they_configure_a_local_run(tmp_path):
    flags = ["--recipe", "accurate", "--epochs", "7", "--min-accuracy", "0.8"]
    job = compile_spec(tmp_path, "--dataset", "imdb", *flags)
    request = run_request.resolve(cli.parse_args(["--dataset", "imdb", *flags]), configs.DATASETS["imdb"])
    local = {
        c.id: c
        for c in create_pipeline(
            pipeline_name="x",
            pipeline_root=str(tmp_path),
            data_root=str(tmp_path),
            serving_dir=str(tmp_path / "s"),
            num_classes=2,
            request=request,
        ).components
    }
    for task in ("Transform", "Trainer"):
        assert json.loads(constant(job, task, "custom_config")) == json.loads(
            local[task].exec_properties["custom_config"]
        )
    transform = json.loads(constant(job, "Transform", "custom_config"))
    assert transform["vocab_size"] == recipe.RECIPES["accurate"]["vocab_size"] != recipe.TransformConfig.vocab_size
    assert json.loads(constant(job, "Trainer", "custom_config"))["epochs"] == 7
    default = compile_spec(tmp_path, "--dataset", "imdb")
    assert constant(default, "Transform", "custom_config") != constant(job, "Transform", "custom_config")
    evaluator = json.loads(constant(job, "Evaluator", "custom_config"))  # EvaluationConfig's fields, unchanged
    assert evaluator == json.loads(local["Evaluator"].exec_properties["custom_config"])
    assert evaluator["min_accuracy"] == 0.8 != configs.DATASETS["imdb"].knob_values["min_accuracy"]  # the flag wins
    assert constant(job, "Evaluator", "num_classes") == 2


@pytest.mark.parametrize(
    "flags, layout",
    [
        ((), corpus_layout.TRAIN_AND_TEST),
        (("--classes-at-root",), corpus_layout.Layout(corpus_layout.ROOT)),
        (("--eval-dir", "dev", "--no-test-dir"), corpus_layout.Layout("train", "dev", None)),
    ],
)
def test_layout_flags_reach_example_gen(tmp_path, flags, layout):
    job = compile_spec(tmp_path, "--name", "mine", "--num-classes", "3", *flags)
    properties = {"custom_config": constant(job, "DirectoryExampleGen", "custom_config")}
    assert IngestSettings.from_exec_properties(properties).layout == layout
    patterns = {
        s["name"]: s["pattern"] for s in json.loads(constant(job, "DirectoryExampleGen", "input_config"))["splits"]
    }
    assert patterns == {split: f"{layout.source_folder(split)}/*/*" for split in ("train", "eval", "test")}


def test_classes_at_the_root_leave_no_validation_or_test_folder_to_name(tmp_path, capsys):
    code = command_line.main(
        [
            "compile",
            "--name",
            "mine",
            "--num-classes",
            "2",
            "--output",
            str(tmp_path / "x.json"),
            "--image",
            IMAGE,
            "--classes-at-root",
            "--eval-dir",
            "dev",
        ]
    )
    assert code == 2 and "drop --eval-dir and --no-test-dir" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_s3_roots_get_the_endpoint_and_the_secret_keys(imdb_job):
    s3 = compiler.S3Settings()
    for label, executor in executors(imdb_job).items():
        env = {e["name"]: e["value"] for e in executor["container"]["env"]}
        assert env["S3_ENDPOINT"] == env["AWS_ENDPOINT_URL"] == s3.endpoint
        k8s = imdb_job["platformSpec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"][label]
        assert k8s["secretAsEnv"] == [
            {
                "secretName": s3.secret,
                "keyToEnv": [
                    {"secretKey": "accesskey", "envVar": "AWS_ACCESS_KEY_ID"},
                    {"secretKey": "secretkey", "envVar": "AWS_SECRET_ACCESS_KEY"},
                ],
            }
        ]
        # The corpus volume is mounted into ExampleGen's pod alone.
        assert ("pvcMount" in k8s) == (label == "DirectoryExampleGen_executor")


def test_gcs_roots_need_no_s3_settings(tmp_path):
    job = compile_spec(
        tmp_path,
        "--dataset",
        "imdb",
        "--pipeline-root",
        "gs://b/root",
        "--serving-dir",
        "gs://b/serving",
        "--corpus-pvc",
        "none",
    )
    assert "platformSpec" not in job
    assert all("env" not in e["container"] for e in executors(job).values())


@pytest.mark.parametrize("flag", ["--pipeline-root", "--serving-dir"])
def test_a_local_path_is_refused_naming_the_flag(tmp_path, capsys, flag):
    code = command_line.main(
        ["compile", "--dataset", "imdb", "--output", str(tmp_path / "x.json"), "--image", IMAGE, flag, "/mnt/x"]
    )
    assert code == 2
    assert (
        f"error: {flag} /mnt/x: Kubeflow Pipelines stores artifacts on object storage only" in capsys.readouterr().err
    )
    assert not (tmp_path / "x.json").exists()


def test_beam_args_pass_through_unchanged(tmp_path):
    worker_image = f"--sdk_container_image={IMAGE}"
    job = compile_spec(
        tmp_path,
        "--dataset",
        "stackoverflow",
        "--beam-arg=--runner=FlinkRunner",
        "--beam-arg=--flink_master=flink:8081",
        f"--beam-arg={worker_image}",
    )
    args = executors(job)["Transform_executor"]["container"]["args"]
    assert "--runner=FlinkRunner" in args and "--flink_master=flink:8081" in args and worker_image in args
    assert job["pipelineSpec"]["pipelineInfo"]["name"] == "text-classifier-stackoverflow"


def test_a_remote_beam_runner_without_the_workers_code_is_refused_before_compiling(tmp_path, capsys):
    flink = ["--beam-arg=--runner=FlinkRunner", "--beam-arg=--flink_master=flink:8081"]
    out = tmp_path / "spec.json"
    code = command_line.main(["compile", "--output", str(out), "--image", IMAGE, "--dataset", "imdb", *flink])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --beam-arg=--runner=FlinkRunner") and len(err.splitlines()) == 1
    assert "--sdk_container_image=IMAGE" in err and not out.exists()


def test_a_change_in_the_preprocessing_code_changes_the_spec(imdb_job, tmp_path, monkeypatch):
    copy = tmp_path / "project"
    for part in ("components", "models", "pipeline"):
        shutil.copytree(ROOT / part, copy / part)
    (copy / "models" / "preprocessing.py").write_text(
        (ROOT / "models" / "preprocessing.py")
        .read_text()
        .replace('VOCAB_NAME = "tokens"', 'VOCAB_NAME = "tokens"  # edited')
    )
    monkeypatch.setattr(configs, "PROJECT_ROOT", copy)
    changed = compile_spec(tmp_path, "--dataset", "imdb", "--trainer-gpu", "NVIDIA_L4:2")

    assert constant(changed, "Transform", "custom_config") != constant(imdb_job, "Transform", "custom_config")
    # The Trainer imports none of it: it runs again on Transform's new output, not on a key of its own.
    assert constant(changed, "Trainer", "custom_config") == constant(imdb_job, "Trainer", "custom_config")
    assert tasks(changed)["Evaluator"] == tasks(imdb_job)["Evaluator"]  # untouched code, same step


# ------------------------------------------------------------------ the image recipe


def dockerfile_instructions():
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip().split(None, 1) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_builds_in_a_compiler_stage_and_runs_in_a_clean_one():
    inst = dockerfile_instructions()
    keywords = [k for k, _ in inst]
    assert all(k in {"FROM", "ARG", "ENV", "WORKDIR", "COPY", "RUN", "ENTRYPOINT"} for k in keywords)
    assert ["ARG", "BASE_IMAGE=python:3.10-slim"] in inst
    stages = [v for k, v in inst if k == "FROM"]
    assert stages == ["${BASE_IMAGE} AS builder", "${BASE_IMAGE} AS runtime"]
    second = [i for i, k in enumerate(keywords) if k == "FROM"][1]
    builder, runtime = inst[:second], inst[second:]
    # The compiler and pip's work stay in the builder; the runtime stage only copies the virtualenv in.
    assert "g++" in " ".join(v for k, v in builder if k == "RUN")
    assert not [v for k, v in runtime if k == "RUN"]
    assert ["COPY", "--from=builder /opt/venv /opt/venv"] in runtime
    makefile = (ROOT / "Makefile").read_text()
    pip_version = re.search(r"^PIP_VERSION := (\S+)$", makefile, re.M).group(1)
    assert ["ARG", f"PIP_VERSION={pip_version}"] in inst
    run = " ".join(v for k, v in builder if k == "RUN")
    assert "pip==${PIP_VERSION}" in run and "--no-deps -r /tmp/locks/${LOCK}" in run and "--no-cache-dir" in run
    assert ["ARG", "LOCK=requirements-runtime.lock"] in inst
    assert ["WORKDIR", compiler.CONTAINER_PROJECT_ROOT] in runtime
    copied = {v.split()[0].rstrip("/") for k, v in runtime if k == "COPY"}
    assert {"pipeline", "components", "models", "schemas"} <= copied
    entrypoint = json.loads(dict(runtime)["ENTRYPOINT"])
    assert entrypoint == list(compiler.CONTAINER_COMMAND)


def _pins(name: str) -> dict:
    text = (ROOT / name).read_text()
    return {
        re.sub(r"[-_.]+", "-", m.group(1)).lower(): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==(\S+)$", text, re.M)
    }


def test_the_runtime_lock_is_the_full_locks_pins_without_the_test_tools_and_notebooks():
    full, runtime = _pins("requirements.lock"), _pins("requirements-runtime.lock")
    assert runtime and set(runtime) < set(full)
    assert {name: full[name] for name in runtime} == runtime  # equal pins: one resolution
    assert not {
        "pytest",
        "moto",
        "jupyterlab",
        "notebook",
        "jupyter-server",
        "widgetsnbextension",
        "jupyterlab-widgets",
    } & set(runtime)
    # TFMA 0.47 imports ipywidgets (and IPython, ipykernel) when it is imported: without them it loads half-way.
    assert {"ipywidgets", "ipython", "ipykernel"} <= set(runtime)
    for needed in (
        "tfx",
        "tensorflow",
        "tensorflow-model-analysis",
        "apache-beam",
        "tensorflow-io",
        "boto3",
        "matplotlib",
        "kfp",
        "pyfarmhash",
    ):
        assert needed in runtime, needed
    gpu = (ROOT / "requirements-gpu.lock").read_text().splitlines()
    assert "-r requirements-runtime.lock" in gpu  # the same pins, plus the CUDA libraries
    assert any(line.startswith("nvidia-cudnn-cu12==") for line in gpu)
    makefile = (ROOT / "Makefile").read_text()
    assert (
        "scripts/lock-runtime.py" in makefile
        and "$(PY) -m pip install --quiet --quiet --disable-pip-version-check -r requirements.lock" in makefile
    )


def test_the_beam_worker_image_copies_the_boot_of_the_locked_beam():
    """Beam's boot program and SDK speak a versioned protocol: the worker image's SDK image is the lock's Beam."""
    text = (ROOT / "Dockerfile.beam-worker").read_text()
    assert (
        re.search(r"^ARG BEAM_VERSION=(\S+)$", text, re.M).group(1) == _pins("requirements-runtime.lock")["apache-beam"]
    )
    assert "COPY --from=beam /opt/apache/beam /opt/apache/beam" in text
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in text


def test_make_image_builds_the_tag_the_compiler_writes():
    out = subprocess.run(["make", "-n", "image"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "build --network host --build-arg PIP_VERSION=" in out and "--build-arg LOCK=requirements-gpu.lock" in out
    assert f"-t {compiler.image_tag()} ." in out
    cpu = subprocess.run(
        ["make", "-n", "image", "VARIANT=cpu"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "--build-arg LOCK=requirements-runtime.lock" in cpu and f"-t {compiler.image_tag('cpu')} ." in cpu
    compiled = subprocess.run(
        ["make", "-n", "compile-kubeflow"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert f"--image {compiler.image_tag()} " in compiled


def test_compile_names_no_image_of_its_own(capsys):
    """Without --image a spec would name a tag that no registry holds: refused, naming the flag."""
    with pytest.raises(SystemExit):
        command_line.parse_args(["compile", "--dataset", "imdb"])
    assert "the following arguments are required: --image" in capsys.readouterr().err


DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "reference",
    [
        "tfx-text-classifier:0.1.0",
        "registry.example.com:5000/team/tc:0.1.0",
        f"ghcr.io/team/tc@{DIGEST}",
        f"localhost/tc:0.1.0@{DIGEST}",
    ],
)
def test_an_image_reference_by_tag_or_digest_is_written_into_every_task(tmp_path, reference):
    job = compile_spec(tmp_path, "--dataset", "imdb", "--image", reference)
    assert {e["container"]["image"] for e in executors(job).values()} == {reference}


@pytest.mark.parametrize("reference", ["Upper/Case:1", "tc@sha256:abc", "tc:", "tc@md5:" + "0" * 64, "a b"])
def test_a_malformed_image_reference_is_refused_naming_the_flag(tmp_path, capsys, reference):
    code = None
    with pytest.raises(SystemExit) as exit_:
        command_line.main(["compile", "--dataset", "imdb", "--output", str(tmp_path / "x.json"), "--image", reference])
    code = exit_.value.code
    err = capsys.readouterr().err
    assert code == 2 and "argument --image" in err and "is not an image reference" in err
    assert not (tmp_path / "x.json").exists()


# ------------------------------------------------------------------ scheduling


class FakeKfp(http.server.BaseHTTPRequestHandler):
    """Answers the KFP v2beta1 REST calls the SDK makes; records each request."""

    requests: list = []
    existing_pipeline = False
    # A multi-user install (tests/code/test_kubeflow_auth.py): the bearer token or session cookie it knows; a
    # request without one, or with another, gets 401; with `forbidden`, a known one gets 403 (no namespace access).
    required_token: str | None = None
    required_cookie: str | None = None
    forbidden = False
    login_redirect = False  # an identity proxy's way: an anonymous request is sent to its login page (302)
    credentials_seen: list = []

    def log_message(self, *args):
        pass

    def _refused(self) -> bool:
        token, cookie = self.headers.get("Authorization"), self.headers.get("Cookie")
        FakeKfp.credentials_seen.append((token, cookie))
        if FakeKfp.required_token is None and FakeKfp.required_cookie is None:
            return False
        known = (FakeKfp.required_token and token == f"Bearer {FakeKfp.required_token}") or (
            FakeKfp.required_cookie and cookie == FakeKfp.required_cookie
        )
        status = 403 if known and FakeKfp.forbidden else None if known else 401
        if status is None:
            return False
        if status == 401 and FakeKfp.login_redirect:
            self.send_response(302)
            self.send_header("Location", "/dex/auth?client_id=kubeflow-oidc-authservice")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        body = b'{"error": "RBAC: access denied"}' if status == 403 else b'{"error": "Unauthenticated"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def _reply(self, payload):
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/dex/"):  # the login page
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"log in")
            return None
        if self._refused():
            return None
        FakeKfp.requests.append(("GET", self.path, b""))
        if self.path.startswith("/apis/v2beta1/pipelines?") and FakeKfp.existing_pipeline:
            return self._reply(
                {"pipelines": [{"pipeline_id": "p-old", "display_name": "text-classifier-imdb"}], "total_size": 1}
            )
        if "/versions" in self.path:
            return self._reply({"pipeline_versions": [{"pipeline_version_id": "v1"}]})
        return self._reply({})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self._refused():
            return None
        FakeKfp.requests.append(("POST", self.path, body))
        replies = {
            "/apis/v2beta1/experiments": {"experiment_id": "e1"},
            "/apis/v2beta1/pipelines/upload_version": {"pipeline_version_id": "v2", "pipeline_id": "p-old"},
            "/apis/v2beta1/pipelines/upload": {"pipeline_id": "p1"},
            "/apis/v2beta1/recurringruns": {"recurring_run_id": "r1"},
            "/apis/v2beta1/runs": {"run_id": "run1"},
        }
        path = self.path.split("?")[0]
        return self._reply(replies.get(path, {}))


@pytest.fixture
def kfp_server():
    FakeKfp.requests, FakeKfp.existing_pipeline, FakeKfp.credentials_seen = [], False, []
    FakeKfp.required_token = FakeKfp.required_cookie = None
    FakeKfp.forbidden = FakeKfp.login_redirect = False
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeKfp)
    # A short poll: shutdown() waits for it (0.5 s by default, at the end of every test).
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def spec_file(imdb_job, tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "imdb.json"
    path.write_text(json.dumps(imdb_job))
    return path


def posts(path):
    return [
        json.loads(b) if b.startswith(b"{") else b
        for m, p, b in FakeKfp.requests
        if m == "POST" and p.split("?")[0] == path
    ]


def test_schedule_uploads_the_spec_and_creates_a_recurring_run(kfp_server, spec_file, imdb_job):
    code = command_line.main(
        [
            "schedule",
            "--spec",
            str(spec_file),
            "--host",
            kfp_server,
            "--cron",
            "30 2 * * 1",
            "--max-concurrency",
            "2",
            "--experiment",
            "nightly",
            "--run-now",
        ]
    )
    assert code == 0
    assert posts("/apis/v2beta1/experiments") == [{"display_name": "nightly", "namespace": ""}]
    (upload,) = posts("/apis/v2beta1/pipelines/upload")
    # KFP's package: the PipelineSpec, then the Kubernetes platform spec (secrets, the corpus volume).
    pipeline_spec, platform_spec = yaml.safe_load_all(upload.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0])
    assert pipeline_spec == imdb_job["pipelineSpec"] and platform_spec == imdb_job["platformSpec"]
    (recurring,) = posts("/apis/v2beta1/recurringruns")
    # The run request carries the pipeline root (KFP does not read it from the spec) ...
    root = imdb_job["runtimeConfig"]["gcsOutputDirectory"]
    assert recurring["runtime_config"]["pipeline_root"] == root
    # ... and what is scheduled is exactly a job the backend stand-in accepts.
    Backend.check(
        {
            "pipelineSpec": pipeline_spec,
            "platformSpec": platform_spec,
            "runtimeConfig": {"gcsOutputDirectory": recurring["runtime_config"]["pipeline_root"]},
        }
    )
    assert recurring["trigger"] == {"cron_schedule": {"cron": "0 30 2 * * 1"}}
    assert recurring["max_concurrency"] == 2 and recurring["mode"] == "ENABLE"
    assert recurring["experiment_id"] == "e1"
    assert recurring["pipeline_version_reference"] == {"pipeline_id": "p1", "pipeline_version_id": "v1"}
    (run,) = posts("/apis/v2beta1/runs")
    assert run["pipeline_version_reference"] == {"pipeline_id": "p1", "pipeline_version_id": "v1"}
    assert run["runtime_config"]["pipeline_root"] == root


def test_existing_pipeline_gets_a_new_version_and_disabled_schedule(kfp_server, spec_file):
    FakeKfp.existing_pipeline = True
    code = command_line.main(
        ["schedule", "--spec", str(spec_file), "--host", kfp_server, "--cron", "0 0 3 * * *", "--disable"]
    )
    assert code == 0
    assert not posts("/apis/v2beta1/pipelines/upload")
    assert len(posts("/apis/v2beta1/pipelines/upload_version")) == 1
    (recurring,) = posts("/apis/v2beta1/recurringruns")
    assert recurring["mode"] == "DISABLE"
    assert recurring["pipeline_version_reference"] == {"pipeline_id": "p-old", "pipeline_version_id": "v2"}
    assert not posts("/apis/v2beta1/runs")


def test_dry_run_sends_nothing(kfp_server, spec_file, capsys):
    code = command_line.main(
        ["schedule", "--spec", str(spec_file), "--host", kfp_server, "--cron", "0 3 * * *", "--dry-run"]
    )
    assert code == 0 and FakeKfp.requests == []
    printed = json.loads(capsys.readouterr().out)
    assert printed["requests"][2]["cron_expression"] == "0 0 3 * * *"


@pytest.mark.parametrize("cron", ["every night", "0 3 * *", "0 0 3 * * * *", "0 3 * * mon;rm"])
def test_bad_cron_is_refused_before_any_request(kfp_server, spec_file, capsys, cron):
    code = command_line.main(["schedule", "--spec", str(spec_file), "--host", kfp_server, "--cron", cron])
    assert code == 2 and FakeKfp.requests == []
    assert f"bad cron expression '{cron}'" in capsys.readouterr().err


def test_unreachable_host_is_a_clear_error(spec_file, capsys):
    code = command_line.main(
        ["schedule", "--spec", str(spec_file), "--host", "http://127.0.0.1:9", "--cron", "0 3 * * *"]
    )
    assert code == 2
    assert "cannot reach Kubeflow Pipelines at http://127.0.0.1:9" in capsys.readouterr().err


def test_normalize_cron():
    assert scheduling.normalize_cron("0 3 * * *") == "0 0 3 * * *"
    assert scheduling.normalize_cron("0 0 9 ? * 2-6") == "0 0 9 ? * 2-6"


# ------------------------------------------------------------------ Vertex AI Pipelines


def test_vertex_dry_run_builds_the_pipeline_job_offline(tmp_path, capsys):
    job = tmp_path / "gcs.json"
    assert (
        command_line.main(
            [
                "compile",
                "--dataset",
                "imdb",
                "--output",
                str(job),
                "--image",
                IMAGE,
                "--pipeline-root",
                "gs://b/tfx/imdb",
                "--serving-dir",
                "gs://b/serving/imdb",
                "--corpus-pvc",
                "none",
                "--data-root",
                "/gcs/b/corpora/imdb",
            ]
        )
        == 0
    )
    capsys.readouterr()
    code = command_line.main(
        [
            "vertex",
            "--spec",
            str(job),
            "--project",
            "p",
            "--region",
            "us-central1",
            "--cron",
            "0 0 3 * * *",
            "--dry-run",
        ]
    )
    assert code == 0
    request = json.loads(capsys.readouterr().out)["vertex_request"]
    assert request["pipeline_root"] == "gs://b/tfx/imdb" and request["schema_version"] == "2.1.0"
    assert request["schedule_cron"] == "0 3 * * *"
    assert "ServedModelBaseline" in request["tasks"]


def test_vertex_refuses_a_spec_compiled_for_minio(spec_file, capsys):
    code = command_line.main(
        [
            "vertex",
            "--spec",
            str(spec_file),
            "--project",
            "p",
            "--region",
            "r",
            "--pipeline-root",
            "gs://b/root",
            "--dry-run",
        ]
    )
    assert code == 2
    assert "was compiled for s3:// (MinIO); Vertex AI reads gs:// only" in capsys.readouterr().err
