"""Listing a directory corpus: which of its files are documents, and the split a document's hash gives it. From
the file system's metadata alone: no file is read here. A folder's fingerprint for the cache is
components/example_gen/folder_fingerprint.py.

The layouts and class folders are components/example_gen/corpus_layout.py; reading the listed documents is
components/example_gen/corpus.py.

Policy for the files that are not documents (each skipped file is reported with its reason; nothing is dropped
silently):

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
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from components.example_gen.corpus_layout import CorpusError
from components.example_gen.records import NO_LABEL


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


# The last listing of each folder in this process (LISTINGS_KEPT at most), with the modification times of the
# folders it listed.
_LISTED: dict[tuple, tuple[list[Document], list[Skipped], dict[str, int]]] = {}
LISTINGS_KEPT = 8


def _unchanged(folder_times: dict[str, int]) -> bool:
    try:
        return all(os.stat(folder).st_mtime_ns == t for folder, t in folder_times.items())
    except OSError:
        return False


def scan_split_folder(
    root: Path,
    folder: str,
    classes: Sequence[str],
    cuts: Sequence[tuple[str, int]],
    max_file_bytes: int,
    exclude_dirs: Sequence[str] = (),
) -> tuple[list[Document], list[Skipped]]:
    """Lists the documents of `root/folder/<class>/...` and the files it will not read.

    A process lists a folder once while it stays unchanged: a run's start-up check and ExampleGen's reader
    list each folder two or three times, 0.22 s each on IMDB's 25,000 files (bench/NOTES.md, "ExampleGen's
    serial tail"). Adding, removing or renaming an entry changes its folder's modification time (POSIX), and
    a folder whose time moved, or that is gone, is listed again. Times are taken before each folder is read.
    """
    # The root as given (the documents' paths start with it) and as it resolves now (a relative one moves with chdir).
    key = (str(root), os.path.abspath(root), folder, tuple(classes), tuple(map(tuple, cuts)), max_file_bytes)
    key += tuple(exclude_dirs)
    listed = _LISTED.get(key)
    if listed is None or not _unchanged(listed[2]):
        listed = _LISTED[key] = _scan(Path(root), folder, classes, cuts, max_file_bytes, exclude_dirs)
        while len(_LISTED) > LISTINGS_KEPT:
            del _LISTED[next(iter(_LISTED))]  # the oldest
    return list(listed[0]), list(listed[1])


def _scan(root: Path, folder: str, classes, cuts, max_file_bytes: int, exclude_dirs):
    base = root / folder
    docs: list[Document] = []
    skipped: list[Skipped] = []
    folder_times = {str(base): os.stat(base).st_mtime_ns}

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
            folder_times,
        )
    return docs, skipped, folder_times


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
    folder_times: dict[str, int] | None = None,
) -> None:
    """Appends the documents under `start` (sorted, at any depth) and the files it will not read, with why;
    `folder_times`, when given, gains each folder's modification time, taken before the folder is read.

    The order is os.walk's, top down: a folder's skipped subfolders, its files, then each subfolder. os.scandir's
    entries rather than os.walk's names: an entry knows whether it is a link without a system call and keeps
    the stat it made, so a file costs one stat instead of two (bench/NOTES.md, "Listing a corpus"). As os.walk, a
    folder that cannot be listed is left out, and an entry whose type cannot be read is taken for a file.
    """
    root_real = os.path.realpath(root)
    rel, rel_to_base = _relative_to(root), _relative_to(base)

    def visit(folder: str) -> None:
        try:
            if folder_times is not None:
                folder_times[folder] = os.stat(folder).st_mtime_ns
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
