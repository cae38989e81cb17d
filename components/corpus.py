"""Reading a directory corpus: its layout, classes, files, documents.

Pure Python with no Beam or TFX, so every policy here is unit-tested directly.

Layouts (`detect_layout`; anything else is refused with the folders named):

| layout                                   | train / eval / test come from                         |
|------------------------------------------|-------------------------------------------------------|
| `ROOT/train/<class>/`, `ROOT/test/<class>/` | train/ (hash split into train + eval), test/        |
| the same with `val/` (`valid/`, `validation/`, `dev/`, or `--eval-dir NAME`) | train/, the validation folder, test/ |
| `ROOT/train/<class>/` alone              | train/, hash split three ways                         |
| `ROOT/<class>/` (what `text_dataset_from_directory` reads) | the root, hash split three ways      |

Hash splits key on the file's path inside its folder: the same on every run,
machine and listing order.

Policy for what is not a clean document (each skipped file is reported with
its reason; nothing is dropped silently):

| what                                   | policy                                        |
|----------------------------------------|-----------------------------------------------|
| hidden file or folder (`.DS_Store`)    | skipped: not a document                       |
| file beside the class folders (README) | skipped: not inside a class folder            |
| nested folder inside a class           | read: its files belong to that class          |
| link to a file inside the root         | read through the link                          |
| link leading outside the root          | skipped                                       |
| broken link, link loop                 | skipped                                       |
| link to a folder                       | skipped: not followed (avoids loops)          |
| larger than `max_file_bytes`           | skipped                                       |
| NUL bytes (binary), no UTF-16 BOM      | skipped                                       |
| UTF-8 / UTF-16 with BOM                | decoded                                       |
| not valid UTF-8                        | decoded as cp1252, else latin-1; counted      |
| empty or whitespace-only after decoding| skipped                                       |
| nothing but HTML markup (`<br /><p>`)  | skipped: no words (word_count would be 0)     |
| words, but no token once standardized (`!!! :-)`) | read: trained and evaluated; the model answers it from its bias alone (models/model.py) |

Text is stored as UTF-8: for a UTF-8 file these are the bytes as read.
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import posixpath
import re
import stat
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import tensorflow as tf

from components import decoding
from components.decoding import SkipDocument, decode_document
from models import features as feature_names

_RATING_RE = re.compile(r"^\d+_(\d+)\.[A-Za-z0-9]+$")  # IMDB: <id>_<rating>.txt

TRAIN, EVAL, TEST = "train", "eval", "test"
# The split folders a corpus may have, by name.
TRAIN_DIR, TEST_DIR = "train", "test"
EVAL_DIR_NAMES = ("val", "valid", "validation", "dev")
ROOT = "."  # the split folder of a corpus whose class folders are the root's own

# Upper bounds (exclusive) of the document-length slices TFMA reports on.
LENGTH_BUCKETS = (100, 250, 500)


def length_bucket(words: int) -> str:
    """'0-99', '100-249', '250-499', '500+': a slice key, since TFMA slices on feature values."""
    lower = 0
    for upper in LENGTH_BUCKETS:
        if words < upper:
            return f"{lower}-{upper - 1}"
        lower = upper
    return f"{lower}+"


class CorpusError(ValueError):
    """The corpus cannot be used as it is; the message names the path and what to do."""


@dataclasses.dataclass(frozen=True)
class Skipped:
    path: str  # relative to the corpus root
    reason: str


@dataclasses.dataclass(frozen=True)
class Document:
    path: str  # absolute path to read
    rel: str  # path relative to the corpus root, '/'-separated
    label: int
    split: str  # output split the file goes to


def _visible_subdirs(folder: Path) -> List[str]:
    return sorted(
        e.name for e in os.scandir(folder)
        if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
    )


@dataclasses.dataclass(frozen=True)
class Layout:
    """Which folder of the root each output split is read from (None: a hash split of the training folder)."""

    train_dir: str  # ROOT when the class folders are directly under the root
    eval_dir: Optional[str] = None
    test_dir: Optional[str] = None

    def folders(self) -> List[str]:
        return [f for f in (self.train_dir, self.eval_dir, self.test_dir) if f]

    def source_folder(self, split: str) -> str:
        """The folder an output split is read from (hash splits share the training folder)."""
        return {EVAL: self.eval_dir, TEST: self.test_dir}.get(split) or self.train_dir

    def cuts_for(self, folder: str, eval_percent: int, test_percent: int) -> List[Tuple[str, int]]:
        """How the files of `folder` are spread over output splits."""
        if folder == self.test_dir:
            return [(TEST, 100)]
        if folder == self.eval_dir:
            return [(EVAL, 100)]
        return split_cuts(None if self.eval_dir else eval_percent, None if self.test_dir else test_percent)

    def describe(self, eval_percent: int, test_percent: int) -> str:
        """One line for the run's start and the ingestion report."""
        source, of = ("the root's class folders", "them") if self.train_dir == ROOT else (f"{self.train_dir}/",) * 2
        parts = [f"train from {source}"]
        for split, folder, percent in ((EVAL, self.eval_dir, eval_percent), (TEST, self.test_dir, test_percent)):
            parts.append(f"{split} from {folder}/" if folder else f"{split} {percent}% of {of} (hash split)")
        return "layout: " + ", ".join(parts)


