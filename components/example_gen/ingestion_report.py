"""DirectoryExampleGen's ingestion_report.json: built from the side outputs of its reading, logged, and checked.

The report holds the layout, documents per split and class, every skipped
file with its reason, every file decoded with a fallback, and the duplicate
groups with the label conflicts (components/example_gen/split_plan.py). The checks here
refuse, after reading, what the listing alone could not see.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from components.example_gen import corpus, corpus_layout, duplicates
from components.example_gen.example_io import count_reasons, read_side_outputs
from models.features import REPORT_FILE

DUPLICATES = "duplicates"  # the side output holding split_plan's report, one JSON line


def build_report(root: str, layout: str, classes: list[str], split_names: list[str], parts_dir: str) -> dict[str, Any]:
    sides = read_side_outputs(parts_dir)
    counts = {}
    for line in sides["counts"]:
        split, label, n = line.split("\t")
        counts[(split, int(label))] = counts.get((split, int(label)), 0) + int(n)
    skipped = sorted((json.loads(s) for s in sides["skipped"]), key=lambda s: s["path"])
    fallback = sorted((json.loads(s) for s in sides["fallback"]), key=lambda s: s["path"])
    found = sides[DUPLICATES]
    return {
        "corpus_root": str(root),
        "layout": layout,
        "class_names": classes,
        "documents": sum(counts.values()),
        "splits": corpus.count_table(counts, classes, split_names),
        "skipped": skipped,
        "decoded_with_fallback": fallback,
        "duplicates": json.loads(found[0]) if found else duplicates.report([], [], classes),
    }


def log_report(report: dict[str, Any]) -> None:
    logging.info(
        "DirectoryExampleGen: %d documents, classes %s; %s",
        report["documents"],
        report["class_names"],
        report["layout"],
    )
    for split, per_class in report["splits"].items():
        logging.info("  %-5s %s", split, ", ".join(f"{c}={n}" for c, n in per_class.items()))
    if report["skipped"]:
        logging.warning(
            "DirectoryExampleGen: %d files skipped (listed in %s): %s",
            len(report["skipped"]),
            REPORT_FILE,
            count_reasons(report["skipped"]),
        )
    if report["decoded_with_fallback"]:
        logging.warning(
            "DirectoryExampleGen: %d files were not UTF-8 and were decoded with a fallback (listed in %s)",
            len(report["decoded_with_fallback"]),
            REPORT_FILE,
        )
    logging.info(
        "DirectoryExampleGen: %s (groups listed in %s)", duplicates.summary_line(report["duplicates"]), REPORT_FILE
    )


def check_label_conflicts(report: dict[str, Any]) -> None:
    """With --on-label-conflict fail, any group of one text under two labels stops the run, its files named."""
    found = report["duplicates"]
    if found.get("label_conflict_policy") != "fail" or not found["label_conflicts"]:
        return
    groups = found["label_conflict_groups"]
    shown = "; ".join(" / ".join(f"{d['path']} ({d['class']})" for d in group) for group in groups[:3])
    raise corpus_layout.CorpusError(
        f"{len(groups)} label conflict(s) in {report['corpus_root']} (one text under two labels): {shown}"
        f"{'; ...' if len(groups) > 3 else ''}. Fix those files' labels, or pass --on-label-conflict drop "
        "(leave them out) or keep"
    )


def check_nothing_empty(report: dict[str, Any], source_folder) -> None:
    """Every split and every class in it needs documents; `source_folder(split)` is the folder a split is read from.

    The message itself says which files were skipped and why: TFX removes the
    outputs of a failed execution, the report with them.
    """
    for split, per_class in report["splits"].items():
        empty = [c for c, n in per_class.items() if n == 0]
        if not empty:
            continue
        prefixes = tuple(corpus_layout.class_folder(source_folder(split), c) for c in empty)
        skipped = [s for s in report["skipped"] if s["path"].startswith(prefixes)]
        shown = count_reasons(skipped) or "none"
        examples = ", ".join(s["path"] for s in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        raise corpus_layout.CorpusError(
            f"class(es) {empty} have no documents in split '{split}' of {report['corpus_root']}; "
            f"files skipped there: {shown}{f' ({examples})' if examples else ''}{_grouped(report, empty)}. "
            "Add readable documents to those class folders, or lower --eval-percent if the class is small"
        )


def _grouped(report: dict[str, Any], classes: list[str]) -> str:
    """The cause when a class's documents are few distinct texts: each duplicate group lands in one split."""
    found = report.get("duplicates") or {}
    names = report.get("class_names") or []
    parts = []
    for name in classes:
        label = names.index(name) if name in names else None
        total = sum(per_class.get(name, 0) for per_class in report["splits"].values())
        sizes = [
            sum(1 for d in g if d["label"] == label)
            for g in found.get("exact_groups", []) + found.get("near_groups", [])
        ]
        largest = max(sizes, default=0)
        if largest > 1:
            parts.append(f"{largest} of the {total} documents of '{name}' are copies or near copies of one text")
    if not parts:
        return ""
    return (
        "; "
        + "; ".join(parts)
        + " (a duplicate group lands in one split: --near-duplicate-threshold 0 splits near copies)"
    )
