"""The split plan (components/example_gen/split_plan.py): groups decide hash splits, conflicts follow the policy."""

from __future__ import annotations

import random

import pytest
import tensorflow as tf

from components.example_gen import corpus_layout, split_plan
from components.example_gen.fingerprints import fingerprint
from components.example_gen.listing import PENDING
from components.example_gen.records import make_example
from components.example_gen.settings import IngestConfig

NEAR = IngestConfig.near_duplicate_threshold

CUTS = corpus_layout.split_cuts(20, 20)
WORDS = [f"w{i}" for i in range(400)]


def review(seed: int, words: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "."


def one_sentence_changed(text: str) -> str:
    words = text.split()
    return " ".join(words[:40] + ["quite", "another", "phrase"] + words[43:])


def corpus_prints(names: dict[str, tuple[int, str]], reverse: bool = False):
    """Fingerprints of a ROOT/<class>/ corpus, every document PENDING, listed in either order."""
    items = sorted(names.items(), reverse=reverse)
    return [fingerprint(path, PENDING, label, text) for path, (label, text) in items]


def planted_corpus() -> dict[str, tuple[int, str]]:
    docs = {f"{'neg' if i % 2 else 'pos'}/{i}.txt": (i % 2, review(i)) for i in range(200)}
    for g in range(12):  # exact copies under other names, case and punctuation changed
        label, text = docs[f"pos/{2 * g}.txt"]
        docs[f"pos/copy of {2 * g}.txt"] = (label, text.upper().replace(".", "!"))
        docs[f"pos/near {2 * g}.txt"] = (label, one_sentence_changed(text))
    return docs


def groups_of(docs) -> list[set[str]]:
    by_seed: dict[str, set[str]] = {}
    for path in docs:
        stem = path.split("/")[1].removesuffix(".txt").split()[-1]
        by_seed.setdefault(f"{path.split('/')[0]}/{stem}", set()).add(path)
    return [g for g in by_seed.values() if len(g) > 1]


def test_every_group_lands_in_one_split_in_any_listing_order_and_under_any_name():
    docs = planted_corpus()
    plan = split_plan.plan_splits(corpus_prints(docs), CUTS, ["pos", "neg"], "drop", NEAR)
    assert (
        plan.splits
        == split_plan.plan_splits(corpus_prints(docs, reverse=True), CUTS, ["pos", "neg"], "drop", NEAR).splits
    )
    groups = groups_of(docs)
    assert len(groups) == 12 and all(len(g) == 3 for g in groups)
    for group in groups:
        assert len({plan.splits[p] for p in group}) == 1, group
    # Every split gets its share: the group's key decides, and keys are spread like paths were.
    shares = {s: sum(v == s for v in plan.splits.values()) / len(docs) for s in ("train", "eval", "test")}
    assert 0.45 < shares["train"] < 0.75 and 0.1 < shares["eval"] < 0.32 and 0.1 < shares["test"] < 0.32

    # A copy of every file under a new name: each lands where its original did.
    renamed = {**docs, **{f"{p.split('/')[0]}/renamed {p.split('/')[1]}": v for p, v in docs.items()}}
    plan_renamed = split_plan.plan_splits(corpus_prints(renamed), CUTS, ["pos", "neg"], "drop", NEAR)
    for path in docs:
        renamed_path = f"{path.split('/')[0]}/renamed {path.split('/')[1]}"
        assert plan_renamed.splits[path] == plan_renamed.splits[renamed_path] == plan.splits[path]


def test_a_given_split_keeps_its_documents_and_twins_in_train_are_seen():
    text, other = review(1), review(2)
    prints = [
        fingerprint("train/pos/a.txt", PENDING, 1, text),
        fingerprint("train/pos/b.txt", PENDING, 1, other),
        fingerprint("test/pos/a copy.txt", "test", 1, text),
        fingerprint("test/pos/b near.txt", "test", 1, one_sentence_changed(other)),
        fingerprint("test/neg/c.txt", "test", 0, review(3)),
    ]
    plan = split_plan.plan_splits(prints, corpus_layout.split_cuts(20, None), ["neg", "pos"], "drop", NEAR)
    assert {p: s for p, s in plan.splits.items() if p.startswith("test/")} == dict.fromkeys(
        ["test/pos/a copy.txt", "test/pos/b near.txt", "test/neg/c.txt"], "test"
    )
    in_train = {p for p in ("train/pos/a.txt", "train/pos/b.txt") if plan.splits[p] == "train"}
    expected = {"test/pos/a copy.txt"} if "train/pos/a.txt" in in_train else set()
    expected |= {"test/pos/b near.txt"} if "train/pos/b.txt" in in_train else set()
    assert plan.seen_in_train == frozenset(expected)
    assert plan.report["test_with_train_twin_exact"] + plan.report["test_with_train_twin_near"] == len(expected)


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_label_conflicts_are_dropped_or_kept_by_policy_and_always_reported(policy):
    text = review(7)
    prints = [
        fingerprint("test/pos/x.txt", "test", 1, text),
        fingerprint("test/neg/x again.txt", "test", 0, text),
        fingerprint("test/neg/y.txt", "test", 0, review(8)),
    ]
    plan = split_plan.plan_splits(prints, None, ["neg", "pos"], policy, NEAR)
    assert plan.report["label_conflicts"] == 1 and plan.report["label_conflict_policy"] == policy
    assert sorted(m["class"] for m in plan.report["label_conflict_groups"][0]) == ["neg", "pos"]
    expected = {"test/pos/x.txt", "test/neg/x again.txt"} if policy == "drop" else set()
    assert plan.dropped == expected
    assert plan.report["label_conflict_documents_dropped"] == len(expected)

    records = [(p.path, p.label, tf.train.Example().SerializeToString()) for p in prints]
    routed = dict(split_plan.route_batch((0, records), plan))
    assert routed["counts"] == ("test\t0\t1" if policy == "drop" else "test\t1\t1")  # the last count line
    assert len(routed["test"][1]) == 3 - len(expected)


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="on_label_conflict 'ignore': use one of drop, keep, fail"):
        split_plan.plan_splits([], None, ["neg", "pos"], "ignore", NEAR)


