"""Corpus listing and reading policies (components/example_gen/corpus.py), without Beam or TFX."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from components.example_gen import corpus, corpus_layout, folder_fingerprint, listing, records
from tests.helpers import feature, make_corpus, write_doc

CUTS = corpus_layout.split_cuts(20, None)


def scan(root: Path, folder="train", classes=("neg", "pos"), max_bytes=1 << 20, exclude=()):
    return listing.scan_split_folder(root, folder, list(classes), CUTS, max_bytes, exclude)


def read_all(docs, max_bytes=1 << 20):
    out = {"example": [], "skipped": [], "fallback": []}
    for item in corpus.read_documents(docs, max_bytes):
        out[item[0]].append(item[1:])
    return out


def test_classes_are_sorted_folder_names_and_labels_their_index(tmp_path):
    root = make_corpus(tmp_path / "c", classes=("pos", "neg", "java"), n_train=2, n_test=1)
    assert corpus_layout.discover_classes(root, "train") == ["java", "neg", "pos"]
    docs, _ = scan(root, classes=["java", "neg", "pos"])
    assert {(d.rel.split("/")[1], d.label) for d in docs} == {("java", 0), ("neg", 1), ("pos", 2)}


def test_excluded_and_hidden_folders_are_not_classes(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=2, n_test=1)
    write_doc(root / "train" / "unsup" / "0_0.txt", "unlabelled")
    (root / "train" / ".ipynb_checkpoints").mkdir()
    assert corpus_layout.discover_classes(root, "train", exclude_dirs=("unsup",)) == ["neg", "pos"]
    _, skipped = scan(root, exclude=("unsup",))
    assert listing.Skipped("train/unsup/", "folder excluded by configuration") in skipped


def test_listing_is_independent_of_the_order_files_were_written_and_leaves_the_cut_to_the_plan(tmp_path):
    a = make_corpus(tmp_path / "a", n_train=200, n_test=1)
    docs_a, _ = scan(a)
    # The same files written in the reverse order: a different directory order on disk.
    b = tmp_path / "b"
    for d in reversed(docs_a):
        write_doc(b / d.rel, Path(d.path).read_bytes())
    docs_b, _ = scan(b)
    assert [(d.rel, d.label) for d in docs_a] == [(d.rel, d.label) for d in docs_b]
    # train/ is cut into train and eval by content, once read (components/example_gen/split_plan.py).
    assert {d.split for d in docs_a} == {listing.PENDING}
    assert {d.split for d in scan(a, folder="test", classes=("neg", "pos"))[0]} == {listing.PENDING}  # CUTS: 2 splits
    # A fixed key always lands in the same bucket (regression guard for the hash itself).
    assert (
        listing.hash_bucket("pos/0_9.txt") == listing.hash_bucket("pos/0_9.txt") == 65
    )  # int(sha256(key)[:8 bytes]) % 100


def test_three_way_split_when_there_is_no_test_folder():
    cuts = corpus_layout.split_cuts(10, 20)
    assert cuts == [("train", 70), ("eval", 80), ("test", 100)]
    splits = {listing.split_for(f"c/{i}.txt", cuts) for i in range(200)}
    assert splits == {"train", "eval", "test"}


@pytest.mark.parametrize("problem", ["missing root", "no train", "no classes", "single class"])
def test_unusable_layouts_are_refused_with_the_path(tmp_path, problem):
    root = tmp_path / "c"
    if problem != "missing root":
        root.mkdir()
    if problem in ("no classes", "single class"):
        write_doc(root / "train" / "README", "loose")
    if problem == "single class":
        write_doc(root / "train" / "only" / "1.txt", "one class")
    expected = {
        "missing root": "does not exist",
        "no train": "has no 'train/' folder",
        "no classes": "holds no class folders",
        "single class": "needs at least two classes",
    }[problem]
    with pytest.raises(corpus_layout.CorpusError, match=expected) as err:
        corpus_layout.detect_layout(root)
    assert str(root) in str(err.value)


def test_train_test_class_mismatch_names_both_sides(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=2, n_test=1)
    (root / "test" / "pos").rename(root / "test" / "positive")
    with pytest.raises(corpus_layout.CorpusError, match=r"only in train: \['pos'\]; only in test: \['positive'\]"):
        corpus_layout.check_same_classes(root, "train", "test", ["neg", "pos"])


def test_each_bad_file_kind_is_skipped_with_its_reason(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=3, n_test=1)
    pos = root / "train" / "pos"
    write_doc(pos / "empty.txt", "")
    write_doc(pos / "blank.txt", "  \n\t \n")
    write_doc(pos / "binary.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write_doc(pos / "huge.txt", "word " * 300)
    write_doc(pos / ".DS_Store", b"\x00\x01")
    write_doc(root / "train" / "README.md", "about this corpus")
    outside = write_doc(tmp_path / "outside.txt", "secret outside the corpus")
    os.symlink(outside, pos / "escape.txt")
    os.symlink(pos / "loop_a.txt", pos / "loop_b.txt")
    os.symlink(pos / "loop_b.txt", pos / "loop_a.txt")
    os.symlink(pos / "gone.txt", pos / "dangling.txt")
    os.symlink(root / "train" / "neg", pos / "neg_link")

    docs, skipped = scan(root, max_bytes=1000)
    read = read_all(docs, max_bytes=1000)
    reasons = {s.path: s.reason for s in skipped + [r[0] for r in read["skipped"]]}
    assert reasons == {
        "train/pos/empty.txt": "empty or whitespace-only",
        "train/pos/blank.txt": "empty or whitespace-only",
        "train/pos/binary.bin": "binary file (NUL bytes)",
        "train/pos/huge.txt": "too large: 1500 bytes > max_file_bytes 1000",
        "train/pos/.DS_Store": "hidden file: not a document",
        "train/README.md": "not inside a class folder",
        "train/pos/escape.txt": "link leads outside the corpus root",
        "train/pos/loop_a.txt": "link loop",
        "train/pos/loop_b.txt": "link loop",
        "train/pos/dangling.txt": "broken link",
        "train/pos/neg_link": "link to a folder: not followed",
    }
    assert len(read["example"]) == 6  # the clean documents, all of them


def test_link_inside_the_root_is_read(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=1, n_test=1)
    target = next((root / "train" / "neg").iterdir())
    os.symlink(target, root / "train" / "pos" / "alias.txt")
    docs, skipped = scan(root)
    assert not skipped and any(d.rel == "train/pos/alias.txt" for d in docs)


def test_encodings_are_decoded_and_fallbacks_counted(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=1, n_test=1)
    pos = root / "train" / "pos"
    write_doc(pos / "latin1.txt", "Un film génial, très émouvant", encoding="latin-1")
    write_doc(pos / "utf16.txt", "Ein großartiger Film".encode("utf-16"))  # with BOM
    write_doc(pos / "bom8.txt", "\ufeffa fine film".encode("utf-8"))
    write_doc(pos / "plain.txt", "naïve café film")
    docs, _ = scan(root)
    read = read_all(docs)
    fallback = dict(read["fallback"])
    assert fallback == {"train/pos/latin1.txt": "cp1252", "train/pos/utf16.txt": "utf-16"}
    texts = {feature(__import__("tensorflow").train.Example.FromString(r[2]), "text")[0] for r in read["example"]}
    assert "Un film génial, très émouvant".encode() in texts
    assert "Ein großartiger Film".encode() in texts
    assert b"a fine film" in texts
    assert "naïve café film".encode() in texts


def test_nested_folders_names_with_spaces_and_no_extension_are_documents(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=1, n_test=1)
    write_doc(root / "train" / "pos" / "2019" / "deep" / "nested review", "a nested good film")
    write_doc(root / "train" / "pos" / "crème brûlée.md", "a sweet film")
    docs, skipped = scan(root)
    rels = {d.rel: d.label for d in docs}
    assert rels["train/pos/2019/deep/nested review"] == 1
    assert rels["train/pos/crème brûlée.md"] == 1
    assert not skipped


def test_the_listing_is_the_same_for_an_absolute_a_relative_and_a_dot_root(tmp_path, monkeypatch):
    """Relative paths are cut from the root's prefix, or computed by os.path.relpath where no prefix matches."""
    root = make_corpus(tmp_path / "c", n_train=3, n_test=1)
    write_doc(root / "train" / "pos" / "deeper" / "a b.txt", "nested words here")
    absolute = scan(root)
    monkeypatch.chdir(tmp_path)
    assert (
        scan(Path("c"))
        == scan(Path("./c/"))
        == (
            [listing.Document(os.path.join("c", d.rel), d.rel, d.label, d.split) for d in absolute[0]],
            absolute[1],
        )
    )
    monkeypatch.chdir(root)
    assert [(d.rel, d.split) for d in scan(Path("."))[0]] == [(d.rel, d.split) for d in absolute[0]]
    assert folder_fingerprint.fingerprint_folder(Path("."), "train") == folder_fingerprint.fingerprint_folder(
        root, "train"
    )
    assert "train/pos/deeper/a b.txt" in [d.rel for d in absolute[0]]


