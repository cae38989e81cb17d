"""DirectoryExampleGen's executor on generated corpora: splits, labels, report, determinism."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from google.protobuf import message
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components import corpus_layout
from components.corpus import CorpusError
from components.directory_example_gen import DirectoryExampleGen, Executor
from pipeline import configs
from pipeline.pipeline import ingest_settings
from tests.helpers import examples_by_split, feature, make_corpus, read_records, write_doc


def run_example_gen(root: Path, out: Path, layout=corpus_layout.TRAIN_AND_TEST, beam_args=None, **ingest):
    component = DirectoryExampleGen(
        input_base=str(root), settings=ingest_settings(configs.IngestConfig(**ingest), layout)
    )
    exec_properties = {
        k: proto_utils.proto_to_json(v) if isinstance(v, message.Message) else v
        for k, v in component.exec_properties.items()
    }
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    context = Executor.Context(beam_pipeline_args=beam_args) if beam_args else None
    Executor(context).Do({}, {"examples": [examples]}, exec_properties)
    return examples


def texts_and_labels(records):
    return sorted((feature(r, "text")[0], feature(r, "label")[0]) for r in records)


def test_splits_labels_and_class_names(corpus, tmp_path):
    artifact = run_example_gen(corpus, tmp_path / "out")
    splits = examples_by_split(tmp_path / "out")
    assert json.loads((tmp_path / "out" / "class_names.json").read_text()) == ["neg", "pos"]
    assert json.loads(artifact.get_string_custom_property("class_names")) == ["neg", "pos"]

    # train + eval is exactly the training folder, test exactly the test folder.
    def folder_docs(split):
        return sorted((p.read_bytes(), ["neg", "pos"].index(p.parent.name)) for p in (corpus / split).rglob("*.txt"))

    assert texts_and_labels(splits["train"] + splits["eval"]) == folder_docs("train")
    assert texts_and_labels(splits["test"]) == folder_docs("test")
    assert 0 < len(splits["eval"]) < len(splits["train"])

    report = json.loads((tmp_path / "out" / "ingestion_report.json").read_text())
    assert report["documents"] == 120 and report["skipped"] == []
    assert report["splits"]["test"] == {"neg": 20, "pos": 20}
    assert sum(report["splits"]["train"].values()) == len(splits["train"])
    assert not (tmp_path / "out" / "_ingestion_parts").exists()


def test_two_runs_write_identical_records(corpus, tmp_path):
    run_example_gen(corpus, tmp_path / "a")
    run_example_gen(corpus, tmp_path / "b")
    for split in ("train", "eval", "test"):
        a = read_records(str(tmp_path / "a" / f"Split-{split}" / "*"))
        assert a and a == read_records(str(tmp_path / "b" / f"Split-{split}" / "*"))


def test_corpus_without_test_folder_gets_a_hash_split(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=60, with_test=False)
    run_example_gen(root, tmp_path / "out", layout=corpus_layout.Layout("train"), eval_percent=20, test_percent=20)
    splits = examples_by_split(tmp_path / "out")
    assert sum(len(s) for s in splits.values()) == 120
    assert all(len(s) > 10 for s in splits.values())
    seen = [feature(r, "text")[0] for s in splits.values() for r in s]
    assert len(seen) == len(set(seen))  # no document in two splits


def _flatten_to_root(root: Path, order) -> Path:
    """`root/train/<class>/<file>` rewritten as `<class>/<file>` under a new root, files created in `order`."""
    flat = root.parent / f"{root.name}-flat-{order}"
    files = sorted((root / "train").rglob("*.txt"))
    for path in reversed(files) if order == "reversed" else files:
        write_doc(flat / path.relative_to(root / "train"), path.read_bytes())
    write_doc(flat / "README.md", "a corpus card, not a document")
    return flat


def test_class_folders_at_the_root_are_split_three_ways_the_same_in_any_listing_order(tmp_path):
    source = make_corpus(tmp_path / "c", n_train=60, with_test=False)
    roots = [_flatten_to_root(source, order) for order in ("sorted", "reversed")]
    layout, classes = corpus_layout.detect_layout(roots[0])
    assert (layout, classes) == (corpus_layout.Layout(corpus_layout.ROOT), ["neg", "pos"])
    artifact = run_example_gen(roots[0], tmp_path / "a", layout=layout)
    run_example_gen(roots[1], tmp_path / "b", layout=layout)
    for split in ("train", "eval", "test"):
        a = read_records(str(tmp_path / "a" / f"Split-{split}" / "*"))
        assert len(a) > 10 and a == read_records(str(tmp_path / "b" / f"Split-{split}" / "*"))
    # The same files split the same way as under train/ of a corpus without test/.
    run_example_gen(source, tmp_path / "nested", layout=corpus_layout.Layout("train"))
    assert examples_by_split(tmp_path / "a") == examples_by_split(tmp_path / "nested")
    report = json.loads((tmp_path / "a" / "ingestion_report.json").read_text())
    assert report["skipped"] == [{"path": "README.md", "reason": "not inside a class folder"}]
    assert (
        report["layout"]
        == artifact.get_string_custom_property("layout")
        == ("layout: train from the root's class folders, eval 20% of them (hash split), test 20% of them (hash split)")
    )


def test_a_validation_folder_is_the_eval_split(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=30, n_test=10)
    for cls in ("neg", "pos"):
        write_doc(root / "dev" / cls / f"dev_{cls}.txt", f"a validation document of class {cls}")
    layout, _ = corpus_layout.detect_layout(root)
    assert layout == corpus_layout.Layout("train", "dev", "test")
    run_example_gen(root, tmp_path / "out", layout=layout)
    splits = examples_by_split(tmp_path / "out")
    assert texts_and_labels(splits["eval"]) == [
        (b"a validation document of class neg", 0),
        (b"a validation document of class pos", 1),
    ]
    assert len(splits["train"]) == 60 and len(splits["test"]) == 20  # all of train/: no hash split
    report = json.loads((tmp_path / "out" / "ingestion_report.json").read_text())
    assert report["layout"] == "layout: train from train/, eval from dev/, test from test/"


def test_a_corpus_laid_out_otherwise_than_the_pipeline_was_built_for_is_refused(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=5, n_test=2)
    write_doc(root / "val" / "neg" / "1.txt", "added after the pipeline was built")
    write_doc(root / "val" / "pos" / "1.txt", "added after the pipeline was built")
    with pytest.raises(
        CorpusError,
        match=r"built for layout: train from train/, eval 20% of train/ \(hash split\), "
        r"test from test/, but the folder now has layout: train from train/, "
        r"eval from val/, test from test/; build the pipeline again",
    ):
        run_example_gen(root, tmp_path / "out", layout=corpus_layout.TRAIN_AND_TEST)


def test_report_lists_each_planted_bad_file(corpus, tmp_path):
    pos = corpus / "train" / "pos"
    write_doc(pos / "empty.txt", "")
    write_doc(pos / "binary.dat", b"\x00\x01\x02garbage")
    write_doc(pos / "latin1.txt", "très bon film", encoding="latin-1")
    write_doc(pos / "big.txt", "x" * 5000)
    write_doc(corpus / "test" / "neg" / ".DS_Store", b"\x00")
    write_doc(corpus / "README", "top-level readme")  # outside train/ and test/: not listed
    os.symlink(corpus.parent / "elsewhere.txt", corpus / "test" / "neg" / "escape.txt")
    write_doc(corpus.parent / "elsewhere.txt", "outside")

    run_example_gen(corpus, tmp_path / "out", max_file_bytes=4096)
    report = json.loads((tmp_path / "out" / "ingestion_report.json").read_text())
    assert {(s["path"], s["reason"]) for s in report["skipped"]} == {
        ("train/pos/empty.txt", "empty or whitespace-only"),
        ("train/pos/binary.dat", "binary file (NUL bytes)"),
        ("train/pos/big.txt", "too large: 5000 bytes > max_file_bytes 4096"),
        ("test/neg/.DS_Store", "hidden file: not a document"),
        ("test/neg/escape.txt", "link leads outside the corpus root"),
    }
    assert report["decoded_with_fallback"] == [{"path": "train/pos/latin1.txt", "encoding": "cp1252"}]
    assert report["documents"] == 121  # 120 clean + the Latin-1 one


def test_class_with_only_bad_files_fails_naming_it(corpus, tmp_path):
    for p in (corpus / "test" / "pos").iterdir():
        p.write_bytes(b"   ")
    with pytest.raises(CorpusError, match=r"class\(es\) \['pos'\] have no documents in split 'test'"):
        run_example_gen(corpus, tmp_path / "out")


def test_empty_class_folder_fails_before_reading(corpus, tmp_path):
    for p in (corpus / "train" / "neg").iterdir():
        p.unlink()
    with pytest.raises(CorpusError, match=r"class folder .*train/neg has no documents"):
        run_example_gen(corpus, tmp_path / "out")


def test_a_folder_changed_while_reading_fails_the_run(corpus):
    import functools

    from components.corpus import scan_split_folder
    from components.example_io import ReadBatches, _listing_digest

    lister = functools.partial(scan_split_folder, corpus, "test", ["neg", "pos"], [("test", 100)], 1 << 20)
    docs, _ = lister()
    ReadBatches(lister, str(corpus / "test"), _listing_digest(docs), 500, 1 << 20).setup()  # unchanged: fine
    write_doc(corpus / "test" / "pos" / "added_10.txt", "a review added while the run was reading")
    with pytest.raises(CorpusError, match=r"test changed while the run was reading it"):
        ReadBatches(lister, str(corpus / "test"), _listing_digest(docs), 500, 1 << 20).setup()


def test_planted_duplicates_are_found_and_counted_in_the_report(corpus, tmp_path):
    """Two test files copied from train under other names, one test file with two words of 150 changed (word
    5-gram Jaccard about 0.87), and one text under both labels: the report counts each, and lists every group
    with its files."""
    import random

    rng = random.Random(5)
    vocabulary = [f"dup{i}" for i in range(300)]

    def long_text() -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(150))

    from components.corpus import split_for
    from components.corpus_layout import split_cuts

    def in_train(cls: str, stem: int, rating: int) -> str:  # a name the hash split sends to train, not eval
        cuts = split_cuts(configs.IngestConfig().eval_percent, None)
        return next(
            f"{n}_{rating}.txt"
            for n in range(stem, stem + 100)
            if split_for(f"{cls}/{n}_{rating}.txt", cuts) == "train"
        )

    planted = [long_text() for _ in range(4)]
    names = {
        key: in_train(cls, stem, r)
        for key, cls, stem, r in [
            ("a", "pos", 8001, 9),
            ("b", "neg", 8201, 2),
            ("c", "pos", 8301, 8),
            ("d", "pos", 8401, 7),
            ("e", "neg", 8501, 1),
        ]
    }
    write_doc(corpus / "train" / "pos" / names["a"], planted[0])
    write_doc(corpus / "test" / "pos" / "8101_9.txt", planted[0].upper())  # case differs: still exact
    write_doc(corpus / "train" / "neg" / names["b"], planted[1])
    write_doc(corpus / "test" / "neg" / "8102_2.txt", planted[1] + " !!!")  # punctuation only: exact
    words = planted[2].split()
    write_doc(corpus / "train" / "pos" / names["c"], planted[2])
    write_doc(corpus / "test" / "pos" / "8103_8.txt", " ".join(words[:70] + ["quite", "another"] + words[72:]))
    write_doc(corpus / "train" / "pos" / names["d"], planted[3])
    write_doc(corpus / "train" / "neg" / names["e"], planted[3])  # the same text under both labels
    run_example_gen(corpus, tmp_path / "out")
    found = json.loads((tmp_path / "out" / "ingestion_report.json").read_text())["duplicates"]
    assert found["test_with_train_twin_exact"] == 2
    assert found["test_with_train_twin_near"] == 1
    assert found["label_conflicts"] == 1
    assert found["test_seen_in_train"] == ["test/neg/8102_2.txt", "test/pos/8101_9.txt", "test/pos/8103_8.txt"]
    (conflict,) = found["label_conflict_groups"]
    assert sorted((m["path"], m["class"]) for m in conflict) == [
        (f"train/neg/{names['e']}", "neg"),
        (f"train/pos/{names['d']}", "pos"),
    ]
