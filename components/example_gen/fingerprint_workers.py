"""The documents' fingerprints, computed in worker processes while ExampleGen reads the next batch of files.

Reading a batch (files, decoding, records) and fingerprinting it (components/example_gen/fingerprints.py: a
MinHash of each document's word 5-grams) are both CPU work: on IMDB's 50,000 reviews 11.35 s and 16.33 s, one
after the other on one core, when this was written (3.8 s for the fingerprints now, in batches). The reader hands each
batch's texts to worker processes and reads on; each batch's fingerprints come back, pickled, as it finishes.
Which process computes a fingerprint does not change it (mmh3 and a seeded MinHash, no Python hash()), and the
split plan sorts the fingerprints by path (components/example_gen/split_plan.py), so the order they come back
in changes nothing either.

Why started processes, fed over pipes, and not multiprocessing:
- a forked worker (multiprocessing's "fork") inherits Beam's gRPC threads mid-call: gRPC printed
  `Other threads are currently calling into gRPC, skipping fork() handlers` into a quiet run, and does not
  vouch for such a child (bench/NOTES.md, "ExampleGen's fingerprints beside the reading");
- a spawned one ("spawn", "forkserver") imports the running program's main module again (TFX and
  TensorFlow: seconds per worker).
A worker here is `python -c` importing this module only (the standard library, numpy, mmh3, datasketch:
about 0.5 s), started by subprocess (fork and exec at once, no fork handlers run), and speaks in pickled frames.
"""

from __future__ import annotations

import collections
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from components.example_gen import fingerprints
from components.project_root import PROJECT_ROOT

try:
    import fcntl
except ImportError:  # not a Unix: the pipes keep their size
    fcntl = None

# Workers: the cores this process may use, at most 4. PENDING_PER_WORKER bounds the batches of texts in flight.
MAX_WORKERS = 4
PENDING_PER_WORKER = 2
PIPE_BYTES = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size
_WORKER_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from components.example_gen.fingerprint_workers import serve; serve(sys.stdin.buffer, sys.stdout.buffer)"
)
_HEADER = struct.Struct("<Q")

Text = tuple[str, str, int, str]  # (path relative to the root, split, label, text)


def fingerprint_batch(texts: list[Text]) -> bytes:
    """One batch's fingerprints, pickled: one Beam element per batch for the split plan (`unpack`).

    A JSON line per document was 50,000 Beam elements on IMDB, and 0.6 s of the serial plan to parse them
    (bench/NOTES.md, "ExampleGen's serial tail").
    """
    return pickle.dumps(fingerprints.fingerprints(texts), protocol=pickle.HIGHEST_PROTOCOL)


def unpack(batches: Iterable[bytes]) -> list[fingerprints.Fingerprint]:
    """The fingerprints of every batch fingerprint_batch packed (from this run's own workers)."""
    return [p for batch in batches for p in pickle.loads(batch)]


def _send(stream: BinaryIO, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: BinaryIO):
    """The next frame's value; EOFError when the other side closed the pipe."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """A worker's loop: a batch of texts in, ("ok", fingerprint_batch) or ("error", traceback) out, in order,
    until EOF.

    A thread reads the requests as they come, so the reader's writes never wait on this worker's replies (two
    full pipes, each side writing, would be a deadlock).
    """
    inbox: queue.Queue = queue.Queue()

    def read_all() -> None:
        try:
            while True:
                inbox.put(_receive(requests))
        except EOFError:
            inbox.put(None)

    threading.Thread(target=read_all, daemon=True).start()
    while (texts := inbox.get()) is not None:
        try:
            reply = ("ok", fingerprint_batch(texts))
        except Exception:  # noqa: BLE001 - sent to the reader, which raises it
            reply = ("error", traceback.format_exc())
        try:
            _send(replies, reply)
        except BrokenPipeError:  # the reader closed us with replies undrained (it is failing): nothing to say
            os._exit(0)


class WorkerError(RuntimeError):
    """A worker's failure, raised in the reader: the run fails as it would have fingerprinting inline."""


def _workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_WORKERS, cores)


def _widen(proc: subprocess.Popen) -> None:
    """Pipes of PIPE_BYTES where Linux allows it: a batch's texts (about 650 kB for 500 IMDB reviews) then go
    in one write, not 64 kB at a time as the worker's reading thread gets the GIL (bench/NOTES.md, "ExampleGen's
    serial tail"). Elsewhere, or over the system's limit, the pipes stay as they are: only slower."""
    for stream in (proc.stdin, proc.stdout):
        try:
            fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except (AttributeError, OSError):  # no fcntl, no F_SETPIPE_SZ (not Linux), or over the limit
            return


class FingerprintWorkers:
    """submit() a batch's texts, get back the packed fingerprints of the batches that are done; drain() the rest.


    The workers start on the first submit(). Failures: a worker's exception comes back as its traceback and is
    raised by submit() or drain() as WorkerError; a worker that exits is a WorkerError naming its exit code.
    Where no worker can start (no `sys.executable`, a process limit), the batches are fingerprinted in the
    reader's process: the same fingerprints, one core. No fingerprint is dropped: drain() waits for every batch.
    """

    def __init__(self, workers: int | None = None):
        self._count = _workers() if workers is None else workers
        self._procs: list[subprocess.Popen] | None = None
        self._next = 0
        self._pending: collections.deque[subprocess.Popen] = collections.deque()  # whose reply comes next

    def _start(self) -> list[subprocess.Popen]:
        if self._procs is None:
            self._procs = []
            try:
                for _ in range(self._count):
                    self._procs.append(
                        subprocess.Popen(
                            [sys.executable, "-c", _WORKER_CODE, str(PROJECT_ROOT)],
                            stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                        )
                    )
                    _widen(self._procs[-1])
            except OSError as e:
                logging.info("DirectoryExampleGen: fingerprints in the reading process (%s)", e)
                self.close()
                self._procs = []
        return self._procs

    def _reply(self) -> bytes:
        proc = self._pending.popleft()
        try:
            status, value = _receive(proc.stdout)
        except EOFError:
            raise WorkerError(
                f"a fingerprint worker (pid {proc.pid}) exited with code {proc.wait()} before it replied; "
                "its error, if any, is printed above"
            ) from None
        if status != "ok":
            raise WorkerError(f"a fingerprint worker failed:\n{value}")
        return value

    def submit(self, texts: list[Text]) -> Iterator[bytes]:
        procs = self._start()
        if not procs:
            yield fingerprint_batch(texts)
            return
        proc = procs[self._next % len(procs)]
        self._next += 1
        try:
            _send(proc.stdin, texts)
        except BrokenPipeError:
            raise WorkerError(f"a fingerprint worker (pid {proc.pid}) exited with code {proc.wait()}") from None
        self._pending.append(proc)
        while len(self._pending) > len(procs) * PENDING_PER_WORKER:
            yield self._reply()

    def drain(self) -> Iterator[bytes]:
        while self._pending:
            yield self._reply()

    def close(self) -> None:
        """Ends the workers (EOF on their input); the replies not drained are dropped with them."""
        for proc in self._procs or []:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            proc.wait()
        self._procs, self._pending = None, collections.deque()
