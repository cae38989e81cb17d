"""The 32-bit MurmurHash3 (x86_32, seed 0: `mmh3.hash(key, signed=False)`) of many word shingles at once, in numpy.

Why not mmh3 itself: it hashes one key per Python call, and IMDB's 50,000 reviews hold 11.5 million word
5-grams. Slicing each out of its document and calling mmh3 took 0.29 to 0.32 s per 5,000 reviews, when all the
fingerprints of the 50,000 took 5.4 s; with this, they take 3.8 s (bench/NOTES.md, "ExampleGen's fingerprints in
batches"). No maintained library hashes many variable-length keys in one call. This is MurmurHash3's
published algorithm (Austin Appleby's MurmurHash3.cpp, `MurmurHash3_x86_32`) over every key at once: block j
of every key at least 4*(j+1) bytes long in one step.
tests/data/test_shingle_hashes.py checks it against mmh3 on keys of every length up to 200 and on multi-byte text.
"""

from __future__ import annotations

import numpy as np

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix_key(k: np.ndarray) -> np.ndarray:
    return _rotl(k * _C1, 15) * _C2


def murmur3_32(data: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """uint32 hashes of the keys `data[starts[i] : starts[i] + lengths[i]]`, as mmh3.hash(key, signed=False)."""
    raw = np.frombuffer(data + bytes(4), dtype=np.uint8).astype(np.uint32)  # a tail read past the end sees zeros
    # words[p]: the little-endian 4 bytes starting at byte p (MurmurHash3 reads its blocks this way).
    words = raw[:-3] | (raw[1:-2] << np.uint32(8)) | (raw[2:-1] << np.uint32(16)) | (raw[3:] << np.uint32(24))
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    blocks = lengths // 4
    # Keys by their block count, longest first: the keys that have a block j are a prefix.
    order = np.argsort(-blocks, kind="stable")
    starts, lengths, blocks = starts[order], lengths[order], blocks[order]
    h = np.zeros(len(order), dtype=np.uint32)
    with np.errstate(over="ignore"):
        for j in range(int(blocks[0]) if len(order) else 0):
            n = int(np.searchsorted(-blocks, -(j + 1), side="right"))  # keys with more than j blocks
            x = h[:n] ^ _mix_key(words[starts[:n] + 4 * j])
            h[:n] = _rotl(x, 13) * np.uint32(5) + np.uint32(0xE6546B64)
        # The tail (1-3 bytes past the blocks): the masked word at its start, mixed in like a block but unrotated.
        tail = lengths & 3
        has_tail = tail > 0
        mask = (np.uint32(1) << (np.uint32(8) * tail.astype(np.uint32))) - np.uint32(1)
        k = words[starts + 4 * blocks] & mask
        h = np.where(has_tail, h ^ _mix_key(k), h)
        h ^= lengths.astype(np.uint32)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    out = np.empty_like(h)
    out[order] = h
    return out
