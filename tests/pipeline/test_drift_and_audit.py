"""Drift against the served model's training split (DriftCheck), --max-drift, and the label audit."""

from __future__ import annotations

import csv
import os
import shutil

from components.example_gen.corpus_layout import split_cuts
from components.example_gen.fingerprints import fingerprint
from components.example_gen.listing import split_for
from components.example_gen.settings import IngestConfig
from pipeline.recorded import mlmd
from tests.helpers import TINY_RUN_SETTINGS, make_corpus, run_cli, write_doc
from tools import audit


def states(summary) -> dict[str, str]:
    return {r["component"]: r["state"] for r in summary["components"]}


def test_the_same_corpus_again_reports_no_drift(tiny_run):
    code, s = run_cli(tiny_run.base, tiny_run.args)
    assert code == 0, s["failure"]
    drift = s["drift"]
    assert drift["served_version"] and drift["exceeded"] == []
    measures = drift["measures"]
    assert {m: measures[m] for m in ("label_linf", "word_count_js", "token_js")} == dict.fromkeys(
        ("label_linf", "word_count_js", "token_js"), 0.0
    )
    assert measures["oov_rate"] == measures["reference_oov_rate"]


def test_a_changed_class_balance_is_reported_and_max_drift_stops_the_run_before_transform(tiny_run, tmp_path):
    changed = tmp_path / "changed" / tiny_run.root.name  # the same name: the same run and serving folder
    shutil.copytree(tiny_run.root, changed)
    for path in sorted((changed / "train" / "pos").iterdir())[::2]:  # half of one class's files
        path.unlink()
    args = ["--data-dir", str(changed), *tiny_run.args[2:]]
    served = sorted(os.listdir(tiny_run.serving))
    code, s = run_cli(tiny_run.base, args, "--max-drift", "label_linf=0.05")
    assert code != 0
    assert "label_linf" in s["failure"] and "> 0.05 (--max-drift)" in s["failure"], s["failure"]
    ran = states(s)
    assert ran["DriftCheck"] == "failed" and "Transform" not in ran and "Trainer" not in ran
    assert sorted(os.listdir(tiny_run.serving)) == served


def test_audit_ranks_planted_flipped_labels_above_clean_ones_and_test_twins_are_the_seen_slice(tmp_path, capsys):
    root = make_corpus(tmp_path / "flipped", n_train=60, n_test=20)
    flipped = []
    for path in sorted((root / "train" / "pos").iterdir())[:8]:  # pos reviews filed under neg (ratings 7-10)
        path.rename(root / "train" / "neg" / path.name)
        flipped.append(f"train/neg/{path.name}")
    # Two test files copied from train files that the split plan keeps in train: the seen_in_train slice.
    cuts = split_cuts(IngestConfig().eval_percent, None)
    for name in ("neg", "pos"):
        sources = sorted((root / "train" / name).iterdir())
        source = next(p for p in sources if split_for(fingerprint("", "", 0, p.read_text()).key, cuts) == "train")
        write_doc(root / "test" / name / f"9{source.name}", source.read_text().upper())  # IMDB names: <id>_<rating>
    args = ["--data-dir", str(root), "--work-dir", str(tmp_path / "runs"), *TINY_RUN_SETTINGS]
    code, s = run_cli(tmp_path, args, "--epochs", "15", "--min-accuracy", "0.5")
    assert code == 0, s["failure"]
    assert s["ingestion"]["duplicates"]["test_with_train_twin_exact"] == 2
    unseen = s["evaluation"]["unseen"]
    assert unseen["seen_count"] == 2 and unseen["unseen_count"] == s["evaluation"]["overall"]["example_count"] - 2
    capsys.readouterr()
    assert audit.main(["labels", "--name", "flipped", "--work-dir", str(tmp_path / "runs"), "--folds", "3"]) == 0
    printed = capsys.readouterr().out
    (audit_dir,) = (tmp_path / "runs" / "flipped" / "audits").iterdir()
    rows = list(csv.DictReader(open(audit_dir / audit.ISSUES_FILE)))
    ranks = {r["file"]: int(r["rank"]) for r in rows}
    found = [f for f in flipped if f in ranks]
    # Most flips are found, and they lead the ranking: clean files come after them.
    assert len(found) >= 5, (found, rows[:10])
    assert sorted(ranks[f] for f in found) == list(range(1, len(found) + 1)), rows[:12]
    assert all(r["suggested"] == "pos" for r in rows if r["file"] in found)
    assert "suspect labels of" in printed and found[0] in printed
    store = mlmd.sqlite_store(str(tmp_path / "runs" / "flipped" / "metadata.sqlite"))
    (execution,) = store.get_executions_by_type(audit.AUDIT_TYPE)
    assert mlmd.custom_property(execution, "suspects") == len(rows)
    (examples,) = mlmd.input_artifacts(store, execution.id)["examples"]
    assert examples.uri == s["ingestion"]["examples_uri"]
