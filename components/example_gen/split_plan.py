"""Where each labelled document goes, decided from the whole corpus's fingerprints before any record is written.

A folder the layout cuts into several splits (`train/` into train and eval,
the root's class folders three ways) is split by a hash of each duplicate
group's key, not of each file's path: every member of a group, exact or near,
lands in the split of the group's smallest content key. Two listings of the
corpus in any order, or a copy under a new name, give the same splits. A
folder the user gave as a split (`test/`, `val/`) keeps every document.

Label conflicts (a group whose members carry more than one label) follow
`on_label_conflict`:

| policy | what happens                                                                 |
|--------|------------------------------------------------------------------------------|
| drop   | (default) every member of the group is left out of every split, and listed   |
| keep   | the members stay where they are, each with its own label                     |
| fail   | the run stops, naming the groups' files                                      |

Why drop by default: the pipeline cannot tell which label is right, so a kept
pair teaches the model two answers for one text and scores one of them wrong in
test whatever it predicts; the report lists every dropped file, so nothing is
lost silently, and a scheduled run on a corpus that gains a conflict keeps
training instead of stopping every night until someone edits the files.

Each record also gets the feature `seen_in_train` (1 when another document of
its group is in the train split), the slice the Evaluator reports on.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

import tensorflow as tf

from components.example_gen import duplicates
from components.example_gen.corpus_layout import ON_LABEL_CONFLICT, TRAIN
from components.example_gen.fingerprints import Fingerprint
from components.example_gen.listing import PENDING, split_for
from models.features import SEEN_IN_TRAIN_KEY


@dataclasses.dataclass(frozen=True)
class Plan:
    splits: dict[str, str]  # path (relative to the corpus root) -> output split
    seen_in_train: frozenset[str]  # paths with another member of their group in train
    dropped: frozenset[str]  # paths of label conflicts, dropped by policy
    report: dict  # duplicates.report of what the splits hold, with the conflicts found


def plan_splits(
    prints: list[Fingerprint],
    cuts: Sequence[tuple[str, int]],
    class_names: list[str],
    on_label_conflict: str,
    near_threshold: float,
) -> Plan:
    """The split of every document: PENDING ones by their group's key over `cuts`, the others as listed.

    Near groups too large to be duplicates (templates: duplicates.break_templates) are split like distinct
    texts, and listed in the report's `template_groups`.
    """
    if on_label_conflict not in ON_LABEL_CONFLICT:
        raise ValueError(f"on_label_conflict {on_label_conflict!r}: use one of {', '.join(ON_LABEL_CONFLICT)}")
    prints = sorted(prints, key=lambda p: p.path)
    components, templates = duplicates.break_templates(prints, duplicates.group(prints, near_threshold))
    planned = list(prints)
    for members in components:
        split = split_for(min(prints[i].key for i in members), cuts) if cuts else PENDING
        for i in members:
            if prints[i].split == PENDING:
                planned[i] = dataclasses.replace(prints[i], split=split)
    conflicts = [m for m in components if len(m) > 1 and len({prints[i].label for i in m}) > 1]
    dropped = frozenset(planned[i].path for m in conflicts for i in m) if on_label_conflict == "drop" else frozenset()
    kept = [m for m in components if planned[m[0]].path not in dropped]
    found = duplicates.report(planned, kept, class_names)
    found["label_conflict_policy"] = on_label_conflict
    found["near_threshold"] = near_threshold
    found["template_groups"] = [
        [{**d, "class": class_names[d["label"]]} for d in duplicates.group_members(planned, m)] for m in templates
    ]
    if dropped:  # what was found, not what is left
        everything = duplicates.report(planned, components, class_names)
        found["label_conflicts"] = everything["label_conflicts"]
        found["label_conflict_groups"] = everything["label_conflict_groups"]
    found["label_conflict_documents_dropped"] = len(dropped)
    seen = set()
    for members in kept:
        in_train = [i for i in members if planned[i].split == TRAIN]
        for i in members:
            if any(j != i for j in in_train):
                seen.add(planned[i].path)
    return Plan({p.path: p.split for p in planned}, frozenset(seen), dropped, found)


def _seen_feature(seen: bool) -> bytes:
    """An Example holding `seen_in_train` alone, to append to a record's bytes.

    Protobuf parses two messages written one after the other as their merge (the encoding guide, "Last One
    Wins": a message field met twice is merged, a map gains the entries), so `record + _SEEN[seen]` reads as
    the record with the feature added. Parsing each record and writing it again took 1.3 s of the serial tail
    on IMDB (bench/NOTES.md, "ExampleGen's serial tail"). Every reader parses; no one reads the bytes as bytes.
    """
    example = tf.train.Example()
    example.features.feature[SEEN_IN_TRAIN_KEY].int64_list.value.append(int(seen))
    return example.SerializeToString()


_SEEN = {seen: _seen_feature(seen) for seen in (False, True)}


def route_batch(staged, plan: Plan):
    """One read batch, (index, [(path, label, record)]), to its records per split, with `seen_in_train` set.

    Yields (split, (index, records)) and ('counts', 'split\\tlabel\\tn') in a stable order: a batch's records
    keep their listing order within each split, so the files come out the same on any runner.
    """
    index, items = staged
    records: dict[str, list[tuple[int, bytes]]] = collections.defaultdict(list)
    for path, label, record in items:
        if path in plan.dropped:
            continue
        records[plan.splits[path]].append((label, record + _SEEN[path in plan.seen_in_train]))
    for split, labelled in sorted(records.items()):
        for label, n in sorted(collections.Counter(label for label, _ in labelled).items()):
            yield "counts", f"{split}\t{label}\t{n}"
        yield split, (index, [r for _, r in labelled])
