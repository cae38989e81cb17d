"""ExampleGen's fingerprint pool: the lines of the reader's own call, whichever process computes them."""

from __future__ import annotations

import concurrent.futures

import pytest

from components.example_gen import fingerprint_pool
from components.example_gen.fingerprint_pool import FingerprintPool, fingerprint_lines


def _batches():
    words = "the film was a quiet and careful study of grief with one loud scene".split()
    return [
        [(f"train/pos/{b}_{i}.txt", "train", i % 2, " ".join(words[i:] + words[:i]) + f" batch {b}") for i in range(9)]
        for b in range(7)
    ]


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_the_pool_gives_every_line_of_the_inline_call_once(workers):
    batches = _batches()
    expected = sorted(line for batch in batches for line in fingerprint_lines(batch))
    pool = FingerprintPool(workers)
    try:
        got = [line for batch in batches for line in pool.submit(batch)] + list(pool.drain())
    finally:
        pool.close()
    assert sorted(got) == expected and len(got) == 7 * 9


def test_a_workers_failure_is_raised_in_the_reader():
    pool = FingerprintPool(1)
    try:
        list(pool.submit([("a.txt", "train", 0, None)]))  # not a text: duplicates.fingerprint raises
        with pytest.raises(AttributeError):
            list(pool.drain())
    finally:
        pool.close()


def test_without_fork_the_reader_fingerprints_inline(monkeypatch):
    monkeypatch.setattr(fingerprint_pool.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    made = []
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", lambda *a, **k: made.append(a))
    pool = FingerprintPool(2)
    batch = _batches()[0]
    assert list(pool.submit(batch)) == fingerprint_lines(batch) and not made
