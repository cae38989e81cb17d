"""DirectoryExampleGen's executor on generated corpora: splits, labels, report, determinism."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from google.protobuf import message
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components.example_gen import corpus_layout, example_io
from components.example_gen.corpus_layout import CorpusError
from components.example_gen.directory_example_gen import DirectoryExampleGen, Executor
from components.example_gen.settings import IngestConfig
from pipeline.pipeline import ingest_settings
from tests.helpers import examples_by_split, feature, make_corpus, read_records, write_doc


def run_example_gen(root: Path, out: Path, layout=corpus_layout.TRAIN_AND_TEST, beam_args=None, **ingest):
    component = DirectoryExampleGen(input_base=str(root), settings=ingest_settings(IngestConfig(**ingest), layout))
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


def test_fingerprints_from_worker_processes_give_the_same_records_and_report(corpus, tmp_path):
    """Batches of 2 files: enough batches for the fingerprint workers (a few are fingerprinted inline)."""
    assert len(list((corpus / "train").rglob("*.txt"))) >= 2 * example_io.MIN_BATCHES_FOR_WORKERS
    run_example_gen(corpus, tmp_path / "inline")
    run_example_gen(corpus, tmp_path / "workers", read_batch_size=2)
    assert examples_by_split(tmp_path / "inline") == examples_by_split(tmp_path / "workers")
    for name in ("ingestion_report.json", "class_names.json"):
        assert (tmp_path / "inline" / name).read_text() == (tmp_path / "workers" / name).read_text()


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

    from components.example_gen.example_io import ReadBatches, _listing_digest
    from components.example_gen.listing import scan_split_folder

    lister = functools.partial(scan_split_folder, corpus, "test", ["neg", "pos"], [("test", 100)], 1 << 20)
    docs, _ = lister()
    ReadBatches(lister, str(corpus / "test"), _listing_digest(docs), 500, 1 << 20).setup()  # unchanged: fine
    write_doc(corpus / "test" / "pos" / "added_10.txt", "a review added while the run was reading")
    with pytest.raises(CorpusError, match=r"test changed while the run was reading it"):
        ReadBatches(lister, str(corpus / "test"), _listing_digest(docs), 500, 1 << 20).setup()


def test_planted_duplicates_are_found_and_counted_in_the_report(corpus, tmp_path):
    """Two test files copied from train under other names, one test file with two words of 150 changed (word
    5-gram Jaccard about 0.87), and one text under both labels: the report counts each and lists every group
    with its files; the conflict is dropped (the default), and the test records with a twin in train carry
    seen_in_train = 1."""
    import random

    from components.example_gen.corpus_layout import split_cuts
    from components.example_gen.fingerprints import fingerprint
    from components.example_gen.listing import split_for

    rng = random.Random(5)
    vocabulary = [f"dup{i}" for i in range(300)]
    cuts = split_cuts(IngestConfig().eval_percent, None)

    def text_in_train(*variants) -> list[str]:
        """A 150-word text (and its variants) whose group key the plan sends to train, not eval."""
        while True:
            text = " ".join(rng.choice(vocabulary) for _ in range(150))
            texts = [text] + [v(text) for v in variants]
            if split_for(min(fingerprint("", "", 0, t).key for t in texts), cuts) == "train":
                return texts

    def two_words_changed(text: str) -> str:
        words = text.split()
        return " ".join(words[:70] + ["quite", "another"] + words[72:])

    (a,) = text_in_train()
    (b,) = text_in_train()
    c, c_near = text_in_train(two_words_changed)
    write_doc(corpus / "train" / "pos" / "8001_9.txt", a)
    write_doc(corpus / "test" / "pos" / "8101_9.txt", a.upper())  # case differs: still exact
    write_doc(corpus / "train" / "neg" / "8201_2.txt", b)
    write_doc(corpus / "test" / "neg" / "8102_2.txt", b + " !!!")  # punctuation only: exact
    write_doc(corpus / "train" / "pos" / "8301_8.txt", c)
    write_doc(corpus / "test" / "pos" / "8103_8.txt", c_near)
    d = " ".join(rng.choice(vocabulary) for _ in range(150))
    write_doc(corpus / "train" / "pos" / "8401_7.txt", d)
    write_doc(corpus / "train" / "neg" / "8501_1.txt", d)  # the same text under both labels
    run_example_gen(corpus, tmp_path / "out")
    report = json.loads((tmp_path / "out" / "ingestion_report.json").read_text())
    found = report["duplicates"]
    assert found["test_with_train_twin_exact"] == 2
    assert found["test_with_train_twin_near"] == 1
    assert found["label_conflicts"] == 1 and found["label_conflict_documents_dropped"] == 2
    assert found["test_seen_in_train"] == ["test/neg/8102_2.txt", "test/pos/8101_9.txt", "test/pos/8103_8.txt"]
    (conflict,) = found["label_conflict_groups"]
    assert sorted((m["path"], m["class"]) for m in conflict) == [
        ("train/neg/8501_1.txt", "neg"),
        ("train/pos/8401_7.txt", "pos"),
    ]
    splits = examples_by_split(tmp_path / "out")
    kept = [feature(r, "text")[0] for s in splits.values() for r in s]
    assert d.encode() not in kept and report["documents"] == len(kept) == 120 + 6
    seen = sorted(feature(r, "text")[0] for r in splits["test"] if feature(r, "seen_in_train")[0] == 1)
    assert seen == sorted(t.encode() for t in (a.upper(), b + " !!!", c_near))
    assert all(feature(r, "seen_in_train") == [0] for r in splits["eval"])


def test_label_conflicts_stop_the_run_with_fail_and_stay_with_keep(corpus, tmp_path):
    write_doc(corpus / "test" / "pos" / "9001_9.txt", "one text under two labels, said twice over")
    write_doc(corpus / "test" / "neg" / "9002_1.txt", "One text under two labels; said twice over!")
    with pytest.raises(
        CorpusError,
        match=r"1 label conflict\(s\) in .*test/neg/9002_1.txt \(neg\) / "
        r"test/pos/9001_9.txt \(pos\).*--on-label-conflict drop",
    ):
        run_example_gen(corpus, tmp_path / "fail", on_label_conflict="fail")
    run_example_gen(corpus, tmp_path / "keep", on_label_conflict="keep")
    report = json.loads((tmp_path / "keep" / "ingestion_report.json").read_text())
    assert report["splits"]["test"] == {"neg": 21, "pos": 21}
    assert report["duplicates"]["label_conflicts"] == 1
    assert report["duplicates"]["label_conflict_documents_dropped"] == 0


def test_in_a_root_class_corpus_every_copy_lands_in_its_originals_split(tmp_path):
    """Copies under other names (a renamed copy of every fifth file), written in two orders: each text in one
    split, and both orders give the same records."""
    source = make_corpus(tmp_path / "c", n_train=60, with_test=False)
    for i, path in enumerate(sorted((source / "train").rglob("*.txt"))):
        if i % 5 == 0:
            write_doc(path.with_name(f"renamed {path.name}"), path.read_bytes())
    roots = [_flatten_to_root(source, order) for order in ("sorted", "reversed")]
    layout = corpus_layout.Layout(corpus_layout.ROOT)
    for name, root in zip(("a", "b"), roots, strict=True):
        run_example_gen(root, tmp_path / name, layout=layout)
    splits = examples_by_split(tmp_path / "a")
    assert splits == examples_by_split(tmp_path / "b")
    where: dict[bytes, set[str]] = {}
    for split, records in splits.items():
        for r in records:
            where.setdefault(feature(r, "text")[0], set()).add(split)
    assert sum(len(r) for r in splits.values()) == 120 + 24
    assert all(len(s) == 1 for s in where.values())
    report = json.loads((tmp_path / "a" / "ingestion_report.json").read_text())
    assert sum(report["duplicates"]["within"].values()) == 24
