"""The data half of the pipeline through run_local's CLI: schema gate, cache, clear refusals."""

from __future__ import annotations

import json

from pipeline import cli
from tests.helpers import make_corpus, states


def run(tmp_path, *args):
    summary = tmp_path / "summary.json"
    code = cli.main([*args, "--work-dir", str(tmp_path / "runs"), "--summary", str(summary), "--until", "validation"])
    return code, (json.loads(summary.read_text()) if summary.exists() else None)


def test_clean_corpus_validates_and_second_run_is_all_cached(tmp_path):
    root = make_corpus(tmp_path / "corpus")
    # A run name with a dot: component names must still read back whole from ML Metadata.
    code, first = run(tmp_path, "--data-dir", str(root), "--schema", "imdb", "--name", "tiny.v2")
    assert code == 0, first["failure"]
    assert set(states(first)) == {"DirectoryExampleGen", "ImportSchemaGen", "StatisticsGen", "StrictExampleValidator"}
    assert set(states(first).values()) == {"ran"}
    assert first["ingestion"]["documents"] == 120

    code, second = run(tmp_path, "--data-dir", str(root), "--schema", "imdb", "--name", "tiny.v2")
    assert code == 0
    assert states(second) == {name: "cached" for name in states(first)}


def test_label_outside_the_schema_domain_stops_the_pipeline(tmp_path, capsys):
    # Three classes against the IMDB schema (labels 0..1): label 2 is an anomaly.
    root = make_corpus(tmp_path / "corpus", classes=("a", "b", "c"))
    code, summary = run(tmp_path, "--data-dir", str(root), "--schema", "imdb")
    assert code == 1
    assert "DataAnomaliesError" in summary["failure"]
    assert "feature 'label'" in summary["failure"] and "split 'train'" in summary["failure"]
    assert states(summary)["StrictExampleValidator"] == "failed"
    assert "FAILED: DataAnomaliesError" in capsys.readouterr().err


def test_missing_corpus_is_refused_before_any_component(tmp_path, capsys):
    code, summary = run(tmp_path, "--data-dir", str(tmp_path / "nowhere"))
    assert code == 2 and summary is None
    assert f"corpus root {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err
