"""A run leaves nothing in the system temp folder (issue 30): TFX built a 49 MB package there per Beam component."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.helpers import make_corpus, run_cli


def test_a_cold_run_of_the_beam_components_with_beam_args_leaves_the_temp_folder_as_it_was(tmp_path, monkeypatch):
    """With Beam args (a local runner's), TFX would build its package; without any (the default), it does not
    either: tests/pipeline/test_retention.py checks the temp folder after three default runs."""
    beam_args = ["--beam-arg=--direct_running_mode=in_memory"]
    root = make_corpus(tmp_path / "corpus", n_train=12, n_test=6)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where tempfile.mkdtemp() puts folders in this process
    code, summary = run_cli(
        tmp_path,
        ["--data-dir", str(root), "--work-dir", str(tmp_path / "runs"), "--until", "validation", *beam_args],
    )
    assert code == 0, summary["failure"]
    ran = {row["component"] for row in summary["components"] if row["state"] == "ran"}
    assert {"DirectoryExampleGen", "StatisticsGen"} <= ran  # Beam components ran cold
    assert not list(temp.glob("*/build/tfx")), "TFX built its package in the temp folder"


def test_a_run_as_a_user_runs_it_leaves_the_temp_folder_empty(tmp_path):
    """Own process, TMPDIR an empty folder: nothing is left (12 empty folders per run before, and autograph's
    modules whenever a process did not exit normally)."""
    import subprocess
    import sys

    from tests.helpers import REPO

    root = make_corpus(tmp_path / "corpus", n_train=12, n_test=6)
    temp = tmp_path / "temp"
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, "run_local.py", "--data-dir", root, "--work-dir", tmp_path / "runs", "--until", "validation"],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in temp.iterdir()) == []


def test_the_folder_of_a_run_that_was_killed_is_removed_by_the_next_and_a_live_ones_is_kept(tmp_path):
    import fcntl

    from pipeline import temp_folder

    killed = tmp_path / f"{temp_folder.PREFIX}killed"
    (killed / "beam-temp-x").mkdir(parents=True)
    (killed / temp_folder.IN_USE).write_text("")
    live = tmp_path / f"{temp_folder.PREFIX}live"
    live.mkdir()
    with open(live / temp_folder.IN_USE, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert temp_folder.remove_abandoned(tmp_path) == [killed]
    assert not killed.exists() and live.exists()


def test_inside_a_run_folder_the_libraries_temp_files_go_there_and_it_goes_at_the_end(tmp_path, monkeypatch):
    from pipeline import temp_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with temp_folder.run_folder() as folder:
        assert folder.parent == tmp_path and folder.name.startswith(temp_folder.PREFIX)
        made = Path(tempfile.mkdtemp())
        assert made.parent == folder and os.environ["TMPDIR"] == str(folder)
    assert not folder.exists() and tempfile.gettempdir() == str(tmp_path)
