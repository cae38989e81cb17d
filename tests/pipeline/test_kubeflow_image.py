"""The built image, checked and executed: `make image-check` (TC_IMAGE names the image it built).

What the image must not hold (test tools, the notebook stack, a compiler) and its size bound; then the compiled
tiny spec executed once by the KFP stand-in with every task inside the image (tests/stand_ins/kfp_backend.py, container
mode): blessed and pushed to s3:// with the local run's metrics, each task's time in the container printed.
The second execution (a worse candidate refused against the served model) is tests/pipeline/test_kubeflow_backend.py's,
in venv mode: it runs the same task code from the same lock, and repeating it in the image cost CI about three
minutes of its 45-minute budget. Without TC_IMAGE there is no image to check, and the module is skipped
(`make test` is the venv mode's quick path).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.pipeline.kubeflow_executions import (
    TASKS,
    check_first_execution_blessed_and_pushed,
    check_test_metrics_equal_the_local_runs,
    first_execution,
)
from tests.stand_ins import kfp_backend

IMAGE = os.environ.get("TC_IMAGE")
pytestmark = pytest.mark.skipif(not IMAGE, reason="no image: `make image-check` builds one and sets TC_IMAGE")
MAX_IMAGE_GIB = 3.0
# IPython, ipywidgets and ipykernel stay: TFMA 0.47 imports them (scripts/lock-runtime.py).
LEFT_OUT = ("pytest", "moto", "jupyterlab", "notebook", "jupyter_server", "widgetsnbextension")


def _in_image(*argv: str, entrypoint: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", "run", "--rm", "--network", "host", "--entrypoint", entrypoint, IMAGE, *argv],
        env=kfp_backend.podman_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_image_holds_no_test_tools_notebook_stack_or_compiler():
    found = _in_image(
        "-c",
        f"import importlib.util as u, json; print(json.dumps([m for m in {list(LEFT_OUT)!r} if u.find_spec(m)]))",
        entrypoint="python",
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert json.loads(found.stdout) == []
    compilers = _in_image("-c", "for c in gcc g++ cc c++ clang; do command -v $c; done; true", entrypoint="sh")
    assert compilers.returncode == 0 and compilers.stdout.strip() == "", compilers.stdout
    size = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE],
        env=kfp_backend.podman_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    gib = int(size.stdout.strip()) / 2**30
    print(f"image {IMAGE}: {gib:.2f} GiB")
    assert gib <= MAX_IMAGE_GIB


def test_the_image_runs_the_projects_code_from_its_workdir_with_whole_libraries():
    done = _in_image(
        "-c", "import os, pipeline, components, models; print(os.getcwd(), pipeline.__file__)", entrypoint="python"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["/pipeline", "/pipeline/pipeline/__init__.py"]
    # TFMA and TFDV swallow an ImportError and load half-way: their whole API must be there.
    whole = _in_image(
        "-c",
        "import tensorflow_model_analysis as tfma, tensorflow_data_validation as tfdv; "
        "print(callable(tfma.default_eval_shared_model), callable(tfdv.validate_statistics))",
        entrypoint="python",
    )
    assert whole.returncode == 0 and whole.stdout.split()[-2:] == ["True", "True"], whole.stdout + whole.stderr[-2000:]
    assert "Error importing" not in whole.stderr


@pytest.fixture(scope="module")
def kfp(s3, tiny_run, tmp_path_factory):
    return first_execution(s3, tmp_path_factory.mktemp("kfp-image"), image=IMAGE)


def test_first_execution_in_the_image_blesses_and_pushes(kfp, s3, capsys):
    check_first_execution_blessed_and_pushed(kfp, s3)
    # Figures, not a bound: each task's wall time in a container. docs/kubeflow.md sets them beside the venv's
    # (that execution runs in `make test`, tests/pipeline/test_kubeflow_backend.py: not repeated here).
    with capsys.disabled():
        print(f"\n{'task':<24} {'container s':>11}")
        for name in TASKS:
            print(f"{name:<24} {kfp.first.tasks[name].seconds:>11.1f}")


def test_test_metrics_in_the_image_equal_the_local_runs(kfp, tiny_run, tmp_path):
    check_test_metrics_equal_the_local_runs(kfp, tiny_run, tmp_path)
