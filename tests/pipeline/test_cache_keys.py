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


def test_a_second_clone_of_the_project_serves_the_same_cache_and_reads_its_own_schema(tmp_path, monkeypatch):
    """The schema's parameter names it relative to the project root: a clone in another folder (or a moved one)
    keeps every cached artifact, and the importer reads the schema of the clone it runs in."""
    from components import project_root

    root = make_corpus(tmp_path / "corpus", n_train=12, n_test=6)
    runs = tmp_path / "runs"
    args = ["--data-dir", str(root), "--work-dir", str(runs), "--until", "validation"]  # the "generic" schema
    code, first = run_cli(tmp_path, args)
    assert code == 0, first["failure"]

    copy = tmp_path / "elsewhere" / "project"
    for part in ("components", "models", "pipeline", "schemas"):
        shutil.copytree(REPO / part, copy / part)
    monkeypatch.setattr(configs, "PROJECT_ROOT", copy)
    monkeypatch.setattr(configs, "SCHEMAS_DIR", copy / "schemas")
    monkeypatch.setattr(project_root, "PROJECT_ROOT", copy)

    code, second = run_cli(tmp_path, args)
    assert code == 0, second["failure"]
    states = {row["component"]: row["state"] for row in second["components"]}
    assert states["ImportSchemaGen"] == states["StatisticsGen"] == states["DirectoryExampleGen"] == "cached", states

    # An edit of the clone's schema is imported from the clone: the executor resolves the path there.
    schema = copy / "schemas" / "generic" / "schema.pbtxt"
    schema.write_text(schema.read_text() + "\n# edited in the second clone\n")
    code, third = run_cli(tmp_path, args)
    assert code == 0, third["failure"]
    states = {row["component"]: row["state"] for row in third["components"]}
    assert states["ImportSchemaGen"] == "ran", states
    imported = max(runs.glob("*/pipeline_root/ImportSchemaGen/schema/*/schema.pbtxt"), key=lambda p: int(p.parent.name))
    assert imported.read_text() == schema.read_text()
