"""Checks on a file a command will write, made before any work, so a run never ends in a traceback or a lost
result because its destination was a folder, under a file, or read-only. Standard library only."""

from __future__ import annotations

import os
from pathlib import Path


class OutputPathError(ValueError):
    """The destination cannot take the file; the message names the flag and what to pass."""


def check_writable(path: Path, flag: str, example: str = "out.json") -> None:
    """Refuses `path` unless a file can be written there: not a folder, no file among its parents, and the
    nearest existing folder writable. Creates nothing (a refused run leaves no trace)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise OutputPathError(f"{flag} {path}: a folder; pass a file name, e.g. {path / example}")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(f"{flag} {path}: {parent} is a file, not a folder; pass a path under a folder")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputPathError(f"{flag} {path}: not writable; pass a path you can write")
