"""The documents' fingerprints, computed in worker processes while ExampleGen reads the next batch of files.

Reading a batch (files, decoding, records) and fingerprinting it (components/example_gen/duplicates.py: a
MinHash of each document's word 5-grams, in Python) are both CPU work in one process: on IMDB's 50,000 reviews
11.35 s and 16.33 s. The reader hands each batch's texts to a pool and reads on; the lines come back as batches
finish. Which process computes a fingerprint does not change it, and the split plan sorts the fingerprints by
path (components/example_gen/split_plan.py), so the order they come back in changes nothing either.

The workers are forked: a spawned one would import the running program's main module again (TFX and
TensorFlow, seconds), and a forked one computes with what is already loaded, touching nothing but the
standard library, numpy, mmh3 and datasketch. Where fork or the pool's semaphores are not available, the
batches are fingerprinted in the reader's process, as before: the same lines, one core.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import logging
import multiprocessing
import os
from collections.abc import Iterator

from components.example_gen import duplicates

# Workers: the cores this process may use, at most 4. With 2 (this machine), IMDB's reading phase took
# 16.83 s instead of 28.92 s and ExampleGen 35.88 s instead of 45.65 s (bench/NOTES.md, "ExampleGen's
# fingerprints beside the reading"). PENDING_PER_WORKER bounds the batches of texts waiting in memory.
MAX_WORKERS = 4
PENDING_PER_WORKER = 2

Text = tuple[str, str, int, str]  # (path relative to the root, split, label, text)


def fingerprint_lines(texts: list[Text]) -> list[str]:
    """One batch's fingerprints as the JSON lines the split plan reads."""
    return [json.dumps(duplicates.fingerprint(*t).to_json()) for t in texts]


def _workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_WORKERS, cores)


class FingerprintPool:
    """submit() a batch's texts, get back the lines of the batches that are done; drain() the rest at the end.

    Failures: a worker's exception (an unreadable text would raise in `duplicates.fingerprint`) is raised again
    by submit() or drain() in the reader, and a worker that dies raises BrokenProcessPool there: the run fails,
    as it did when the reader fingerprinted inline. No fingerprint is dropped: drain() waits for every batch.
    """

    def __init__(self, workers: int | None = None):
        workers = _workers() if workers is None else workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._pending: collections.deque[concurrent.futures.Future] = collections.deque()
        self._limit = max(1, workers) * PENDING_PER_WORKER
        if workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
            return
        try:
            self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        except (OSError, ImportError) as e:  # no /dev/shm for the semaphores, say: one process, the same lines
            logging.info("DirectoryExampleGen: fingerprints in the reading process (%s)", e)

    def submit(self, texts: list[Text]) -> Iterator[str]:
        if self._pool is None:
            yield from fingerprint_lines(texts)
            return
        self._pending.append(self._pool.submit(fingerprint_lines, texts))
        while self._pending and (self._pending[0].done() or len(self._pending) > self._limit):
            yield from self._pending.popleft().result()

    def drain(self) -> Iterator[str]:
        while self._pending:
            yield from self._pending.popleft().result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
