"""Duplicate documents, exact and near, within and across splits, and the groups whose labels disagree.

Two documents are the same (exact) when their token sequences are equal after
the pipeline's own standardization (lowercase, `<br />` as a space, ASCII
punctuation removed, whitespace tokens): whitespace, case and punctuation do
not make two documents different. They are near duplicates when the Jaccard
similarity of their word 5-gram shingles is at least the run's threshold
(--near-duplicate-threshold, 0.8 by default: a sentence changed in a review of
200 words), found with MinHash signatures (datasketch's MinHash, a maintained implementation)
and locality sensitive hashing (datasketch's MinHashLSH banding, in numpy:
`near_pairs`), so no all-pairs comparison: the work grows with the corpus, not
with its square.

A fingerprint is computed once per document where it is read (the ExampleGen's
fingerprint workers: components/example_gen/fingerprints.py); `find_duplicates`
then groups the fingerprints of the whole corpus in one process: LSH over 50,000
signatures takes seconds.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterable

import numpy as np

from components.example_gen.fingerprints import NUM_PERM, SHINGLE_WORDS, Fingerprint

# A near group that holds more of a class than this share (and more than TEMPLATE_MIN_DOCUMENTS of it) is a
# template (tickets, alerts, order notes written from one form), not a duplicate: kept together, such a chain of
# near pairs took a whole class into one split and stopped the run (issue 30). It is dissolved into its exact
# groups and listed in the report as a template group. IMDB's largest near group holds 3 documents.
TEMPLATE_SHARE = 0.05
TEMPLATE_MIN_DOCUMENTS = 10
# 16 bands of 4 rows: a pair at Jaccard 0.8 (the default threshold) becomes a candidate with probability
# 1 - (1 - 0.8**4)**16 = 0.9998.
# datasketch's own choice for threshold 0.8 (it weighs misses and false candidates alike) found 8 of 12 planted
# near pairs at 0.89 (tests/data/test_split_plan.py); a false candidate costs one signature comparison.
LSH_BANDS = (16, 4)


class _Groups:
    """Union-find over indices."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_members(prints: list[Fingerprint], indices: Iterable[int]) -> list[dict]:
    return [{"path": prints[i].path, "split": prints[i].split, "label": prints[i].label} for i in sorted(indices)]


def near_pairs(signatures: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """The pairs of rows of `signatures` (MinHash signatures, one per row) that share an LSH band and agree on at
    least `threshold` of their values (datasketch's Jaccard estimate), each pair once, smaller row first.

    The banding of datasketch's MinHashLSH with params LSH_BANDS (band k is values [k*rows, (k+1)*rows); rows
    whose band k is equal are candidates), done with numpy for all rows at once: datasketch's index inserts and
    queries one signature at a time: `group` took 5.23 and 5.53 s with it on IMDB's 50,000 fingerprints, 2.26 and
    1.93 s with this (bench/NOTES.md, "The duplicate groups' LSH in numpy"). tests/data/test_duplicates.py checks
    that both find the same pairs.
    """
    bands, rows = LSH_BANDS
    candidates: set[tuple[int, int]] = set()
    for k in range(bands):
        band = signatures[:, k * rows : (k + 1) * rows]
        # Rows sorted by their band, then only the runs of equal bands longer than one: most rows are alone.
        # Splitting every bucket (np.unique, np.split) took 1.45 of near_pairs' 2.37 s on IMDB; the split plan
        # took 2.05 and 1.98 s with it, 1.03 and 1.09 s with this (bench/NOTES.md, "ExampleGen's serial tail").
        order = np.lexsort(band.T[::-1])
        ordered = band[order]
        starts = np.flatnonzero(np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1)])
        ends = np.r_[starts[1:], len(order)]
        shared = ends - starts > 1
        for start, end in zip(starts[shared].tolist(), ends[shared].tolist(), strict=True):
            candidates.update(itertools.combinations(sorted(order[start:end].tolist()), 2))
    return sorted(
        (a, b) for a, b in candidates if np.count_nonzero(signatures[a] == signatures[b]) / NUM_PERM >= threshold
    )


def group(prints: list[Fingerprint], near_threshold: float) -> list[list[int]]:
    """The duplicate groups of `prints` as lists of indices (every document in exactly one; most alone).

    Exact twins (equal keys) join; then LSH over one representative per distinct text proposes near pairs,
    and those whose signatures estimate a Jaccard similarity of at least `near_threshold` join (an exact group
    joins a near group whole; 0: no near pairs). The groups do not depend on the documents' order or names:
    exact twins have equal signatures, so whichever represents them finds the same neighbours. LSH_BANDS suit
    0.8: at 0.6 a pair becomes a candidate with probability 0.89, at 0.5 with 0.64.
    """
    by_key: dict[str, list[int]] = collections.defaultdict(list)
    for i, p in enumerate(prints):
        by_key[p.key].append(i)
    representatives = [members[0] for members in by_key.values() if prints[members[0]].signature and near_threshold]
    groups = _Groups(len(prints))
    for members in by_key.values():
        for j in members[1:]:
            groups.union(members[0], j)
    if representatives:
        signatures = np.array([prints[i].signature for i in representatives], dtype=np.uint32)
        for a, b in near_pairs(signatures, near_threshold):
            groups.union(representatives[a], representatives[b])
    components: dict[int, list[int]] = collections.defaultdict(list)
    for i in range(len(prints)):
        components[groups.find(i)].append(i)
    return list(components.values())


