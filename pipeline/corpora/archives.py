"""Extract a corpus archive safely: every member checked before anything is written."""

from __future__ import annotations

import posixpath
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

from pipeline.corpora.downloads import CHUNK_BYTES, AcquisitionError


class UnsafeArchiveError(AcquisitionError):
    pass


def _member_parts(name: str):
    """Normalised path parts of a tar member, or None if it could land outside the target."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in posixpath.normpath(name).split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return parts


def safe_extract(
    archive: Path,
    target: Path,
    keep: Callable[[list], list | None] = lambda parts: parts,
) -> int:
    """Extract regular files of `archive` into `target`; returns how many were written.

    Every member is checked before anything is written: an absolute path, a
    `..` component, a link or a device node rejects the whole archive (such a
    member is a sign of a damaged or hostile archive, not of a corpus).
    `keep(parts)` maps a member's path parts to the parts to write under
    `target`, or None to leave the member out.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                if _member_parts(m.name) is None:
                    raise UnsafeArchiveError(
                        f"{archive}: member '{m.name}' would land outside the target; archive rejected"
                    )
                if m.issym() or m.islnk():
                    raise UnsafeArchiveError(f"{archive}: member '{m.name}' is a link; archive rejected")
                if not (m.isfile() or m.isdir()):
                    raise UnsafeArchiveError(f"{archive}: member '{m.name}' is not a file or folder; archive rejected")
            written = 0
            for m in members:
                if not m.isfile():
                    continue
                out_parts = keep(_member_parts(m.name))
                if not out_parts:
                    continue
                dest = target.joinpath(*out_parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(m) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK_BYTES)
                written += 1
            return written
    except tarfile.TarError as err:
        raise AcquisitionError(f"{archive} is not a readable tar archive: {err}") from err