def templated_corpus(n: int = 60) -> dict[str, tuple[int, str]]:
    """Two classes written from one form each (issue 30): every document a near copy of the others."""
    forms = [
        "a wonderful delightful film, great acting and a lovely story number",
        "a dull tedious film, poor acting and a story nobody could follow, number",
    ]
    return {f"{c}/{i}.txt": (label, f"{forms[label]} {i}") for label, c in enumerate(("good", "bad")) for i in range(n)}


def test_a_templated_class_is_split_three_ways_and_its_template_group_is_reported():
    docs = templated_corpus()
    docs["good/copy of 7.txt"] = docs["good/7.txt"]  # an exact copy still lands with its original
    plan = split_plan.plan_splits(corpus_prints(docs), CUTS, ["good", "bad"], "drop", NEAR)
    for c in ("good", "bad"):
        assert {plan.splits[p] for p in docs if p.startswith(c)} == {"train", "eval", "test"}, c
    assert plan.splits["good/copy of 7.txt"] == plan.splits["good/7.txt"]
    templates = plan.report["template_groups"]
    assert templates and all(len(g) > 10 for g in templates)
    assert {d["class"] for g in templates for d in g} == {"good", "bad"}


def test_small_near_groups_stay_together_and_threshold_0_turns_near_groups_off():
    docs = planted_corpus()
    kept = split_plan.plan_splits(corpus_prints(docs), CUTS, ["pos", "neg"], "drop", NEAR)
    assert kept.report["near_groups"] and kept.report["template_groups"] == []
    off = split_plan.plan_splits(corpus_prints(docs), CUTS, ["pos", "neg"], "drop", 0)
    assert off.report["near_groups"] == [] and off.report["near_threshold"] == 0
    assert len(off.report["exact_groups"]) == len(kept.report["exact_groups"])  # exact copies are still groups


def test_a_class_of_copies_that_cannot_be_split_is_refused_naming_the_cause():
    from components.example_gen import ingestion_report

    docs = {f"pos/{i}.txt": (0, review(i)) for i in range(30)}
    docs |= {f"neg/{i}.txt": (1, "the same complaint, word for word, again and again") for i in range(30)}
    plan = split_plan.plan_splits(corpus_prints(docs), CUTS, ["pos", "neg"], "drop", NEAR)
    counts = {split: {"pos": 0, "neg": 0} for split in ("train", "eval", "test")}
    for path, split in plan.splits.items():
        counts[split][path.split("/")[0]] += 1
    report = {"splits": counts, "skipped": [], "corpus_root": "/corpus", "class_names": ["pos", "neg"]}
    report["duplicates"] = plan.report
    with pytest.raises(corpus_layout.CorpusError) as refused:
        ingestion_report.check_nothing_empty(report, lambda split: "")
    assert "30 of the 30 documents of 'neg' are copies or near copies of one text" in str(refused.value)


def test_a_routed_record_parses_as_the_record_with_seen_in_train_added():
    """route_batch appends a one-feature Example's bytes to each record: protobuf reads the two as their merge."""
    text = review(11)
    prints = [
        fingerprint("train/pos/a.txt", "train", 1, text),
        fingerprint("test/pos/a copy.txt", "test", 1, text),
        fingerprint("test/neg/b.txt", "test", 0, review(12)),
    ]
    plan = split_plan.plan_splits(prints, None, ["neg", "pos"], "drop", NEAR)
    assert plan.seen_in_train == {"test/pos/a copy.txt"}
    made = {p.path: make_example(p.path.encode(), p.label, "a.txt") for p in prints}
    records = [(p.path, p.label, made[p.path].SerializeToString(deterministic=True)) for p in prints]
    routed = [r for tag, value in split_plan.route_batch((0, records), plan) if tag != "counts" for r in value[1]]
    assert len(routed) == 3
    for record in routed:
        parsed = tf.train.Example.FromString(record)
        path = parsed.features.feature["text"].bytes_list.value[0].decode()
        expected = tf.train.Example()
        expected.CopyFrom(made[path])
        expected.features.feature["seen_in_train"].int64_list.value.append(int(path in plan.seen_in_train))
        assert parsed == expected