# The layout most corpora ship with (IMDB, Stack Overflow).
TRAIN_AND_TEST = Layout(TRAIN_DIR, test_dir=TEST_DIR)


def _folder_list(names: Iterable[str]) -> str:
    return ", ".join(f"{n}/" for n in names)


def detect_layout(root: Path, eval_dir: Optional[str] = None,
                  exclude_dirs: Sequence[str] = ()) -> Tuple[Layout, List[str]]:
    """The corpus's layout and class names; CorpusError naming the folders when it has none or several.

    `eval_dir`: the validation folder's name, when it is not one of
    EVAL_DIR_NAMES (or several of those exist). Folders in `exclude_dirs` are
    ignored beside the split folders as inside them.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"corpus root {root} does not exist or is not a folder; "
                          f"pass the folder that holds {TRAIN_DIR}/ (and {TEST_DIR}/), or the class folders")
    subdirs = [d for d in _visible_subdirs(root) if d not in exclude_dirs]
    if eval_dir is not None:
        if eval_dir not in subdirs:
            raise CorpusError(f"--eval-dir {eval_dir}: {root} has no '{eval_dir}/' folder "
                              f"(folders there: {_folder_list(subdirs) or 'none'})")
        evals = [eval_dir]
    else:
        evals = [d for d in subdirs if d in EVAL_DIR_NAMES]
    if TRAIN_DIR in subdirs:
        if len(evals) > 1:
            raise CorpusError(f"{root} holds several validation folders ({_folder_list(evals)}); "
                              "name the one to use with --eval-dir NAME")
        others = [d for d in subdirs if d not in (TRAIN_DIR, TEST_DIR, *evals)]
        if others:
            raise CorpusError(
                f"{root} holds split folders ({_folder_list(d for d in subdirs if d not in others)}) and other "
                f"folders ({_folder_list(others)}) beside them: are those classes or not? Move class folders "
                f"into {root / TRAIN_DIR}/, or leave a folder out with --exclude-dir NAME")
        layout = Layout(TRAIN_DIR, evals[0] if evals else None, TEST_DIR if TEST_DIR in subdirs else None)
    else:
        split_dirs = [d for d in (TEST_DIR, *evals) if d in subdirs]
        if split_dirs or not subdirs:
            raise CorpusError(
                f"{root} has no '{TRAIN_DIR}/' folder{f' but has {_folder_list(split_dirs)}' if split_dirs else ''}"
                f"; the layout is {root}/{TRAIN_DIR}/<class>/<file> (optionally with {TEST_DIR}/ and val/ "
                f"beside it), or {root}/<class>/<file>")
        layout = Layout(ROOT)
    classes = discover_classes(root, layout.train_dir, exclude_dirs)
    for folder in (layout.eval_dir, layout.test_dir):
        if folder:
            check_same_classes(root, layout.train_dir, folder, classes, exclude_dirs)
    return layout, classes


def class_folder(folder: str, name: str) -> str:
    """'train/pos/', or 'pos/' for ROOT: the prefix of a class's files' paths relative to the root."""
    return posixpath.normpath(f"{folder}/{name}") + "/"


def discover_classes(root: Path, train_dir: str, exclude_dirs: Sequence[str] = ()) -> List[str]:
    """Class names: the sub-folders of the training folder (ROOT: of the root), sorted (label = index)."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"corpus root {root} does not exist or is not a folder; "
                          "pass the folder that holds train/ (and test/)")
    train = root / train_dir
    if not train.is_dir():
        raise CorpusError(f"{root} has no '{train_dir}/' folder; the layout is "
                          f"{root}/{train_dir}/<class>/<file> (and optionally test/<class>/<file>)")
    classes = [c for c in _visible_subdirs(train) if c not in exclude_dirs]
    if not classes:
        raise CorpusError(f"{train} holds no class folders; put each class's documents in "
                          f"{train}/<class>/")
    if len(classes) < 2:
        raise CorpusError(f"{train} holds a single class folder ('{classes[0]}'); a classifier "
                          "needs at least two classes")
    return classes


