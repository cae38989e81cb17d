"""A run killed (SIGKILL) mid-way loses nothing: the re-run finishes the job from the cache.

One pipeline root, in file order: killed during the Trainer, resumed; then a
retrained model killed during the Pusher, resumed. (The Pusher killed in the
middle of its copy, every time, is tested in test_atomic_pusher.)
"""

from __future__ import annotations

import glob
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from components import atomic_pusher
from pipeline.recorded import mlmd
from tests.helpers import make_corpus, run_cli, same_tree, start_run_local, states

UPSTREAM = ("DirectoryExampleGen", "ImportSchemaGen", "StatisticsGen", "StrictExampleValidator", "Transform")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    root = make_corpus(base / "corpus", n_train=60, n_test=30)
    # Early stopping off: the Trainer fits for seconds, long enough to be killed in.
    args = [
        "--data-dir",
        str(root),
        "--work-dir",
        str(base / "runs"),
        "--epochs",
        "30",
        "--patience",
        "0",
        "--learning-rate",
        "0.02",
        "--min-accuracy",
        "0.6",
        "--max-accuracy-drop",
        "1",
    ]
    run_dir = base / "runs" / "corpus"
    return SimpleNamespace(
        base=base,
        args=args,
        pipeline_root=run_dir / "pipeline_root",
        metadata=run_dir / "metadata.sqlite",
        serving=run_dir / "serving",
    )


def kill_when(child: subprocess.Popen, ready, what: str, poll_seconds: float = 0.005) -> None:
    """SIGKILLs the child's whole process group as soon as `ready()` is true."""
    while not ready():
        assert child.poll() is None, f"the run ended (exit {child.returncode}) before {what}"
        time.sleep(poll_seconds)
    os.killpg(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL


def states_of_latest_run(metadata: Path, pipeline: str = "text-classifier-corpus"):
    store = mlmd.sqlite_store(str(metadata))
    return states({"components": mlmd.component_executions(store, mlmd.latest_run_id(store, pipeline))})


def assert_metadata_intact(metadata: Path) -> None:
    with sqlite3.connect(f"file:{metadata}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def trainer_models(pipeline_root: Path):
    return sorted(glob.glob(str(pipeline_root / "Trainer" / "model" / "*" / "Format-Serving")))


def assert_serving_holds_whole_models_only(run) -> None:
    """Every served version is byte for byte a model a Trainer wrote; nothing else is there to serve."""
    for version in atomic_pusher.versions(str(run.serving)):
        assert any(same_tree(str(run.serving / str(version)), m) for m in trainer_models(run.pipeline_root)), version
    leftovers = [n for n in os.listdir(run.serving) if not n.isdigit()] if run.serving.exists() else []
    assert all(n.startswith(atomic_pusher.STAGING_PREFIX) for n in leftovers), leftovers  # never served


def test_killed_during_the_trainer_then_rerun_completes_from_the_cache(run):
    child = start_run_local(run.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # TensorBoard's first event file: the Trainer is fitting the model.
    kill_when(
        child,
        lambda: glob.glob(str(run.pipeline_root / "Trainer" / "model_run" / "*" / "train" / "*")),
        "the Trainer started fitting",
    )

    assert_metadata_intact(run.metadata)
    killed = states_of_latest_run(run.metadata)
    assert {c: killed[c] for c in UPSTREAM} == dict.fromkeys(UPSTREAM, "ran") and killed["Trainer"] == "running"
    assert "AtomicPusher" not in killed
    assert atomic_pusher.versions(str(run.serving)) == []  # no model, partial or whole, reached serving

    code, summary = run_cli(run.base, run.args)  # the same command again; the lock died with the process
    assert code == 0, summary["failure"]
    resumed = states(summary)
    assert {c: resumed[c] for c in UPSTREAM} == dict.fromkeys(UPSTREAM, "cached")
    assert resumed["Trainer"] == resumed["Evaluator"] == resumed["AtomicPusher"] == "ran"
    assert summary["push"]["pushed"] is True
    assert len(atomic_pusher.versions(str(run.serving))) == 1
    assert_serving_holds_whole_models_only(run)
    assert_metadata_intact(run.metadata)


def test_killed_during_the_pusher_leaves_a_whole_model_then_rerun_pushes(run):
    before = atomic_pusher.versions(str(run.serving))
    assert len(before) == 1
    args = [*run.args, "--epochs", "29"]  # a new model to push
    pushes = str(run.pipeline_root / "AtomicPusher" / "pushed_model" / "*")
    earlier = set(glob.glob(pushes))
    child = start_run_local(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The launcher makes the execution's output folder, then runs the executor.
    # The Pusher's work takes tens of milliseconds: look every millisecond.
    kill_when(child, lambda: set(glob.glob(pushes)) - earlier, "the Pusher started", poll_seconds=0.001)

    assert_metadata_intact(run.metadata)
    assert states_of_latest_run(run.metadata)["AtomicPusher"] == "running"
    after_kill = atomic_pusher.versions(str(run.serving))
    assert after_kill[:1] == before and len(after_kill) <= 2  # the old model, and the new one only if whole
    assert_serving_holds_whole_models_only(run)

    code, summary = run_cli(run.base, args)
    assert code == 0, summary["failure"]
    resumed = states(summary)
    assert resumed["Trainer"] == resumed["Evaluator"] == "cached" and resumed["AtomicPusher"] == "ran"
    assert summary["push"]["pushed"] is True
    assert Path(summary["push"]["path"]).parent == run.serving
    assert_serving_holds_whole_models_only(run)
    assert not [n for n in os.listdir(run.serving) if not n.isdigit()]  # the killed push's staging is gone