def test_example_features(tmp_path):
    ex = records.make_example(b"Great film!<br /><br />Loved it", 1, "123_9.txt")
    assert feature(ex, "label") == [1]
    assert feature(ex, "word_count") == [4]
    assert feature(ex, "has_html") == [1]
    assert feature(ex, "rating") == [9]
    assert feature(ex, "length_bucket") == [b"0-99"]
    assert [records.length_bucket(n) for n in (0, 99, 100, 249, 250, 499, 500, 10**6)] == [
        "0-99",
        "0-99",
        "100-249",
        "100-249",
        "250-499",
        "250-499",
        "500+",
        "500+",
    ]
    plain = records.make_example(b"if a < b and c > d", 0, "42.txt")
    assert feature(plain, "has_html") == [0]
    assert "rating" not in plain.features.feature


def test_input_fingerprint_sees_nested_files_moves_and_survives_link_loops(tmp_path):
    """ExampleGen's cache key: any change to the corpus files changes it; listing order does not."""
    root = make_corpus(tmp_path / "c", n_train=3, n_test=1)
    nested = write_doc(root / "train" / "pos" / "2019" / "deep.txt", "nested")
    os.symlink(root / "train" / "pos" / "loop_a", root / "train" / "pos" / "loop_b")
    os.symlink(root / "train" / "pos" / "loop_b", root / "train" / "pos" / "loop_a")
    first = folder_fingerprint.fingerprint_folder(root, "train")
    assert first == folder_fingerprint.fingerprint_folder(root, "train")

    st = nested.stat()
    nested.write_text("NESTED")  # same size and time: only the content differs...
    os.utime(nested, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # ...and the clock ticked
    assert folder_fingerprint.fingerprint_folder(root, "train") != first

    second = folder_fingerprint.fingerprint_folder(root, "train")
    moved = next((root / "train" / "pos").glob("*_*.txt"))
    os.rename(moved, root / "train" / "neg" / moved.name)  # same bytes and times, other class
    assert folder_fingerprint.fingerprint_folder(root, "train") != second

    # The same files and times written in another order: the same key.
    a, b = tmp_path / "a", tmp_path / "b"
    files = sorted(p for p in (root / "train").rglob("*") if p.is_file() and not p.is_symlink())
    for target, order in ((a, files), (b, list(reversed(files)))):
        for p in order:
            copy = write_doc(target / "train" / p.relative_to(root / "train"), p.read_bytes())
            os.utime(copy, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns))
    assert folder_fingerprint.fingerprint_folder(a, "train") == folder_fingerprint.fingerprint_folder(b, "train")


