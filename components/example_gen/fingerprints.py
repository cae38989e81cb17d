"""Each document's fingerprint: the key of its standardized text (exact duplicates share it) and the MinHash
signature of its word shingles (near duplicates have close ones), for components/example_gen/duplicates.py.

Computed a batch of documents at once where they are read (components/example_gen/fingerprint_workers.py).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash
from datasketch.minhash import _fmix  # the pre-mix MinHash applies (a test checks the signatures)

from components.example_gen.shingle_hashes import murmur3_32
from models.corpus_profile import content_tokens

SHINGLE_WORDS = 5
NUM_PERM = 64  # signature length: the Jaccard estimate's standard error is about 0.06 at 0.8
SCHEME = "affine32"  # datasketch 2's permutation scheme for 32-bit hashes (mmh3's)


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    path: str  # the file, relative to the corpus root
    split: str
    label: int
    key: str  # the standardized text's digest: equal keys are exact duplicates
    signature: tuple[int, ...]  # MinHash of the word 5-grams (empty: no tokens)


@functools.lru_cache(maxsize=1)
def _permutations():
    """The seed's permutations, drawn once: drawing them per document was a third of the fingerprint's cost."""
    return MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME).permutations


def _shingle_spans(token_counts: np.ndarray, data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, lengths, first shingle of each document) of the word shingles in `data`: documents' standardized
    texts joined by single spaces, `token_counts[d]` tokens each (at least one).

    Shingle i of a document is its tokens i to i + n - 1 with the spaces between them (n = SHINGLE_WORDS, or all
    its tokens when fewer): the bytes `" ".join(tokens[i : i + n])` encodes to. A token holds no space, and no
    byte of a multi-byte UTF-8 character is a space, so the spaces in `data` are exactly the tokens' bounds.
    """
    spaces = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord(" "))
    token_starts = np.r_[0, spaces + 1]
    token_ends = np.r_[spaces, len(data)]
    n = np.minimum(SHINGLE_WORDS, token_counts)
    shingles = token_counts - n + 1
    first_shingle = np.cumsum(shingles) - shingles
    document = np.repeat(np.arange(len(token_counts)), shingles)
    first_token = (
        (np.cumsum(token_counts) - token_counts)[document] + np.arange(len(document)) - first_shingle[document]
    )
    starts = token_starts[first_token]
    return starts, token_ends[first_token + n[document] - 1] - starts, first_shingle


def fingerprints(texts: Iterable[tuple[str, str, int, str]]) -> list[Fingerprint]:
    """The Fingerprint of each (path, split, label, text), a batch at once.

    The signature is datasketch's MinHash (scheme SCHEME, NUM_PERM permutations of seed 1, hashfunc mmh3 over
    each shingle's bytes) computed for the whole batch at once: the shingles' MurmurHash3 in numpy
    (shingle_hashes.py), datasketch's permutations applied to all of them, each document's minimum taken by
    `np.minimum.reduceat`. One MinHash per document and one mmh3 call per shingle took 9.0 s for IMDB's 50,000
    reviews (bench/NOTES.md, "ExampleGen's fingerprints in batches"). tests/data/test_duplicates.py checks the
    signatures against MinHash.update_batch.
    """
    prints, keyed, joined, token_counts = [], [], [], []
    for path, split, label, text in texts:
        tokens = content_tokens(text)
        if not tokens:
            # No token ("!!!", "..."): standardized, every such text would be one. Their raw text keys them,
            # so only copies of one file are twins.
            key = "raw:" + hashlib.sha256(text.strip().encode()).hexdigest()[:28]
            prints.append(Fingerprint(path, split, label, key, ()))
            continue
        data = " ".join(tokens).encode("utf-8")
        keyed.append(len(prints))
        prints.append(Fingerprint(path, split, label, hashlib.sha256(data).hexdigest()[:32], ()))
        joined.append(data)
        token_counts.append(len(tokens))
    if keyed:
        data = b" ".join(joined)
        starts, lengths, first_shingle = _shingle_spans(np.array(token_counts), data)
        mixed = _fmix(murmur3_32(data, starts, lengths), 32)  # datasketch's pre-mix for its affine schemes
        a, b = _permutations()
        signatures = np.empty((len(keyed), NUM_PERM), dtype=np.uint32)
        with np.errstate(over="ignore"):
            for j in range(NUM_PERM):  # column by column: reduceat along the rows of a 2-D array was 30x slower
                signatures[:, j] = np.minimum.reduceat(mixed * a[j] + b[j], first_shingle)
        for i, signature in zip(keyed, signatures.tolist(), strict=True):
            prints[i] = dataclasses.replace(prints[i], signature=tuple(signature))
    return prints


def fingerprint(path: str, split: str, label: int, text: str) -> Fingerprint:
    return fingerprints([(path, split, label, text)])[0]