def check_same_classes(root: Path, train_dir: str, test_dir: str, classes: Sequence[str],
                       exclude_dirs: Sequence[str] = ()) -> None:
    """`test_dir` (or a validation folder) holds the classes of `train_dir`, no more, no fewer."""
    test = Path(root) / test_dir
    test_classes = [c for c in _visible_subdirs(test) if c not in exclude_dirs]
    if list(test_classes) != list(classes):
        only_train = sorted(set(classes) - set(test_classes))
        only_test = sorted(set(test_classes) - set(classes))
        raise CorpusError(
            f"class folders differ between {Path(root) / train_dir} and {test}: "
            f"only in {train_dir}: {only_train or 'none'}; only in {test_dir}: {only_test or 'none'}. "
            "Both splits must hold the same classes."
        )


def check_classes_have_files(root: Path, folder: str, classes: Sequence[str]) -> None:
    """Refuses a class folder with no file at all: cheap (stops at the first file), so run before any work.

    Run after check_same_classes (every class folder exists). A class whose
    files are all unreadable is caught later, when they are read.
    """
    for name in classes:
        class_dir = Path(root) / folder / name
        has_file = any(not f.startswith(".") for _, _, files in os.walk(class_dir) for f in files)
        if not has_file:
            raise CorpusError(f"class folder {class_dir} has no documents; add documents to it, "
                              "or remove the folder if it is not a class")


def check_every_split_gets_each_class(root: Path, layout: Layout, classes: Sequence[str], eval_percent: int,
                                     test_percent: int, max_file_bytes: int, exclude_dirs: Sequence[str] = ()) -> None:
    """Refuses, from the listing alone (no file is read), a class that some split would get no file of.

    A hash split gives each split its share of a class's files by a hash of
    their paths, so a class of one or two files leaves a split without it,
    and ExampleGen would fail only after reading the whole corpus. Files
    refused when they are read (empty, binary) are caught then
    (directory_example_gen.check_nothing_empty).
    """
    counts: Dict[Tuple[str, int], int] = {}
    for folder in layout.folders():
        docs, _ = scan_split_folder(root, folder, classes, layout.cuts_for(folder, eval_percent, test_percent),
                                    max_file_bytes, exclude_dirs)
        for doc in docs:
            counts[(doc.split, doc.label)] = counts.get((doc.split, doc.label), 0) + 1
    for split in (TRAIN, EVAL, TEST):
        folder = layout.source_folder(split)
        for label, name in enumerate(classes):
            if counts.get((split, label), 0):
                continue
            where = Path(root) / class_folder(folder, name)
            listed = sum(n for (other, lab), n in counts.items() if lab == label and layout.source_folder(other) == folder)
            if folder == layout.train_dir and split != TRAIN:
                percent = eval_percent if split == EVAL else test_percent
                raise CorpusError(
                    f"class '{name}' would have no documents in split '{split}': {where} holds {listed} readable "
                    f"file(s), and the {split} split takes {percent}% of them by a hash of each file's path. "
                    f"Add documents to that class (a few dozen give every split its share), "
                    f"or give the corpus a {split} folder of its own")
            raise CorpusError(f"class '{name}' has no readable file in {where} for split '{split}'; "
                              "add documents to it (every file there was skipped at listing: too large, a link)")


