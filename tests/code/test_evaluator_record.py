"""Evaluation records: keyed by what the figures depend on, written whole, and ignored when unreadable."""

from __future__ import annotations

import logging
from pathlib import Path

import tensorflow as tf
from tensorflow_model_analysis.proto import metrics_for_slice_pb2

from components.evaluator import record as evaluation_record
from models.evaluation import make_eval_config
from models.evaluation_settings import EvaluationConfig


def _folder(path: Path, files) -> str:
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return str(path)


def test_the_key_sees_model_examples_metrics_and_code_but_not_thresholds(tmp_path):
    model = _folder(tmp_path / "model", {"saved_model.pb": b"m", "variables/v": b"w"})
    split = evaluation_record.examples_digest([_folder(tmp_path / "Split-test", {"data.gz": b"examples"})])
    gate, other_gate = make_eval_config(2, EvaluationConfig(0.7, 0.01)), make_eval_config(2, EvaluationConfig(0.5, 0.2))
    key = evaluation_record.record_key(model, split, gate, "code")
    assert key == evaluation_record.record_key(model, split, other_gate, "code")  # the gate only
    sliced = make_eval_config(2, EvaluationConfig(0.7, 0.01), ["label"])
    assert key != evaluation_record.record_key(model, split, sliced, "code")
    assert key != evaluation_record.record_key(model, split, gate, "other code")
    other_split = evaluation_record.examples_digest([_folder(tmp_path / "other", {"data.gz": b"examples!"})])
    assert key != evaluation_record.record_key(model, other_split, gate, "code")
    other_model = _folder(tmp_path / "model2", {"saved_model.pb": b"m", "variables/v": b"w2"})
    assert key != evaluation_record.record_key(other_model, split, gate, "code")


def _tfma_output(folder: Path, model_name: str) -> str:
    """A TFMA output folder holding one slice's metrics and plots."""
    folder.mkdir()
    metrics = metrics_for_slice_pb2.MetricsForSlice()
    kv = metrics.metric_keys_and_values.add()
    kv.key.name, kv.key.model_name = "binary_accuracy", model_name
    kv.value.double_value.value = 0.875
    diff = metrics.metric_keys_and_values.add(key=kv.key)
    diff.key.is_diff = True
    diff.value.double_value.value = 0.1
    plots = metrics_for_slice_pb2.PlotsForSlice()
    plots.plot_keys_and_values.add().key.model_name = model_name
    for name, proto in (("metrics-00000-of-00001.tfrecord", metrics), ("plots-00000-of-00001.tfrecord", plots)):
        with tf.io.TFRecordWriter(str(folder / name)) as out:
            out.write(proto.SerializeToString())
    return str(folder)


def test_a_record_holds_the_named_models_figures_without_diffs(tmp_path):
    store = str(tmp_path / "store")
    evaluation_record.write(store, "k", _tfma_output(tmp_path / "out", "candidate"), "candidate")
    metrics, plots = evaluation_record.read(store, "k")
    [kv] = metrics[0].metric_keys_and_values
    assert (kv.key.name, kv.key.model_name, kv.key.is_diff) == ("binary_accuracy", "", False)
    assert kv.value.double_value.value == 0.875
    assert [p.key.model_name for p in plots[0].plot_keys_and_values] == [""]
    assert sorted(p.name for p in Path(store).iterdir()) == ["k.metrics.tfrecord", "k.plots.tfrecord"]


def test_a_missing_or_unreadable_record_means_evaluating_the_baseline(tmp_path, caplog):
    store = tmp_path / "store"
    assert evaluation_record.read(str(store), "k") is None
    evaluation_record.write(str(store), "k", _tfma_output(tmp_path / "out", ""), "")
    (store / "k.metrics.tfrecord").write_bytes(b"not a record")
    with caplog.at_level(logging.WARNING):
        assert evaluation_record.read(str(store), "k") is None
    assert "unreadable evaluation record" in caplog.text and "k.metrics.tfrecord" in caplog.text
