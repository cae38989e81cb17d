"""Shared fixtures: every test makes its own small corpus in a temporary folder."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from types import SimpleNamespace  # noqa: E402

import pytest  # noqa: E402

from pipeline.configs import RunPaths  # noqa: E402
from tests.helpers import TINY_RUN_SETTINGS, make_corpus, make_tiny_run_corpus, run_cli  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def libraries_temp_folder(tmp_path_factory):
    """The system temp folder of the tests and of the processes they start.

    Beam's job service (tests/pipeline/test_portable_runner.py), its stager and
    executors called without a run's temp folder leave empty folders in the
    system temp folder: 21 and 20 in the CI runs of two stops. Here they land
    under pytest's base folder, which pytest retires after three sessions. What a
    user's run leaves is checked with a temp folder of its own
    (tests/pipeline/test_temp_usage.py).
    """
    folder = tmp_path_factory.mktemp("system-temp")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(folder))
        patch.setattr(tempfile, "tempdir", str(folder))
        yield folder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "corpus")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One cold run of the whole pipeline on a tiny corpus, shared by every test that needs one.

    Tests that re-run on top of it (test_pipeline_e2e) leave it usable: its
    pushed model and metadata stay where they are. Its runs keep every run and
    version (retention has its own test, tests/pipeline/test_retention.py): the
    tests that re-run on it, in whatever order they come, read earlier runs.
    """
    base = tmp_path_factory.mktemp("e2e")
    root = make_tiny_run_corpus(base / "corpus")
    keep_all = ["--keep-runs", "1000", "--keep-versions", "1000"]
    args = ["--data-dir", str(root), "--work-dir", str(base / "runs"), *TINY_RUN_SETTINGS, *keep_all]
    code, summary = run_cli(base, args)
    assert code == 0, summary["failure"]
    paths = RunPaths(base / "runs", "corpus")
    return SimpleNamespace(
        base=base,
        root=root,
        args=args,
        summary=summary,
        serving=paths.serving,
        pipeline_root=paths.pipeline_root,
        metadata=paths.metadata,
    )
