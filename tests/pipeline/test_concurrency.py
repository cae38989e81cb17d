"""Two runs on one pipeline root: never two writers on one metadata store."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from pipeline import cli, run_lock
from pipeline.recorded import mlmd
from tests.helpers import make_corpus, read_until, start_run_local


@pytest.fixture
def run(tmp_path):
    root = make_corpus(tmp_path / "corpus", n_train=20, n_test=10)
    run_dir = tmp_path / "runs" / "corpus"
    args = ["--data-dir", str(root), "--work-dir", str(tmp_path / "runs"), "--until", "validation"]
    locks = run_lock.lock_files(run_dir / "pipeline_root", run_dir / "metadata.sqlite")
    return run_dir, args, locks


def test_second_run_stops_at_once_naming_the_run_holding_the_lock(run, capsys):
    run_dir, args, locks = run
    with run_lock.hold(locks):
        code = cli.main(args)
    err = capsys.readouterr().err
    assert code == run_lock.EXIT_BUSY
    assert err.startswith("error: another run holds ") and str(run_dir) in err
    assert f"pid {os.getpid()}" in err and "--wait-for-lock" in err
    assert not (run_dir / "metadata.sqlite").exists()  # it wrote nothing
    assert all(path.read_text() == "" for path in locks)  # released locks name no holder


def test_waiting_run_starts_only_after_the_first_releases_the_lock(run):
    run_dir, args, locks = run
    metadata = run_dir / "metadata.sqlite"
    with run_lock.hold(locks):
        child = start_run_local([*args, "--wait-for-lock", "600"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            line = read_until(child.stderr, "waiting up to 600 s")
            assert f"pid {os.getpid()}" in line
            assert not metadata.exists()  # queued behind us: it has not opened the store
        except BaseException:
            child.kill()
            raise
        released_ms = time.time() * 1000
    child.stderr.read()
    assert child.wait(timeout=300) == 0
    store = mlmd.sqlite_store(str(metadata))
    executions = store.get_executions()
    assert len(executions) == 4 and all(e.create_time_since_epoch >= released_ms for e in executions)
