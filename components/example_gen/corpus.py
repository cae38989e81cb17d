"""Reading a directory corpus: its files (listing, hash splits, fingerprint) and its documents (examples).

The layouts and class folders are components/example_gen/corpus_layout.py.

No Beam or TFX (TensorFlow only through records.make_example), so every policy here is unit-tested directly.

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
| words, no token once standardized     | read: trained, evaluated, answered by the bias |

Text is stored as UTF-8: for a UTF-8 file these are the bytes as read.
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import hashlib
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from components.example_gen import decoding
from components.example_gen.corpus_layout import TRAIN, CorpusError, Layout, class_folder
from components.example_gen.decoding import SkipDocument, decode_document
from components.example_gen.records import NO_LABEL, make_example


@dataclasses.dataclass(frozen=True)
class Skipped:
    path: str  # relative to the corpus root
    reason: str


@dataclasses.dataclass(frozen=True)
class Document:
    path: str  # absolute path to read
    rel: str  # path relative to the corpus root, '/'-separated
    label: int
    split: str  # output split the file goes to; PENDING in a folder cut into several (split_plan decides)


def check_every_split_gets_each_class(
    root: Path,
    layout: Layout,
    classes: Sequence[str],
    eval_percent: int,
    test_percent: int,
    max_file_bytes: int,
    exclude_dirs: Sequence[str] = (),
) -> None:
    """Refuses, from the listing alone (no file is read), a class that some split cannot get a file of.

    A folder cut into N splits (by a hash of each document's content, known only
    once it is read) gives a class of fewer than N files no document in some
    split, and ExampleGen would fail only after reading the whole corpus. A small
    class that the hash happens to leave out of a split, and files refused when
    they are read (empty, binary), are caught then
    (directory_example_gen.check_nothing_empty).
    """
    for folder in layout.folders():
        cuts = layout.cuts_for(folder, eval_percent, test_percent)
        docs, _ = scan_split_folder(root, folder, classes, cuts, max_file_bytes, exclude_dirs)
        listed = collections.Counter(doc.label for doc in docs)
        for label, name in enumerate(classes):
            if listed[label] >= len(cuts):
                continue
            where = Path(root) / class_folder(folder, name)
            if len(cuts) == 1:
                raise CorpusError(
                    f"class '{name}' has no readable file in {where} for split '{cuts[0][0]}'; "
                    "add documents to it (every file there was skipped at listing: too large, a link)"
                )
            shares = ", ".join(
                f"{split} {upper - lower}%" for (split, upper), lower in zip(cuts, _lowers(cuts), strict=True)
            )
            held_out = [split for split, _ in cuts if split != TRAIN]
            raise CorpusError(
                f"class '{name}' would have no documents in some split: {where} holds {listed[label]} readable "
                f"file(s), and {len(cuts)} splits ({shares}) take a share of them by a hash of each document. "
                "Add documents to that class (a few dozen give every split its share), "
                f"or give the corpus its own {' and '.join(held_out)} folder"
            )


def _lowers(cuts: Sequence[tuple[str, int]]) -> list[int]:
    return [0] + [upper for _, upper in cuts[:-1]]


def fingerprint_folder(root: Path, folder: str) -> str:
    """A cache key for the files under `root/folder`, whatever their depth, in any listing order.

    Every entry's path, size and modification time (nanoseconds), links
    resolved where they can be: editing, adding, removing, renaming or moving
    a file between class folders changes it. Unlike TFX's default (a glob of
    `folder/*/*`), it sees nested files and does not fail on a link loop.
    """
    base = Path(root) / folder
    rel = _relative_to(base)
    entries = []

    def visit(path: str) -> None:  # os.walk's folders (links to folders not followed), one stat per entry
        try:
            with os.scandir(path) as listing:
                found = list(listing)
        except OSError:
            return
        for entry in found:
            if _is_folder(entry) and not entry.is_symlink():
                visit(entry.path)
                continue
            try:  # a file, or a link: to a file, to a folder, broken, a loop
                st = entry.stat()
                fact = f"{st.st_size}:{st.st_mtime_ns}"
            except OSError:  # broken link or link loop: its own target is the fact that matters
                fact = f"unresolved:{os.readlink(entry.path) if entry.is_symlink() else ''}"
            entries.append(f"{rel(entry.path)}\t{fact}")

    visit(str(base))
    digest = hashlib.sha256("\n".join(sorted(entries)).encode("utf-8", "surrogateescape")).hexdigest()
    return f"folder:{folder},files:{len(entries)},sha256:{digest}"


def hash_bucket(key: str, buckets: int = 100) -> int:
    """A bucket from a stable hash of `key` (same on every run, machine and Python)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % buckets


PENDING = ""  # the split of a document in a folder cut into several, until components/example_gen/split_plan.py decides


def split_for(key: str, cuts: Sequence[tuple[str, int]]) -> str:
    """`cuts` is [(split, upper bucket bound)...] in order, last bound 100."""
    bucket = hash_bucket(key)
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
    cuts: Sequence[tuple[str, int]],
    max_file_bytes: int,
    exclude_dirs: Sequence[str] = (),
) -> tuple[list[Document], list[Skipped]]:
    """Lists the documents of `root/folder/<class>/...` and the files it will not read."""
    root = Path(root)
    base = root / folder
    docs: list[Document] = []
    skipped: list[Skipped] = []

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

    only = cuts[0][0] if len(cuts) == 1 else PENDING
    for label, name in enumerate(classes):
        _walk_files(
            root,
            base / name,
            label,
            lambda _: only,
            base,
            max_file_bytes,
            docs,
            skipped,
        )
    return docs, skipped


