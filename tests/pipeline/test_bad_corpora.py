"""Bad corpora through `run_local.py`: a clear message and exit code, or a reported skip; never a traceback.

Layout problems are refused before any component starts (exit 2, one line
naming the path and what to do). Files that are not clean documents are
skipped and listed, with the reason, in the ingestion report; the run goes on.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from pipeline import cli
from tests.helpers import feature, make_corpus, read_examples, run_cli, states, write_doc


def _emptied(split, cls):
    def empty(root):
        for p in (root / split / cls).iterdir():
            p.unlink()

    return empty


def _no_classes(root):
    for cls in ("neg", "pos"):
        shutil.rmtree(root / "train" / cls)
    write_doc(root / "train" / "README", "loose file, no class folders")


def _single_class(root):
    shutil.rmtree(root / "train" / "neg")


def _class_mismatch(root):
    (root / "test" / "pos").rename(root / "test" / "positive")


def _no_train(root):
    (root / "train").rename(root / "training")


def _class_beside_train(root):
    write_doc(root / "neutral" / "1.txt", "a class folder at the root beside train/")


def _one_file_class(root):
    for p in sorted((root / "train" / "pos").iterdir())[1:]:
        p.unlink()


def _validation_class_mismatch(root):
    shutil.copytree(root / "test", root / "val")
    (root / "val" / "neg").rename(root / "val" / "negative")


# (how to break a fresh corpus, the path the message must name, words it must hold)
LAYOUT_PROBLEMS = {
    "missing root": (None, "", "does not exist"),
    "no train folder": (_no_train, "", "has no 'train/' folder"),
    "no class folders": (_no_classes, "train", "holds no class folders"),
    "single class": (_single_class, "train", "a classifier needs at least two classes"),
    "empty class folder in train": (_emptied("train", "pos"), "train/pos", "has no documents; add documents"),
    "empty class folder in test": (_emptied("test", "neg"), "test/neg", "has no documents; add documents"),
    "train and test classes differ": (_class_mismatch, "test", "only in train: ['pos']; only in test: ['positive']"),
    "class folder beside train/": (_class_beside_train, "", "and other folders (neutral/) beside them"),
    "class of one file": (_one_file_class, "train/pos", "would have no documents in some split"),
    "validation classes differ": (
        _validation_class_mismatch,
        "val",
        "only in train: ['neg']; only in val: ['negative']",
    ),
}


@pytest.mark.parametrize("problem", sorted(LAYOUT_PROBLEMS))
def test_layout_problem_stops_before_any_component_with_the_path(tmp_path, capsys, problem):
    breaker, named_path, words = LAYOUT_PROBLEMS[problem]
    root = tmp_path / "corpus"
    if breaker is not None:
        make_corpus(root, n_train=4, n_test=2)
        breaker(root)
    code = cli.main(["--data-dir", str(root), "--work-dir", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert str(root / named_path) in err and words in err, err
    assert "Traceback" not in out + err
    assert not (tmp_path / "runs" / "corpus" / "pipeline_root").exists()  # nothing started


def test_each_kind_of_bad_file_is_skipped_and_reported_and_the_rest_ingested(tmp_path, capsys):
    root = make_corpus(tmp_path / "corpus", n_train=20, n_test=10)
    pos, neg = root / "train" / "pos", root / "train" / "neg"
    # Read: other encodings, nested folders, odd names.
    write_doc(pos / "latin1.txt", "Un film génial, très émouvant", encoding="latin-1")
    write_doc(neg / "utf16.txt", "Ein furchtbar langweiliger Film".encode("utf-16"))  # with BOM
    write_doc(pos / "2019" / "nested" / "deep.txt", "a nested wonderful film")
    write_doc(pos / "name with spaces.txt", "spaces in the name, great film")
    write_doc(neg / "crème brûlée ünïcode.txt", "non-ASCII name, dull film")
    write_doc(neg / "no_extension", "no extension, boring film")
    write_doc(pos / "punctuation.txt", "... :-) --")  # words, but no token once standardized: read
    read_extra = 7
    # Skipped, each with its reason.
    write_doc(pos / "empty.txt", "")
    write_doc(pos / "blank.txt", " \n\t\n")
    write_doc(neg / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write_doc(neg / "markup.html", "<br /><br /><p></p>")  # no word: word_count 0 would fail validation
    with open(pos / "huge.txt", "wb") as f:  # 50 MB, over the default max_file_bytes (1 MiB)
        f.write(b"word " * (10 * 1024 * 1024))
    os.symlink(pos / "loop_a.txt", pos / "loop_b.txt")
    os.symlink(pos / "loop_b.txt", pos / "loop_a.txt")
    os.symlink(write_doc(tmp_path / "outside.txt", "not part of the corpus"), neg / "escape.txt")
    write_doc(root / "train" / "README.md", "a loose file beside the class folders")
    write_doc(root / "README", "a loose file at the root: outside train/ and test/, never listed")

    code, summary = run_cli(
        tmp_path, ["--data-dir", str(root), "--work-dir", str(tmp_path / "runs"), "--until", "validation"]
    )
    out = capsys.readouterr().out
    assert code == 0, summary["failure"]
    assert set(states(summary).values()) == {"ran"}  # the validator passed too
    ingestion = summary["ingestion"]
    report = json.loads(Path(ingestion["report"]).read_text())
    assert {(s["path"], s["reason"]) for s in report["skipped"]} == {
        ("train/pos/empty.txt", "empty or whitespace-only"),
        ("train/pos/blank.txt", "empty or whitespace-only"),
        ("train/neg/image.txt", "binary file (NUL bytes)"),
        ("train/neg/markup.html", "no words: nothing but HTML markup"),
        ("train/pos/huge.txt", f"too large: {50 * 1024 * 1024} bytes > max_file_bytes {1 << 20}"),
        ("train/pos/loop_a.txt", "link loop"),
        ("train/pos/loop_b.txt", "link loop"),
        ("train/neg/escape.txt", "link leads outside the corpus root"),
        ("train/README.md", "not inside a class folder"),
    }
    assert report["decoded_with_fallback"] == [
        {"path": "train/neg/utf16.txt", "encoding": "utf-16"},
        {"path": "train/pos/latin1.txt", "encoding": "cp1252"},
    ]
    assert ingestion["documents"] == 2 * (20 + 10) + read_extra
    assert f"ingested {ingestion['documents']} documents, 9 files skipped, 2 decoded with a fallback" in out
    texts = set()
    for split in ("train", "eval"):
        texts |= {
            feature(ex, "text")[0].decode()
            for ex in read_examples(str(Path(ingestion["examples_uri"]) / f"Split-{split}" / "*"))
        }
    assert {
        "Un film génial, très émouvant",
        "Ein furchtbar langweiliger Film",
        "a nested wonderful film",
        "spaces in the name, great film",
        "non-ASCII name, dull film",
        "no extension, boring film",
        "... :-) --",
    } <= texts


def test_class_whose_files_are_all_unreadable_fails_naming_it_and_why(tmp_path, capsys):
    root = make_corpus(tmp_path / "corpus", n_train=20, n_test=4)
    for p in (root / "test" / "pos").iterdir():
        p.write_bytes(b"  \n")
    code, summary = run_cli(
        tmp_path, ["--data-dir", str(root), "--work-dir", str(tmp_path / "runs"), "--until", "validation"]
    )
    err = capsys.readouterr().err
    assert code == 1
    failure = summary["failure"]
    assert "class(es) ['pos'] have no documents in split 'test'" in failure and str(root) in failure
    # TFX removes a failed execution's outputs: the message itself lists what was skipped.
    assert "files skipped there: empty or whitespace-only: 4 (test/pos/" in failure
    assert f"FAILED: {failure}" in err and "Traceback" not in err
    assert list(states(summary).values()) == ["failed"]


@pytest.mark.parametrize(
    "flags, named",
    [
        (("--vocab-size", "2"), "--vocab-size (TransformConfig.vocab_size) must be at least 3"),
        (("--batch-size", "0"), "--batch-size (TrainConfig.batch_size) must be at least 1"),
        (("--learning-rate", "-1"), "--learning-rate (TrainConfig.learning_rate) must be positive"),
        (("--max-len", "-1"), "--max-len (TransformConfig.max_len) must be at least 0 (0 keeps the whole document)"),
        (
            ("--embedding-learning-rate", "0"),
            "--embedding-learning-rate (TrainConfig.embedding_learning_rate) must be positive",
        ),
        (("--eval-percent", "100"), "eval_percent"),
        (("--schema", "no-such-schema"), "no curated schema 'no-such-schema'"),
        (("--schema", "missing.pbtxt"), "--schema missing.pbtxt: no such file"),
        (("--min-accuracy", "2"), "--min-accuracy (EvaluationConfig.min_accuracy) must be between 0 and 1, got 2.0"),
        (("--min-accuracy", "-1"), "--min-accuracy (EvaluationConfig.min_accuracy) must be between 0 and 1"),
        (
            ("--max-accuracy-drop", "-0.5"),
            "--max-accuracy-drop (EvaluationConfig.max_accuracy_drop) must be between 0 and 1",
        ),
    ],
)
def test_bad_setting_stops_before_any_component_naming_it(tmp_path, capsys, flags, named):
    root = make_corpus(tmp_path / "corpus", n_train=4, n_test=2)
    code = cli.main(["--data-dir", str(root), "--work-dir", str(tmp_path / "runs"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and named in err, err
    assert not (tmp_path / "runs" / "corpus" / "pipeline_root").exists()


@pytest.mark.parametrize(
    "flag, value, choices",
    [("--pooling", "max", "'mean', 'sqrtn'"), ("--embedding-optimizer", "sgd", "'adam', 'adagrad'")],
)
def test_a_value_outside_a_knobs_choices_is_refused_by_the_flag_listing_them(tmp_path, capsys, flag, value, choices):
    root = make_corpus(tmp_path / "corpus", n_train=4, n_test=2)
    with pytest.raises(SystemExit) as exited:
        cli.main(["--data-dir", str(root), "--work-dir", str(tmp_path / "runs"), flag, value])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and f"argument {flag}: invalid choice: '{value}' (choose from {choices})" in err
    assert not (tmp_path / "runs").exists()


def test_epochs_zero_is_run_with_a_warning_before_anything_starts():
    from pipeline import run_request

    args = cli.parse_args(["--data-dir", "x", "--epochs", "0"])
    [line] = run_request.notices(run_request.resolve(args, None))
    assert line.startswith("warning: --epochs 0: the model is exported untrained")
    assert run_request.notices(run_request.resolve(cli.parse_args(["--data-dir", "x"]), None)) == []