def fingerprint_folder(root: Path, folder: str) -> str:
    """A cache key for the files under `root/folder`, whatever their depth, in any listing order.

    Every entry's path, size and modification time (nanoseconds), links
    resolved where they can be: editing, adding, removing, renaming or moving
    a file between class folders changes it. Unlike TFX's default (a glob of
    `folder/*/*`), it sees nested files and does not fail on a link loop.
    """
    base = Path(root) / folder
    entries = []
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in filenames + links:
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
                entry = f"{st.st_size}:{st.st_mtime_ns}"
            except OSError:  # broken link or link loop: its own target is the fact that matters
                entry = f"unresolved:{os.readlink(full) if os.path.islink(full) else ''}"
            entries.append(f"{Path(os.path.relpath(full, base)).as_posix()}\t{entry}")
    digest = hashlib.sha256("\n".join(sorted(entries)).encode("utf-8", "surrogateescape")).hexdigest()
    return f"folder:{folder},files:{len(entries)},sha256:{digest}"


def hash_bucket(key: str, buckets: int = 100) -> int:
    """A bucket from a stable hash of `key` (same on every run, machine and Python)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % buckets


def split_for(rel_in_split: str, cuts: Sequence[Tuple[str, int]]) -> str:
    """`cuts` is [(split, upper bucket bound)...] in order, last bound 100."""
    bucket = hash_bucket(rel_in_split)
    for split, upper in cuts:
        if bucket < upper:
            return split
    raise AssertionError(f"cuts {cuts} do not cover bucket {bucket}")


def _within(path: str, root_real: str) -> bool:
    return path == root_real or path.startswith(root_real + os.sep)


def scan_split_folder(
    root: Path,
    folder: str,
    classes: Sequence[str],
    cuts: Sequence[Tuple[str, int]],
    max_file_bytes: int,
    exclude_dirs: Sequence[str] = (),
) -> Tuple[List[Document], List[Skipped]]:
    """Lists the documents of `root/folder/<class>/...` and the files it will not read."""
    root = Path(root)
    base = root / folder
    docs: List[Document] = []
    skipped: List[Skipped] = []

    def rel(p: str) -> str:
        return Path(os.path.relpath(p, root)).as_posix()

    for entry in sorted(os.scandir(base), key=lambda e: e.name):
        if entry.name in classes and entry.is_dir(follow_symlinks=False):
            continue
        if entry.name in exclude_dirs:
            skipped.append(Skipped(rel(entry.path) + "/", "folder excluded by configuration"))
        elif entry.name.startswith("."):
            skipped.append(Skipped(rel(entry.path), "hidden file or folder: not a document"))
        elif entry.is_dir(follow_symlinks=False):
            skipped.append(Skipped(rel(entry.path) + "/", f"folder is not a class of {classes}"))
        else:
            skipped.append(Skipped(rel(entry.path), "not inside a class folder"))

    for label, name in enumerate(classes):
        _walk_files(root, base / name, label, lambda rel_in_split: split_for(rel_in_split, cuts), base,
                    max_file_bytes, docs, skipped)
    return docs, skipped


UNLABELLED = "unlabelled"  # the one split of a folder of texts to label
NO_LABEL = -1


def scan_unlabelled(root: Path, max_file_bytes: int) -> Tuple[List[Document], List[Skipped]]:
    """Every file under `root`, at any depth, with the file policy of a class folder (label NO_LABEL)."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"{root} does not exist or is not a folder; pass the folder of texts to label")
    docs: List[Document] = []
    skipped: List[Skipped] = []
    _walk_files(root, root, NO_LABEL, lambda _: UNLABELLED, root, max_file_bytes, docs, skipped)
    return docs, skipped