UNLABELLED = "unlabelled"  # the one split of a folder of texts to label


def scan_unlabelled(root: Path, max_file_bytes: int) -> tuple[list[Document], list[Skipped]]:
    """Every file under `root`, at any depth, with the file policy of a class folder (label NO_LABEL)."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"{root} does not exist or is not a folder; pass the folder of texts to label")
    docs: list[Document] = []
    skipped: list[Skipped] = []
    _walk_files(root, root, NO_LABEL, lambda _: UNLABELLED, root, max_file_bytes, docs, skipped)
    return docs, skipped


def _relative_to(folder: Path):
    """A function of a path under `folder` (as os.walk of a subfolder of `folder` gives it): the path relative to
    `folder`, '/'-separated. The prefix is cut off rather than os.path.relpath'd: relpath makes both paths
    absolute on each call, and IMDB's listing called it 100,000 times (bench/NOTES.md, "Listing a corpus")."""
    prefix = os.path.join(str(folder), "")

    def rel(path: str) -> str:
        if path.startswith(prefix):
            return path[len(prefix) :].replace(os.sep, "/")
        return Path(os.path.relpath(path, folder)).as_posix()  # e.g. `folder` "." (Path drops it from joins)

    return rel


def _walk_files(
    root: Path,
    start: Path,
    label: int,
    split_of,
    base: Path,
    max_file_bytes: int,
    docs: list[Document],
    skipped: list[Skipped],
) -> None:
    """Appends the documents under `start` (sorted, at any depth) and the files it will not read, with why.

    The order is os.walk's, top down: a folder's skipped subfolders, its files, then each subfolder. os.scandir's
    entries rather than os.walk's names: an entry knows whether it is a link without a system call and keeps
    the stat it made, so a file costs one stat instead of two (bench/NOTES.md, "Listing a corpus"). As os.walk, a
    folder that cannot be listed is left out, and an entry whose type cannot be read is taken for a file.
    """
    root_real = os.path.realpath(root)
    rel, rel_to_base = _relative_to(root), _relative_to(base)

    def visit(folder: str) -> None:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            return
        subfolders = []
        for entry in entries:
            if not _is_folder(entry):
                continue
            if entry.name.startswith("."):
                skipped.append(Skipped(rel(entry.path) + "/", "hidden folder: not read"))
            elif entry.is_symlink():
                skipped.append(Skipped(rel(entry.path), "link to a folder: not followed"))
            else:
                subfolders.append(entry.path)
        for entry in entries:
            if _is_folder(entry):
                continue
            relpath = rel(entry.path)
            if entry.name.startswith("."):
                skipped.append(Skipped(relpath, "hidden file: not a document"))
                continue
            reason = _unreadable_reason(entry, root_real, max_file_bytes)
            if reason:
                skipped.append(Skipped(relpath, reason))
                continue
            docs.append(Document(entry.path, relpath, label, split_of(rel_to_base(entry.path))))
        for subfolder in subfolders:
            visit(subfolder)

    visit(str(start))


def _is_folder(entry: os.DirEntry) -> bool:
    """os.walk's test: a folder, or a link to one; an entry whose type cannot be read is not."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _unreadable_reason(entry: os.DirEntry, root_real: str, max_file_bytes: int) -> str | None:
    """Why the file of `entry` is not read, from its metadata alone; None if it is read."""
    if entry.is_symlink():
        try:
            os.stat(entry.path)
        except OSError as err:
            if err.errno == errno.ELOOP:
                return "link loop"
            return "broken link"
        if not _within(os.path.realpath(entry.path), root_real):
            return "link leads outside the corpus root"
    try:
        st = entry.stat()
    except OSError as err:
        return f"cannot stat: {err.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_size > max_file_bytes:
        return f"too large: {st.st_size} bytes > max_file_bytes {max_file_bytes}"
    return None


def read_documents(docs: Iterable[Document], max_file_bytes: int):
    """Yields ('example', split, label, serialized, text, rel) | ('skipped', Skipped) | ('fallback', rel, encoding)."""
    for doc in docs:
        try:
            with open(doc.path, "rb") as f:
                data = f.read(max_file_bytes + 1)
            if len(data) > max_file_bytes:
                raise SkipDocument(f"too large: over max_file_bytes {max_file_bytes}")
            text, encoding = decode_document(data)
            encoded = text.encode("utf-8")
            words = decoding.word_count(encoded)
            if words == 0:
                raise SkipDocument(decoding.NO_WORDS)
        except SkipDocument as skip:
            yield ("skipped", Skipped(doc.rel, skip.args[0]))
            continue
        except OSError as err:
            yield ("skipped", Skipped(doc.rel, f"cannot read: {err.strerror or err}"))
            continue
        if encoding not in ("utf-8", "utf-8-sig"):
            yield ("fallback", doc.rel, encoding)
        example = make_example(encoded, doc.label, os.path.basename(doc.path), doc.rel, words)
        # deterministic=True: feature maps serialize in key order, so the same
        # corpus gives byte-identical records on every run.
        yield ("example", doc.split, doc.label, example.SerializeToString(deterministic=True), text, doc.rel)


def count_table(counts: dict[tuple[str, int], int], classes: Sequence[str], splits: Sequence[str]) -> dict:
    return {s: {c: counts.get((s, i), 0) for i, c in enumerate(classes)} for s in splits}
