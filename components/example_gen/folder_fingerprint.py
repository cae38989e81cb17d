"""A directory corpus folder's fingerprint: ExampleGen's cache key (its driver's input fingerprint)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from components.example_gen.listing import _is_folder, _relative_to


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
