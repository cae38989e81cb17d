"""One run at a time per pipeline root and metadata store.

Two LocalDagRunner runs on one pipeline root would write the same SQLite ML
Metadata store and artifact folders at once. `run_local.py` holds an
exclusive lock on both for the whole run: a second run stops with a message
naming the holder, or waits (`--wait-for-lock SECONDS`).

The locks are `flock` locks on small files (`<metadata>.lock`,
`<pipeline root>/.run.lock`): the kernel releases them when the holder exits,
even on SIGKILL, so a crash never leaves a stale lock behind. Each lock file
holds a line about its holder (pid, host, start time, command) for messages.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

EXIT_BUSY = 75  # EX_TEMPFAIL: try again later


class LockBusy(RuntimeError):
    """Another run holds a lock; the message names the lock, the holder and what to do."""


def lock_files(pipeline_root: Path, metadata_path: Path) -> list[Path]:
    return [Path(metadata_path).with_name(Path(metadata_path).name + ".lock"), Path(pipeline_root) / ".run.lock"]


def holder_of(lock_file: Path) -> str:
    try:
        info = json.loads(Path(lock_file).read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "an unknown process"
    return f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')}: {info.get('command')}"


def _try_lock(handle: TextIO) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _wait_for_lock(
    handle: TextIO,
    path: Path,
    deadline: float,
    wait_seconds: float,
    poll_seconds: float,
    on_wait: Callable[[str], None] | None,
) -> None:
    told = False
    while not _try_lock(handle):
        holder = holder_of(path)
        if time.monotonic() >= deadline:
            raise LockBusy(
                f"another run holds {path} ({holder}); two runs must not write one pipeline root and "
                "metadata store at once. Wait for it to finish, pass --wait-for-lock SECONDS to queue "
                "behind it, or give this run its own --name or --work-dir"
            )
        if not told and on_wait:
            on_wait(f"waiting up to {wait_seconds:.0f} s for {path}, held by {holder}")
            told = True
        time.sleep(poll_seconds)


@contextlib.contextmanager
def hold(
    paths: Sequence[Path],
    wait_seconds: float = 0.0,
    poll_seconds: float = 0.5,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Holds exclusive locks on every file in `paths` (taken in sorted order: no deadlock between runs)."""
    held: list[TextIO] = []
    deadline = time.monotonic() + wait_seconds
    try:
        for path in sorted({Path(p).resolve() for p in paths}):
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+")
            try:
                _wait_for_lock(handle, path, deadline, wait_seconds, poll_seconds, on_wait)
            except BaseException:
                handle.close()
                raise
            handle.seek(0)
            handle.truncate()
            handle.write(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:500],
                    }
                )
            )
            handle.flush()
            held.append(handle)
        yield
    finally:
        for handle in reversed(held):
            handle.seek(0)  # no holder any more; the file stays (removing it would race)
            handle.truncate()
            handle.close()  # closing releases the flock