def break_templates(prints: list[Fingerprint], components: list[list[int]]) -> tuple[list[list[int]], list[list[int]]]:
    """(groups, templates): each near group holding more than max(TEMPLATE_MIN_DOCUMENTS, TEMPLATE_SHARE of its
    class) documents of a class is replaced by its exact groups, and returned among the templates."""
    class_sizes = collections.Counter(p.label for p in prints)
    kept, templates = [], []
    for members in components:
        if len(members) <= TEMPLATE_MIN_DOCUMENTS:  # too few to be a template: most groups are one document
            kept.append(members)
            continue
        per_class = collections.Counter(prints[i].label for i in members)
        too_many = any(
            n > max(TEMPLATE_MIN_DOCUMENTS, TEMPLATE_SHARE * class_sizes[label]) for label, n in per_class.items()
        )
        if not too_many or len({prints[i].key for i in members}) == 1:  # exact copies always stay together
            kept.append(members)
            continue
        templates.append(sorted(members))
        by_key: dict[str, list[int]] = collections.defaultdict(list)
        for i in members:
            by_key[prints[i].key].append(i)
        kept.extend(by_key.values())
    return kept, templates


def find_duplicates(prints: list[Fingerprint], class_names: list[str], near_threshold: float) -> dict:
    """The groups and their counts, for ingestion_report.json (every group with its files) and the summary."""
    prints = sorted(prints, key=lambda p: p.path)
    return report(prints, group(prints, near_threshold), class_names)


def report(prints: list[Fingerprint], components: list[list[int]], class_names: list[str]) -> dict:
    """What `components` (from `group(prints)`, or some of them) hold, counted by split.

    exact groups: documents with equal keys; near groups: groups holding more than one distinct text.
    Counts: `within` a split, the documents that repeat an earlier one of the same split (a group of 3 in
    train counts 2); `test_with_train_twin_exact` / `_near`, the test documents with an exact twin in train,
    and those with only a near one; `label_conflicts`, the groups whose members carry more than one label.
    """
    by_key: dict[str, list[int]] = collections.defaultdict(list)
    for members in components:
        for i in members:
            by_key[prints[i].key].append(i)
    exact = [sorted(members) for members in by_key.values() if len(members) > 1]
    groups = [m for m in components if len(m) > 1]  # a document alone repeats nothing and conflicts with nothing
    near = [m for m in groups if len({prints[i].key for i in m}) > 1]
    root = {i: min(m) for m in components for i in m}

    within = collections.Counter()
    for members in groups:
        seen = collections.Counter(prints[i].split for i in members)
        within.update({split: n - 1 for split, n in seen.items()})
    splits = sorted({prints[i].split for m in components for i in m})
    test = sorted(i for m in components for i in m if prints[i].split == "test")

    def twins_in(split: str) -> tuple[list[int], list[int]]:
        """The test documents with an exact twin in `split`, and those with only a near one."""
        keys = {prints[i].key for m in components for i in m if prints[i].split == split}
        roots = {root[i] for m in components for i in m if prints[i].split == split}
        exact = [i for i in test if prints[i].key in keys]
        return exact, [i for i in test if prints[i].key not in keys and root[i] in roots]

    exact_twins, near_twins = twins_in("train")
    eval_exact, eval_near = twins_in("eval")
    conflicts = [m for m in groups if len({prints[i].label for i in m}) > 1]
    return {
        "method": {
            "exact": "equal token sequences after the pipeline's standardization",
            "near": f"MinHash LSH, word {SHINGLE_WORDS}-grams, {NUM_PERM} permutations",
            "templates": f"near groups holding more than {TEMPLATE_SHARE:.0%} of a class (and more than "
            f"{TEMPLATE_MIN_DOCUMENTS} documents of it), split like distinct texts",
        },
        "within": {split: within.get(split, 0) for split in splits},
        "test_with_train_twin_exact": len(exact_twins),
        "test_with_train_twin_near": len(near_twins),
        # The eval split trains nothing (it stops training early), so a twin there is reported, not counted as seen.
        "test_with_eval_twin_exact": len(eval_exact),
        "test_with_eval_twin_near": len(eval_near),
        "label_conflicts": len(conflicts),
        "exact_groups": [group_members(prints, m) for m in exact],
        "near_groups": [group_members(prints, m) for m in near],
        "label_conflict_groups": [
            [{**d, "class": class_names[d["label"]]} for d in group_members(prints, m)] for m in conflicts
        ],
        "test_seen_in_train": sorted(prints[i].path for i in exact_twins + near_twins),
    }


def summary_line(duplicates: dict) -> str:
    within = ", ".join(f"within {split} {n}" for split, n in duplicates["within"].items())
    dropped = duplicates.get("label_conflict_documents_dropped", 0)
    templates = duplicates.get("template_groups", 0)  # the groups (the report) or their count (the summary)
    templates = templates if isinstance(templates, int) else len(templates)
    return (
        f"duplicates: {within}, test documents with a twin in train {duplicates['test_with_train_twin_exact']} "
        f"(exact) / {duplicates['test_with_train_twin_near']} (near), in eval {duplicates['test_with_eval_twin_exact']}"
        f" / {duplicates['test_with_eval_twin_near']}, label conflicts {duplicates['label_conflicts']}"
        + (f" ({dropped} documents dropped)" if dropped else "")
        + (f", template groups {templates} (split like distinct texts)" if templates else "")
    )