def test_class_folders_directly_under_the_root_are_a_layout(tmp_path):
    root = tmp_path / "c"
    for cls in ("spam", "ham"):
        write_doc(root / cls / "1.txt", f"a {cls} message")
    write_doc(root / "LICENSE", "not a document")
    layout, classes = corpus_layout.detect_layout(root)
    assert layout == corpus_layout.Layout(corpus_layout.ROOT) and classes == ["ham", "spam"]
    assert layout.cuts_for(corpus_layout.ROOT, 20, 20) == [("train", 60), ("eval", 80), ("test", 100)]
    docs, skipped = listing.scan_split_folder(root, corpus_layout.ROOT, classes, layout.cuts_for(".", 20, 20), 1 << 20)
    assert sorted(d.rel for d in docs) == ["ham/1.txt", "spam/1.txt"]
    assert skipped == [listing.Skipped("LICENSE", "not inside a class folder")]


@pytest.mark.parametrize("name", corpus_layout.EVAL_DIR_NAMES)
def test_a_validation_folder_is_found_by_its_usual_names(tmp_path, name):
    root = make_corpus(tmp_path / "c", n_train=2, n_test=1)
    shutil.copytree(root / "test", root / name)
    layout, _ = corpus_layout.detect_layout(root)
    assert layout == corpus_layout.Layout("train", name, "test")
    assert layout.cuts_for("train", 20, 20) == [("train", 100)]
    assert [layout.source_folder(s) for s in ("train", "eval", "test")] == ["train", name, "test"]


