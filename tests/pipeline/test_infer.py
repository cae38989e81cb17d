"""Batch inference (`python -m tools.infer`) on the shared tiny run: rows, probabilities, skips, lineage."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tensorflow as tf

from pipeline.recorded import mlmd
from tests.helpers import write_doc
from tools import infer, predictions
from tools import inspect as tc_inspect

GOOD = {
    "review.txt": "A wonderful, excellent film. Superb acting!",
    "nested/deeper/no extension": "Dull and boring, an awful waste of time.",
    "nested/latin1.txt": "Caf\xe9 scenes: excellent, superb, wonderful.".encode("latin-1"),
    "punctuation.txt": "... :-) --",  # no token once standardized
}


@pytest.fixture(scope="module")
def labelled(tiny_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("to_label")
    for rel, text in GOOD.items():
        write_doc(folder / rel, text)
    write_doc(folder / "empty.txt", "")
    write_doc(folder / "image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    write_doc(folder / ".DS_Store", b"\x00\x01")
    out = tmp_path_factory.mktemp("predictions") / "labels"
    args = [
        "--work-dir",
        str(tiny_run.base / "runs"),
        "--name",
        "corpus",
        "--data-dir",
        str(folder),
        "--output",
        str(out),
    ]
    return folder, out, args


def test_one_row_per_readable_file_with_the_served_models_probabilities(tiny_run, labelled, capsys):
    folder, out, args = labelled
    assert infer.main(args) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    assert [r["path"] for r in rows] == sorted(GOOD)
    version = sorted(p.name for p in tiny_run.serving.iterdir() if p.name.isdigit())[-1]
    assert {r["model_version"] for r in rows} == {version}
    model = tf.saved_model.load(str(tiny_run.serving / version))
    texts = [t.decode("latin-1") if isinstance(t, bytes) else t for t in (GOOD[r["path"]] for r in rows)]
    served = model.signatures["predict_text"](text=tf.constant(texts))
    expected = served["probabilities"].numpy()
    got = np.array([[r["probabilities"][c] for c in ("neg", "pos")] for r in rows])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert [r["class"] for r in rows] == [c.decode() for c in served["class_name"].numpy()]
    with open(out.with_suffix(".csv"), newline="") as f:
        table = list(csv.DictReader(f))
    assert [(t["path"], t["class"], float(t["p_pos"])) for t in table] == [
        (r["path"], r["class"], pytest.approx(r["probabilities"]["pos"], abs=1e-9)) for r in rows
    ]
    # Every file not labelled is named with its reason.
    # Every file is accounted for: labelled, or named with its reason; the fallback decoding and the text
    # without tokens are said.
    assert "labelled 4 of 7 files: " in captured.out
    assert "3 files not labelled" in captured.out
    for line in (
        "  .DS_Store: hidden file: not a document",
        "  empty.txt: empty or whitespace-only",
        "  image.png: binary file (NUL bytes)",
    ):
        assert line in captured.out
    assert "1 file was not UTF-8 and decoded as cp1252 (1): nested/latin1.txt" in captured.out
    assert "1 file had no tokens and was answered from the model's bias alone: punctuation.txt" in captured.out
    # The text without tokens: finite probabilities (the bias's), never NaN, marked by its token count.
    by_path = {r["path"]: r for r in rows}
    assert by_path["punctuation.txt"]["token_count"] == 0 and by_path["review.txt"]["token_count"] > 0
    assert (
        by_path["punctuation.txt"]["word_count"] == 0 and by_path["review.txt"]["word_count"] == 7
    )  # "!" is a term too
    assert 0 <= by_path["review.txt"]["oov_count"] <= 7 and table[0]["oov_count"] != ""
    assert np.all(np.isfinite(got))


def test_the_labelling_is_in_ml_metadata_and_lineage_names_the_folder(tiny_run, labelled, capsys):
    folder, _, _ = labelled  # the previous test ran the inference
    store = mlmd.sqlite_store(str(tiny_run.metadata))
    inferrer = [e for e in store.get_executions() if mlmd.node_name(store, e) == "BulkInferrer"]
    assert inferrer
    model = mlmd.input_artifacts(store, inferrer[-1].id)["model"][0]
    trainer = mlmd.producer(store, model.id)
    assert mlmd.node_name(store, trainer) == "Trainer"  # the trained artifact, not a copy
    version = sorted(p.name for p in tiny_run.serving.iterdir() if p.name.isdigit())[-1]
    capsys.readouterr()
    assert tc_inspect.main(["lineage", "--model", str(tiny_run.serving / version), "--json"]) == 0
    labelled_folders = json.loads(capsys.readouterr().out)["labelled"]
    assert [(entry["folder"], entry["documents"]) for entry in labelled_folders][-1] == (str(folder), 4)


def test_predictions_that_could_not_be_written_are_recorded_as_a_failure(tiny_run, labelled, capsys, monkeypatch):
    _, _, args = labelled

    def disk_full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(infer, "write_predictions", disk_full)
    assert infer.main(args) == 1
    assert "error: writing predictions to " in capsys.readouterr().err
    store = mlmd.sqlite_store(str(tiny_run.metadata))
    inferrers = [e for e in store.get_executions() if mlmd.node_name(store, e) == "BulkInferrer"]
    inferrer = max(inferrers, key=lambda e: e.id)
    assert mlmd.custom_property(inferrer, predictions.PREDICTIONS_PROPERTY).startswith("not written: ")
    assert tc_inspect.main(["runs", "--metadata", str(tiny_run.metadata)]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if "not written" in line]
    assert " inference " in line
    assert line.endswith("failed: predictions not written: [Errno 28] No space left on device")


def test_an_unknown_version_is_refused_listing_the_pushed_ones(tiny_run, labelled, capsys):
    _, _, args = labelled
    assert infer.main([*args, "--version", "42"]) == 2
    err = capsys.readouterr().err
    assert "--version 42: this run pushed no such version; pushed versions: " in err
    assert "Traceback" not in err


def test_a_missing_folder_is_refused_before_any_work(tiny_run, tmp_path, capsys):
    code = infer.main(
        ["--work-dir", str(tiny_run.base / "runs"), "--name", "corpus", "--data-dir", str(tmp_path / "nowhere")]
    )
    assert code == 2 and "no such folder" in capsys.readouterr().err


@pytest.mark.parametrize("content", [{}, {".hidden": "x", "sub/.DS_Store": "y"}])
def test_a_folder_with_nothing_to_label_is_refused_before_any_component(tiny_run, tmp_path, capsys, content):
    folder = tmp_path / "empty"
    folder.mkdir()
    for rel, text in content.items():
        write_doc(folder / rel, text)
    store = mlmd.sqlite_store(str(tiny_run.metadata))
    executions_before = len(store.get_executions())
    code = infer.main(["--work-dir", str(tiny_run.base / "runs"), "--name", "corpus", "--data-dir", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and f"--data-dir {folder}: no file to label" in err and "Traceback" not in err
    assert len(store.get_executions()) == executions_before  # no component started


def test_an_output_folder_gets_the_files_inside_it(tmp_path):
    from pipeline.configs import RunPaths

    folder, paths = tmp_path / "new-reviews", RunPaths(tmp_path, "run")
    (tmp_path / "out").mkdir()
    assert predictions.output_prefix(str(tmp_path / "out"), paths, folder) == tmp_path / "out" / "new-reviews"
    assert predictions.output_prefix(str(tmp_path / "later") + "/", paths, folder) == tmp_path / "later" / "new-reviews"
    assert predictions.output_prefix(str(tmp_path / "labels"), paths, folder) == tmp_path / "labels"
    assert predictions.output_prefix(None, paths, folder) == tmp_path / "run" / "predictions" / "new-reviews"
