"""A change to any module a component imports re-runs that component (issue 30): the cache never serves old code."""

from __future__ import annotations

import shutil

from pipeline import configs
from tests.helpers import REPO, make_corpus, run_cli


def test_editing_a_module_that_example_gen_imports_re_runs_example_gen_and_only_the_data_half(tmp_path, monkeypatch):
    root = make_corpus(tmp_path / "corpus", n_train=12, n_test=6)
    args = ["--data-dir", str(root), "--work-dir", str(tmp_path / "runs"), "--until", "validation"]
    code, first = run_cli(tmp_path, args)
    assert code == 0, first["failure"]

    # The same project, but for one comment in the ingestion report's module (imported by directory_example_gen).
    copy = tmp_path / "project"
    for part in ("components", "models", "pipeline", "schemas"):
        shutil.copytree(REPO / part, copy / part)
    report = copy / "components" / "example_gen" / "ingestion_report.py"
    report.write_text(report.read_text() + "\n# edited\n")
    monkeypatch.setattr(configs, "PROJECT_ROOT", copy)

    code, second = run_cli(tmp_path, args)
    assert code == 0, second["failure"]
    states = {row["component"]: row["state"] for row in second["components"]}
    assert states["DirectoryExampleGen"] == "ran", states
    assert states["ImportSchemaGen"] == "cached", states  # its key did not change: the rest of the cache holds