def test_a_validation_folder_of_another_name_is_named_by_flag(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=2, n_test=1, with_test=False)
    shutil.copytree(root / "train", root / "holdout")
    with pytest.raises(corpus_layout.CorpusError, match=r"other folders \(holdout/\).*--exclude-dir"):
        corpus_layout.detect_layout(root)
    assert corpus_layout.detect_layout(root, eval_dir="holdout")[0] == corpus_layout.Layout("train", "holdout", None)
    with pytest.raises(corpus_layout.CorpusError, match=r"--eval-dir heldout: .* has no 'heldout/' folder"):
        corpus_layout.detect_layout(root, eval_dir="heldout")


AMBIGUOUS = {
    # (how to make the root ambiguous, words of the message)
    "class folders beside train/": (
        lambda r: write_doc(r / "pos" / "1.txt", "x"),
        r"split folders \(test/, train/\) and other folders \(pos/\)",
    ),
    "two validation folders": (
        lambda r: [shutil.copytree(r / "test", r / n) for n in ("dev", "val")],
        r"several validation folders \(dev/, val/\); name the one to use with --eval-dir",
    ),
    "test/ without train/": (lambda r: shutil.rmtree(r / "train"), r"has no 'train/' folder but has test/"),
    "validation classes differ": (
        lambda r: write_doc(r / "val" / "neutral" / "1.txt", "x"),
        r"only in train: \['neg', 'pos'\]; only in val: \['neutral'\]",
    ),
}


@pytest.mark.parametrize("problem", sorted(AMBIGUOUS))
def test_ambiguous_roots_are_refused_naming_the_folders(tmp_path, problem):
    make_ambiguous, words = AMBIGUOUS[problem]
    root = make_corpus(tmp_path / "c", n_train=2, n_test=1)
    make_ambiguous(root)
    with pytest.raises(corpus_layout.CorpusError, match=words) as err:
        corpus_layout.detect_layout(root)
    assert str(root) in str(err.value)


def test_excluded_folders_are_ignored_beside_the_split_folders_too(tmp_path):
    root = make_corpus(tmp_path / "c", n_train=2, n_test=1)
    write_doc(root / "unsup" / "1.txt", "unlabelled")
    assert corpus_layout.detect_layout(root, exclude_dirs=("unsup",))[0] == corpus_layout.TRAIN_AND_TEST


def test_a_folder_is_listed_once_until_an_entry_is_added_removed_or_renamed(tmp_path, monkeypatch):
    root = make_corpus(tmp_path / "c", n_train=3, n_test=1)
    write_doc(root / "train" / "pos" / "deeper" / "a.txt", "nested words here")
    listed_folders = []
    scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: listed_folders.append(str(path)) or scandir(path))

    def scan():
        docs, skipped = listing.scan_split_folder(root, "train", ["neg", "pos"], [("train", 100)], 1 << 20)
        return sorted(d.rel for d in docs), skipped

    first = scan()
    walks = len(listed_folders)
    assert walks >= 4 and scan() == first and len(listed_folders) == walks  # the same listing, not listed again
    first[0].append("not a file")  # a caller's copy
    assert scan()[0] == sorted(d for d in first[0] if d != "not a file")

    changes = [
        lambda: write_doc(root / "train" / "pos" / "deeper" / "b.txt", "added words"),
        lambda: (root / "train" / "pos" / "deeper" / "a.txt").unlink(),
        lambda: sorted((root / "train" / "neg").iterdir())[0].rename(root / "train" / "neg" / "renamed.txt"),
    ]
    for change in changes:
        before = scan()[0]
        change()
        after = scan()[0]
        assert after != before and len(listed_folders) > walks
        walks = len(listed_folders)
    assert "train/pos/deeper/b.txt" in after and "train/pos/deeper/a.txt" not in after
    assert "train/neg/renamed.txt" in after


def test_one_relative_root_in_two_working_folders_is_two_listings(tmp_path, monkeypatch):
    make_corpus(tmp_path / "a" / "c", n_train=3, n_test=1)
    make_corpus(tmp_path / "b" / "c", n_train=3, n_test=1)
    write_doc(tmp_path / "b" / "c" / "train" / "pos" / "only in b.txt", "words of b")

    def scan():
        docs, _ = listing.scan_split_folder(Path("c"), "train", ["neg", "pos"], [("train", 100)], 1 << 20)
        return [d.rel for d in docs]

    monkeypatch.chdir(tmp_path / "a")
    in_a = scan()
    monkeypatch.chdir(tmp_path / "b")
    assert set(scan()) == set(in_a) | {"train/pos/only in b.txt"}
