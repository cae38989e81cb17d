"""Duplicates, exact and near, across and within splits, and label conflicts (components/example_gen/duplicates.py)."""

from __future__ import annotations

import hashlib
import random

import mmh3
import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH

from components.example_gen import duplicates, fingerprints
from components.example_gen.duplicates import find_duplicates
from components.example_gen.fingerprints import fingerprint
from components.example_gen.settings import IngestConfig

NEAR = IngestConfig.near_duplicate_threshold

WORDS = [f"w{i}" for i in range(400)]


def review(seed: int, words: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "."


def test_exact_duplicates_under_other_names_case_and_punctuation_are_one_group():
    base = review(1)
    prints = [
        fingerprint("train/pos/1.txt", "train", 1, base),
        fingerprint("train/pos/copy of 1.txt", "train", 1, base.upper().replace(" ", "  ")),
        fingerprint("test/pos/9.txt", "test", 1, base.replace(".", "!")),
        fingerprint("train/neg/2.txt", "train", 0, review(2)),
        fingerprint("test/neg/3.txt", "test", 0, review(3)),
    ]
    found = find_duplicates(prints, ["neg", "pos"], NEAR)
    assert len(found["exact_groups"]) == 1
    assert [m["path"] for m in found["exact_groups"][0]] == [
        "test/pos/9.txt",
        "train/pos/1.txt",
        "train/pos/copy of 1.txt",
    ]
    assert found["within"] == {"test": 0, "train": 1}
    assert found["test_with_train_twin_exact"] == 1 and found["test_with_train_twin_near"] == 0
    assert found["label_conflicts"] == 0 and found["near_groups"] == []
    assert found["test_seen_in_train"] == ["test/pos/9.txt"]


def test_a_near_duplicate_with_one_sentence_changed_is_found_and_distinct_texts_are_not():
    base = review(10, 200)
    changed = base.replace(" ".join(base.split()[50:56]), "an entirely different sentence here now")
    prints = [fingerprint("train/pos/a.txt", "train", 1, base), fingerprint("test/pos/b.txt", "test", 1, changed)]
    prints += [fingerprint(f"train/neg/{i}.txt", "train", 0, review(100 + i, 200)) for i in range(50)]
    found = find_duplicates(prints, ["neg", "pos"], NEAR)
    assert found["exact_groups"] == []
    assert [[m["path"] for m in g] for g in found["near_groups"]] == [["test/pos/b.txt", "train/pos/a.txt"]]
    assert found["test_with_train_twin_exact"] == 0 and found["test_with_train_twin_near"] == 1


def test_a_duplicate_pair_with_two_labels_is_a_label_conflict():
    text = review(20)
    prints = [fingerprint("train/pos/1.txt", "train", 1, text), fingerprint("train/neg/1.txt", "train", 0, text)]
    found = find_duplicates(prints, ["neg", "pos"], NEAR)
    assert found["label_conflicts"] == 1
    assert {m["class"] for m in found["label_conflict_groups"][0]} == {"neg", "pos"}
    line = duplicates.summary_line(found)
    assert line == (
        "duplicates: within train 1, test documents with a twin in train 0 (exact) / 0 (near), in eval 0 / 0, "
        "label conflicts 1"
    )


@pytest.mark.parametrize("text", ["", "!!! ...", "one two"])
def test_short_and_empty_texts_have_fingerprints(text):
    p = fingerprint("train/a/1.txt", "train", 0, text)
    assert bool(p.signature) == bool(fingerprints.content_tokens(text))


def test_a_batchs_fingerprints_are_datasketchs_minhash_of_each_documents_shingles():
    """fingerprints.fingerprints (one batch, numpy) against one datasketch MinHash per document, built the plain way."""
    texts = [
        review(30, 300),
        "Café naïve 東京 — déjà vu, <br />über alles and more words here",  # multi-byte tokens
        "two words",  # fewer words than a shingle
        "one",
        "!!! ...",  # no token
        review(31, 6),
    ]
    batch = fingerprints.fingerprints([(f"t/{i}.txt", "train", 0, t) for i, t in enumerate(texts)])
    for text, print_ in zip(texts, batch, strict=True):
        tokens = fingerprints.content_tokens(text)
        assert print_ == fingerprint(print_.path, "train", 0, text)
        if not tokens:
            assert print_.signature == () and print_.key.startswith("raw:")
            continue
        n = min(fingerprints.SHINGLE_WORDS, len(tokens))
        reference = MinHash(
            num_perm=fingerprints.NUM_PERM,
            seed=1,
            hashfunc=lambda b: mmh3.hash(b, signed=False),
            scheme=fingerprints.SCHEME,
        )
        reference.update_batch([" ".join(tokens[i : i + n]).encode() for i in range(len(tokens) - n + 1)])
        assert print_.signature == tuple(int(v) for v in reference.hashvalues)
        assert print_.key == hashlib.sha256(" ".join(tokens).encode()).hexdigest()[:32]


def test_documents_without_tokens_are_twins_only_of_copies_of_their_own_text():
    prints = [
        fingerprint("train/pos/a.txt", "train", 1, "!!!"),
        fingerprint("train/neg/b.txt", "train", 0, "???"),
        fingerprint("test/neg/c.txt", "test", 0, " ??? \n"),
    ]
    found = find_duplicates(prints, ["neg", "pos"], NEAR)
    assert [[m["path"] for m in g] for g in found["exact_groups"]] == [["test/neg/c.txt", "train/neg/b.txt"]]
    assert found["label_conflicts"] == 0


def test_near_pairs_are_the_pairs_datasketchs_lsh_index_proposes_and_its_jaccard_keeps():
    """duplicates.near_pairs (numpy banding) against datasketch's MinHashLSH and LeanMinHash.jaccard."""
    rng = np.random.default_rng(7)
    signatures = rng.integers(0, 2**32, size=(400, fingerprints.NUM_PERM), dtype=np.uint32)
    for i in range(0, 200, 2):  # planted neighbours: row i+1 keeps a share of row i's values
        keep = rng.random(fingerprints.NUM_PERM) < rng.uniform(0.3, 1.0)
        signatures[i + 1, keep] = signatures[i, keep]
    bands, rows = duplicates.LSH_BANDS
    for k in range(bands):  # rows 200 + 2k and 201 + 2k share band k alone, and 49 of 64 values (0.77)
        a, b = signatures[200 + 2 * k], signatures[201 + 2 * k]
        for band in range(bands):
            b[band * rows : band * rows + (rows if band == k else rows - 1)] = a[
                band * rows : band * rows + (rows if band == k else rows - 1)
            ]
    signatures[300:310] = signatures[300]  # a bucket of ten equal rows
    lsh = MinHashLSH(num_perm=fingerprints.NUM_PERM, params=duplicates.LSH_BANDS)
    hashes = [LeanMinHash(seed=1, hashvalues=s, scheme=fingerprints.SCHEME) for s in signatures]
    for i, h in enumerate(hashes):
        lsh.insert(i, h)
    for threshold in (0.5, 0.8):
        expected = sorted(
            {
                (min(i, j), max(i, j))
                for i, h in enumerate(hashes)
                for j in lsh.query(h)
                if j != i and h.jaccard(hashes[j]) >= threshold
            }
        )
        assert duplicates.near_pairs(signatures, threshold) == expected
        assert len(expected) > 45 + 20  # the ten equal rows' 45 pairs and planted ones
        assert all((200 + 2 * k, 201 + 2 * k) in expected for k in range(bands)) == (threshold == 0.5)
