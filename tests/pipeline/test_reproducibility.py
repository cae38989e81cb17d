"""Same corpus, code and settings: the same vocabulary, transformed examples and metrics.

The shared cold run (conftest's tiny_run) is compared with a second cold run in
a fresh pipeline root, on a copy of its corpus written in reverse order and
read while every directory listing comes back reversed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import SKEW_TEXTS, outputs_of, read_records, run_cli, vocabulary_files, write_doc


class _ReversedScandir:
    """os.scandir's entries, last first: a file system that lists in another order."""

    def __init__(self, real):
        with real:
            self._entries = iter(list(real)[::-1])

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._entries)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass


def record_hashes(examples_uri: str, split: str, canonical: bool = False) -> list[str]:
    """sha256 of each record, in file order; `canonical`: of its deterministic re-serialization.

    Transform writes a tf.Example's feature map in an order that varies from
    process to process: the same example, other bytes. Our ExampleGen writes
    canonical bytes, so its records are compared as they are.
    """
    records = read_records(str(Path(examples_uri) / f"Split-{split}" / "*"))
    if canonical:
        records = [tf.train.Example.FromString(r).SerializeToString(deterministic=True) for r in records]
    return [hashlib.sha256(r).hexdigest() for r in records]


@pytest.fixture(scope="module")
def second(tiny_run, tmp_path_factory, monkeypatch_module):
    base = tmp_path_factory.mktemp("repro")
    files = sorted(p for p in tiny_run.root.rglob("*") if p.is_file())
    for p in reversed(files):  # created in the other order
        write_doc(base / "corpus-copy" / p.relative_to(tiny_run.root), p.read_bytes())
    real_scandir, real_listdir = os.scandir, os.listdir
    monkeypatch_module.setattr(os, "scandir", lambda *a: _ReversedScandir(real_scandir(*a)))
    monkeypatch_module.setattr(os, "listdir", lambda *a: real_listdir(*a)[::-1])
    args = list(tiny_run.args)
    args[args.index("--data-dir") + 1] = str(base / "corpus-copy")
    args[args.index("--work-dir") + 1] = str(base / "runs")
    code, summary = run_cli(base, [*args, "--name", "corpus"])
    monkeypatch_module.undo()
    assert code == 0, summary["failure"]
    assert {row["state"] for row in summary["components"]} == {"ran"}  # cold: nothing from a cache
    return summary, base / "runs" / "corpus" / "metadata.sqlite"


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_listing_order_really_was_reversed(tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / name).write_text(name)
    forward = sorted(os.listdir(tmp_path))
    with pytest.MonkeyPatch.context() as mp:
        real = os.scandir
        mp.setattr(os, "scandir", lambda *a: _ReversedScandir(real(*a)))
        assert [e.name for e in os.scandir(tmp_path)] == list(reversed([e.name for e in real(tmp_path)]))
        assert [d for d, _, _ in os.walk(tmp_path)] == [str(tmp_path)]
    assert forward == ["a", "b", "c"]


def test_second_cold_run_writes_the_same_vocabulary_and_examples(tiny_run, second):
    summary, metadata = second
    one, two = outputs_of(tiny_run.metadata, tiny_run.summary["run_id"]), outputs_of(metadata, summary["run_id"])
    vocab_one = vocabulary_files(one["Transform"]["TransformGraph"])
    assert vocab_one and vocab_one == vocabulary_files(two["Transform"]["TransformGraph"])  # byte for byte
    for split in ("train", "eval", "test"):
        raw = record_hashes(one["DirectoryExampleGen"]["Examples"], split)
        assert raw and raw == record_hashes(two["DirectoryExampleGen"]["Examples"], split)
        assert "Examples" in one["Transform"], "the tiny run materializes the transformed splits"
        transformed = record_hashes(one["Transform"]["Examples"], split, canonical=True)
        assert transformed and transformed == record_hashes(two["Transform"]["Examples"], split, canonical=True)


def test_second_cold_run_trains_a_model_with_the_same_metrics_and_predictions(tiny_run, second):
    summary, _ = second
    first_metrics, second_metrics = tiny_run.summary["evaluation"]["overall"], summary["evaluation"]["overall"]
    assert set(first_metrics) == set(second_metrics)
    for name, value in first_metrics.items():
        assert second_metrics[name] == pytest.approx(value, abs=1e-6), name
    models = [tf.saved_model.load(s["push"]["path"]) for s in (tiny_run.summary, summary)]
    probabilities = [
        m.signatures["predict_text"](text=tf.constant(SKEW_TEXTS))["probabilities"].numpy() for m in models
    ]
    np.testing.assert_allclose(probabilities[0], probabilities[1], atol=1e-6)
