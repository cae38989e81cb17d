"""A run leaves nothing in the system temp folder (issue 30): TFX built a 49 MB package there per Beam component."""

from __future__ import annotations

import tempfile

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
