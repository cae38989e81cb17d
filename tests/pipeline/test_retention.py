"""Retention (issue 30): a scheduled pipeline's folders stay bounded, and nothing a kept run or version needs goes.

The soak test runs the pipeline 4 times on a corpus that grows between runs, with a policy of 2 runs and 2
served versions, so that retention removes something from the third run on; every bound is computed from it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pipeline import configs, retention
from tests.helpers import make_corpus, run_cli, write_doc

KEEP_RUNS, KEEP_VERSIONS, RUNS = 2, 2, 4


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def test_scheduled_runs_on_a_growing_corpus_keep_the_folders_bounded_and_the_history(tmp_path, monkeypatch, capsys):
    root = make_corpus(tmp_path / "corpus", n_train=16, n_test=8)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    work = tmp_path / "runs"
    policy = ["--keep-runs", str(KEEP_RUNS), "--keep-versions", str(KEEP_VERSIONS)]
    # Every run blessed and pushed; a small model (the default's million n-gram ids make each copy 130 MB).
    gate = ["--min-accuracy", "0", "--max-accuracy-drop", "1", "--epochs", "2", "--ngram-buckets", "1000"]
    paths = configs.RunPaths(work, "corpus")
    runs = []
    for k in range(RUNS):
        for c in ("neg", "pos"):  # the corpus grows: every run trains a new model
            write_doc(root / "train" / c / f"new_{k}.txt", f"{c} {'awful dull' if c == 'neg' else 'great fun'} day {k}")
        code, summary = run_cli(tmp_path, ["--data-dir", str(root), "--work-dir", str(work), *policy, *gate])
        assert code == 0, summary["failure"]
        assert summary["push"]["pushed"] is True
        runs.append(summary["run_id"])
        kept = summary["retention"]["kept_runs"]
        assert kept[-min(KEEP_RUNS, k + 1) :] == runs[-KEEP_RUNS:] and len(kept) <= KEEP_RUNS, kept
        versions = sorted(os.listdir(paths.serving))
        assert len(versions) == min(k + 1, KEEP_VERSIONS)
        assert Path(summary["push"]["path"]).name == versions[-1]  # the newest blessed model is served

    # The bound from the policy: the kept runs' artifacts, plus what every run keeps (its statistics, evaluation).
    store = retention.writable_store(str(paths.metadata))
    live = [a for a in store.get_artifacts() if a.type in retention.RETIRED_TYPES and a.state == a.LIVE]
    deleted = [a for a in store.get_artifacts() if a.type in retention.RETIRED_TYPES and a.state == a.DELETED]
    assert deleted and all(not Path(a.uri).exists() for a in deleted)
    assert all(Path(a.uri).exists() for a in live)
    newest = store.get_context_by_type_and_name("pipeline_run", runs[-1])
    executions = [e.id for e in store.get_executions_by_context(newest.id)]
    outputs = {e.artifact_id for e in store.get_events_by_execution_ids(executions) if e.type == e.OUTPUT}
    footprint = sum(size(a.uri) for a in store.get_artifacts_by_id(list(outputs)) if a.type in retention.RETIRED_TYPES)
    model = max(size(a.uri) for a in live if a.type == "Model")
    small = [a for a in store.get_artifacts() if a.type not in retention.RETIRED_TYPES]
    bound = KEEP_RUNS * footprint + sum(size(a.uri) for a in small if Path(a.uri).exists()) + (1 << 20)
    assert size(paths.pipeline_root) <= bound, (size(paths.pipeline_root), bound)
    assert size(paths.serving) <= KEEP_VERSIONS * model * 1.01
    # Nothing new in the temp folder but empty folders of Beam's (and TensorFlow's autograph files, removed when
    # the process ends): no 49 MB package per Beam component.
    left = [f for f in temp.rglob("*") if f.is_file() and not f.name.startswith("__autograph_generated_file")]
    assert left == [] and not list(temp.glob("*/build")), left

    # The history: every run listed, the retired ones as retired, with their evaluation.
    from tools import inspect

    capsys.readouterr()
    assert inspect.main(["runs", "--work-dir", str(work), "--name", "corpus", "--json"]) == 0
    rows = {r["run_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == runs
    assert [rows[r]["retired"] for r in runs] == [True] * (RUNS - KEEP_RUNS) + [False] * KEEP_RUNS
    assert all(rows[r]["test_accuracy"] is not None for r in runs)
    assert inspect.main(["runs", "--work-dir", str(work), "--name", "corpus"]) == 0
    assert capsys.readouterr().out.count("(retired)") == RUNS - KEEP_RUNS
