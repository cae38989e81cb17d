"""Duplicates, exact and near, across and within splits, and label conflicts (components/example_gen/duplicates.py)."""

from __future__ import annotations

import random

import pytest

from components.example_gen import duplicates
from components.example_gen.duplicates import find_duplicates, fingerprint
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
    assert bool(p.signature) == bool(duplicates.content_tokens(text))
    assert duplicates.Fingerprint.from_json(p.to_json()) == p


def test_documents_without_tokens_are_twins_only_of_copies_of_their_own_text():
    prints = [
        fingerprint("train/pos/a.txt", "train", 1, "!!!"),
        fingerprint("train/neg/b.txt", "train", 0, "???"),
        fingerprint("test/neg/c.txt", "test", 0, " ??? \n"),
    ]
    found = find_duplicates(prints, ["neg", "pos"], NEAR)
    assert [[m["path"] for m in g] for g in found["exact_groups"]] == [["test/neg/c.txt", "train/neg/b.txt"]]
    assert found["label_conflicts"] == 0