def _walk_files(root: Path, start: Path, label: int, split_of, base: Path, max_file_bytes: int,
                docs: List[Document], skipped: List[Skipped]) -> None:
    """Appends the documents under `start` (sorted, at any depth) and the files it will not read, with why."""
    root_real = os.path.realpath(root)

    def rel(p: str) -> str:
        return Path(os.path.relpath(p, root)).as_posix()

    for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
        for d in sorted(dirnames):
            full = os.path.join(dirpath, d)
            if d.startswith("."):
                skipped.append(Skipped(rel(full) + "/", "hidden folder: not read"))
            elif os.path.islink(full):
                skipped.append(Skipped(rel(full), "link to a folder: not followed"))
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and not os.path.islink(os.path.join(dirpath, d)))
        for f in sorted(filenames):
            full = os.path.join(dirpath, f)
            relpath = rel(full)
            if f.startswith("."):
                skipped.append(Skipped(relpath, "hidden file: not a document"))
                continue
            reason = _unreadable_reason(full, root_real, max_file_bytes)
            if reason:
                skipped.append(Skipped(relpath, reason))
                continue
            docs.append(Document(full, relpath, label, split_of(Path(os.path.relpath(full, base)).as_posix())))


def _unreadable_reason(full: str, root_real: str, max_file_bytes: int) -> Optional[str]:
    """Why the file at `full` is not read, from its metadata alone; None if it is read."""
    if os.path.islink(full):
        try:
            os.stat(full)
        except OSError as err:
            if err.errno == errno.ELOOP:
                return "link loop"
            return "broken link"
        if not _within(os.path.realpath(full), root_real):
            return "link leads outside the corpus root"
    try:
        st = os.stat(full)
    except OSError as err:
        return f"cannot stat: {err.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_size > max_file_bytes:
        return f"too large: {st.st_size} bytes > max_file_bytes {max_file_bytes}"
    return None


def make_example(text: bytes, label: int, filename: str, path: Optional[str] = None) -> tf.train.Example:
    """The features every later step sees; the slicing features are computed here once.

    A document to label (NO_LABEL) has no label feature and carries its `path`
    (relative to the folder) instead, so a prediction can name its file.
    """
    words = decoding.word_count(text)
    feats = {
        feature_names.TEXT_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text])),
        feature_names.WORD_COUNT_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[words])),
        feature_names.LENGTH_BUCKET_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[length_bucket(words).encode()])),
        feature_names.HAS_HTML_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(decoding.has_html(text))])),
    }
    if label == NO_LABEL:
        feats[feature_names.PATH_KEY] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[path.encode("utf-8")]))
    else:
        feats[feature_names.LABEL_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
    match = _RATING_RE.match(filename)
    if match:
        feats[feature_names.RATING_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(match.group(1))]))
    return tf.train.Example(features=tf.train.Features(feature=feats))


def read_documents(docs: Iterable[Document], max_file_bytes: int):
    """Yields ('example', split, label, serialized) | ('skipped', Skipped) | ('fallback', rel, encoding)."""
    for doc in docs:
        try:
            with open(doc.path, "rb") as f:
                data = f.read(max_file_bytes + 1)
            if len(data) > max_file_bytes:
                raise SkipDocument(f"too large: over max_file_bytes {max_file_bytes}")
            text, encoding = decode_document(data)
            encoded = text.encode("utf-8")
            if decoding.word_count(encoded) == 0:
                raise SkipDocument(decoding.NO_WORDS)
        except SkipDocument as skip:
            yield ("skipped", Skipped(doc.rel, skip.args[0]))
            continue
        except OSError as err:
            yield ("skipped", Skipped(doc.rel, f"cannot read: {err.strerror or err}"))
            continue
        if encoding not in ("utf-8", "utf-8-sig"):
            yield ("fallback", doc.rel, encoding)
        example = make_example(encoded, doc.label, os.path.basename(doc.path), doc.rel)
        # deterministic=True: feature maps serialize in key order, so the same
        # corpus gives byte-identical records on every run.
        yield ("example", doc.split, doc.label, example.SerializeToString(deterministic=True))


def split_cuts(eval_percent: Optional[int], test_percent: Optional[int]) -> List[Tuple[str, int]]:
    """Bucket bounds for the training folder: [train | eval | test], without the splits that have a folder (None)."""
    cuts, upper = [], 100
    for split, percent in ((TEST, test_percent), (EVAL, eval_percent)):
        if percent is not None:
            cuts.insert(0, (split, upper))
            upper -= percent
    return [(TRAIN, upper)] + cuts


def count_table(counts: Dict[Tuple[str, int], int], classes: Sequence[str], splits: Sequence[str]) -> Dict:
    return {s: {c: counts.get((s, i), 0) for i, c in enumerate(classes)} for s in splits}
