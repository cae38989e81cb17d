"""ExampleGen's fingerprint workers: the fingerprints of the reader's own call, whichever process computes them."""

from __future__ import annotations

import subprocess

import pytest

from components.example_gen import fingerprint_workers
from components.example_gen.fingerprint_workers import FingerprintWorkers, WorkerError, unpack
from components.example_gen.fingerprints import fingerprints


def _batches():
    words = "the film was a quiet and careful study of grief with one loud scene".split()
    return [
        [(f"train/pos/{b}_{i}.txt", "train", i % 2, " ".join(words[i:] + words[:i]) + f" batch {b}") for i in range(9)]
        for b in range(7)
    ]


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_the_workers_give_every_fingerprint_of_the_inline_call_once(workers):
    batches = _batches()
    expected = sorted((p for batch in batches for p in fingerprints(batch)), key=lambda p: p.path)
    pool = FingerprintWorkers(workers)
    try:
        got = unpack([packed for batch in batches for packed in pool.submit(batch)] + list(pool.drain()))
    finally:
        pool.close()
    assert sorted(got, key=lambda p: p.path) == expected and len(got) == 7 * 9


def test_a_workers_exception_is_raised_in_the_reader_with_its_traceback():
    pool = FingerprintWorkers(1)
    try:
        list(pool.submit([("a.txt", "train", 0, None)]))  # not a text: fingerprints.fingerprints raises
        with pytest.raises(WorkerError, match="AttributeError"):
            list(pool.drain())
    finally:
        pool.close()


def test_a_worker_that_exits_fails_the_reader_naming_its_exit_code():
    pool = FingerprintWorkers(1)
    try:
        list(pool.submit(_batches()[0]))
        worker = pool._procs[0]
        worker.kill()
        worker.wait()
        with pytest.raises(WorkerError, match="exited with code -9"):
            list(pool.drain())
            list(pool.submit(_batches()[1]))
            list(pool.drain())
    finally:
        pool.close()


def test_where_no_worker_can_start_the_reader_fingerprints_inline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no processes left")

    monkeypatch.setattr(fingerprint_workers.subprocess, "Popen", refuse)
    pool = FingerprintWorkers(2)
    batch = _batches()[0]
    assert unpack(list(pool.submit(batch)) + list(pool.drain())) == fingerprints(batch)


def test_a_worker_imports_neither_tensorflow_nor_grpc():
    """What makes a worker cheap to start and safe beside Beam's threads: it loads only what fingerprints need."""
    code = fingerprint_workers._WORKER_CODE.split("; from ")[0] + (
        "; import components.example_gen.fingerprint_workers; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'grpc', 'apache_beam', 'tfx'}))"
    )
    out = subprocess.run(
        [fingerprint_workers.sys.executable, "-c", code, str(fingerprint_workers.PROJECT_ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(not hasattr(fingerprint_workers.fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_a_workers_pipes_hold_a_whole_batch_of_texts():
    pool = FingerprintWorkers(1)
    try:
        list(pool.submit(_batches()[0]))
        worker = pool._procs[0]
        for stream in (worker.stdin, worker.stdout):
            size = fingerprint_workers.fcntl.fcntl(stream.fileno(), fingerprint_workers.fcntl.F_GETPIPE_SZ)
            assert size == fingerprint_workers.PIPE_BYTES
        list(pool.drain())
    finally:
        pool.close()
