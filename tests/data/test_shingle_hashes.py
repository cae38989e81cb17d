"""MurmurHash3 in numpy (components/example_gen/shingle_hashes.py) against mmh3, the maintained implementation."""

from __future__ import annotations

import random

import mmh3
import numpy as np

from components.example_gen.shingle_hashes import murmur3_32


def test_every_key_length_up_to_200_hashes_as_mmh3():
    rng = random.Random(3)
    keys = [bytes(rng.randrange(256) for _ in range(n)) for n in range(201) for _ in range(3)]
    rng.shuffle(keys)
    data = b"".join(keys)
    lengths = np.array([len(k) for k in keys])
    starts = np.cumsum(lengths) - lengths
    got = murmur3_32(data, starts, lengths)
    assert got.dtype == np.uint32
    assert got.tolist() == [mmh3.hash(k, signed=False) for k in keys]


def test_overlapping_shingles_of_multi_byte_text_hash_as_mmh3():
    data = "café naïve 東京 déjà vu über straße ωμέγα 😀 end".encode()
    spaces = [i for i, b in enumerate(data) if b == 32]
    starts = np.array([0] + [s + 1 for s in spaces[:-2]])
    ends = np.array(spaces[2:] + [len(data)])
    got = murmur3_32(data, starts, ends - starts)
    assert got.tolist() == [mmh3.hash(data[s:e], signed=False) for s, e in zip(starts, ends, strict=True)]


def test_no_keys_and_an_empty_key_at_the_end():
    assert murmur3_32(b"abc", np.array([], dtype=int), np.array([], dtype=int)).tolist() == []
    assert murmur3_32(b"abc", np.array([3, 0]), np.array([0, 3])).tolist() == [
        mmh3.hash(b"", signed=False),
        mmh3.hash(b"abc", signed=False),
    ]
