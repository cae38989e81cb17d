"""Recorded evaluations: a blessed model's metrics, kept so that a later gate need not evaluate it again.

A candidate is gated against the served model on the test split. TFMA's
two-model evaluation runs the served model over every example and slice again,
although that model was itself evaluated, as a candidate, on the same examples
when it was blessed. The Evaluator records each blessed candidate's metrics
and plots here; a later Evaluator whose baseline has a record evaluates the
candidate alone and merges the record in, giving the same output and the same
gate as TFMA's two-model evaluation (tests/pipeline/test_pipeline_e2e.py compares both).

A record is found by its key: the sha256 of the model's files, of the
evaluated split files, of the evaluation config without its thresholds (which
decide the gate, not the metrics), of the evaluation code and of the TFMA
version. Any change to one
of them is a different key, so a record is never stale; a record that cannot
be read is ignored (with a warning) and TFMA evaluates both models.

Layout: `<store>/<key>.metrics.tfrecord` and `<key>.plots.tfrecord` (TFMA's
MetricsForSlice and PlotsForSlice protos, the model named ""). The plots file
is written first and each file under a temporary name, then renamed: a record
whose metrics file exists is whole.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterable, Sequence

import tensorflow as tf
import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tensorflow_model_analysis.evaluators import metrics_validator
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.proto import metrics_for_slice_pb2, validation_result_pb2
from tensorflow_model_analysis.slicer import slicer_lib
from tensorflow_model_analysis.writers import eval_config_writer
from tensorflow_model_analysis.writers import metrics_plots_and_validations_writer as writer
from tfx.dsl.io import fileio

from components.served_model_baseline import folder_digest
from models.evaluation import config_without_thresholds

CANDIDATE = "candidate"  # the model names TFX gives a two-model evaluation
BASELINE = "baseline"
_METRICS, _PLOTS = "metrics", "plots"


def examples_digest(split_dirs: Sequence[str]) -> str:
    """sha256 of the evaluated split files (computed once per evaluation, shared by both models' keys)."""
    return hashlib.sha256("\n".join(folder_digest(d) for d in split_dirs).encode()).hexdigest()


def record_key(model_dir: str, examples: str, eval_config: tfma.EvalConfig, code_version: str) -> str:
    """What a model's figures on these examples (`examples_digest`) depend on, as one sha256.

    `code_version`: the evaluation code's fingerprint.
    """
    parts = {
        "model": folder_digest(model_dir),
        "examples": examples,
        "eval_config": json_format.MessageToJson(config_without_thresholds(eval_config), sort_keys=True),
        "code": code_version,
        "tfma": tfma.__version__,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _path(store: str, key: str, kind: str) -> str:
    return os.path.join(store, f"{key}.{kind}.tfrecord")


def _write_records(path: str, records: Iterable[bytes]) -> None:
    temporary = f"{path}.tmp-{uuid.uuid4().hex}"
    with tf.io.TFRecordWriter(temporary) as out:
        for record in records:
            out.write(record)
    fileio.rename(temporary, path, overwrite=True)


def _single_model(protos, model_name: str):
    """Copies of `protos` holding only `model_name`'s values (not diffs), renamed to ""."""
    out = []
    for proto in protos:
        proto = copy.deepcopy(proto)
        field = (
            "metric_keys_and_values"
            if isinstance(proto, metrics_for_slice_pb2.MetricsForSlice)
            else "plot_keys_and_values"
        )
        kept = [
            kv
            for kv in getattr(proto, field)
            if kv.key.model_name == model_name and not getattr(kv.key, "is_diff", False)
        ]
        proto.ClearField(field)
        for kv in kept:
            kv.key.model_name = ""
            getattr(proto, field).append(kv)
        out.append(proto)
    return out


def write(store: str, key: str, evaluation_dir: str, model_name: str) -> None:
    """Records `model_name`'s metrics and plots from a TFMA output folder under `key`."""
    fileio.makedirs(store)
    _write_records(
        _path(store, key, _PLOTS),
        (p.SerializeToString() for p in _single_model(tfma.load_plots(evaluation_dir), model_name)),
    )
    _write_records(
        _path(store, key, _METRICS),
        (m.SerializeToString() for m in _single_model(tfma.load_metrics(evaluation_dir), model_name)),
    )


def read(store: str, key: str) -> tuple[list, list] | None:
    """(MetricsForSlice list, PlotsForSlice list) recorded under `key`, or None if there is no usable record."""
    metrics_path, plots_path = _path(store, key, _METRICS), _path(store, key, _PLOTS)
    if not fileio.exists(metrics_path):
        return None
    try:
        metrics = [
            metrics_for_slice_pb2.MetricsForSlice.FromString(r)
            for r in tf.compat.v1.io.tf_record_iterator(metrics_path)
        ]
        plots = [
            metrics_for_slice_pb2.PlotsForSlice.FromString(r) for r in tf.compat.v1.io.tf_record_iterator(plots_path)
        ]
    except Exception as error:  # noqa: BLE001 (any unreadable record means: evaluate both models)
        logging.warning(
            "Evaluator: ignoring the unreadable evaluation record %s (%s); evaluating the baseline model again",
            metrics_path,
            error,
        )
        return None
    if not metrics:
        logging.warning("Evaluator: ignoring the empty evaluation record %s", metrics_path)
        return None
    return metrics, plots


def _by_slice(protos) -> dict[bytes, object]:
    return {p.slice_key.SerializeToString(deterministic=True): p for p in protos}


def _value(metric_value) -> object:
    """A recorded metric as TFMA's validator reads it: a float where the record holds a double."""
    return metric_value.double_value.value if metric_value.HasField("double_value") else metric_value


def _merge_metrics(
    candidate: metrics_for_slice_pb2.MetricsForSlice, baseline: metrics_for_slice_pb2.MetricsForSlice | None
):
    """One slice as TFMA's two-model evaluation writes it: candidate, baseline and diff (candidate - baseline)."""
    merged = metrics_for_slice_pb2.MetricsForSlice(slice_key=candidate.slice_key)
    recorded = {
        kv.key.SerializeToString(deterministic=True): kv.value
        for kv in (baseline.metric_keys_and_values if baseline else [])
    }
    diffs = []
    for kv in candidate.metric_keys_and_values:
        own = merged.metric_keys_and_values.add(key=kv.key, value=kv.value)
        own.key.model_name = CANDIDATE
        base_value = recorded.get(kv.key.SerializeToString(deterministic=True))
        if base_value is None:
            continue
        base = merged.metric_keys_and_values.add(key=kv.key, value=base_value)
        base.key.model_name = BASELINE
        # TFMA diffs numbers only (metrics_plots_and_validations_evaluator._is_metric_diffable);
        # every metric of this project's config is a double.
        if kv.value.HasField("double_value") and base_value.HasField("double_value"):
            diff = metrics_for_slice_pb2.MetricsForSlice.MetricKeyAndValue(key=own.key)
            diff.key.is_diff = True
            diff.value.double_value.value = kv.value.double_value.value - base_value.double_value.value
            diffs.append(diff)
    merged.metric_keys_and_values.extend(diffs)
    return merged


def _merge_plots(candidate, baseline):
    merged = metrics_for_slice_pb2.PlotsForSlice(slice_key=candidate.slice_key)
    for name, source in ((CANDIDATE, candidate), (BASELINE, baseline)):
        for kv in source.plot_keys_and_values if source is not None else []:
            added = merged.plot_keys_and_values.add(key=kv.key, value=kv.value)
            added.key.model_name = name
    return merged


def _validate(
    merged: list[metrics_for_slice_pb2.MetricsForSlice], eval_config: tfma.EvalConfig
) -> validation_result_pb2.ValidationResult:
    """TFMA's own validation of every slice, combined as TFMA's writer combines it."""
    combine = writer.CombineValidations(eval_config, rubber_stamp=False)
    result = combine.create_accumulator()
    for proto in merged:
        values = {metric_types.MetricKey.from_proto(kv.key): _value(kv.value) for kv in proto.metric_keys_and_values}
        slice_key = slicer_lib.deserialize_slice_key(proto.slice_key)
        result = combine.add_input(result, metrics_validator.validate_metrics((slice_key, values), eval_config))
    return combine.extract_output(result)


def merge_into(
    evaluation_dir: str, recorded: tuple[list, list], eval_config: tfma.EvalConfig, baseline_model_dir: str
) -> validation_result_pb2.ValidationResult:
    """Turns a candidate-only TFMA output into the two-model output, with the baseline's recorded figures.

    `eval_config` is the two-model config (TFX's defaults for a run with a
    baseline). Rewrites the metrics, plots, validation and config files of
    `evaluation_dir` and returns the validation result.
    """
    base_metrics, base_plots = (_by_slice(r) for r in recorded)
    metrics = [
        _merge_metrics(m, base_metrics.get(m.slice_key.SerializeToString(deterministic=True)))
        for m in tfma.load_metrics(evaluation_dir)
    ]
    plots = [
        _merge_plots(p, base_plots.get(p.slice_key.SerializeToString(deterministic=True)))
        for p in tfma.load_plots(evaluation_dir)
    ]
    validation = _validate(metrics, eval_config)
    for prefix, protos in ((_METRICS, metrics), (_PLOTS, plots)):
        [path] = fileio.glob(os.path.join(evaluation_dir, f"{prefix}-*"))
        _write_records(path, (p.SerializeToString() for p in protos))
    [path] = fileio.glob(os.path.join(evaluation_dir, "validations*"))
    _write_records(path, [validation.SerializeToString()])
    _, data_location, file_format, locations = eval_config_writer.load_eval_run(evaluation_dir)
    locations = {CANDIDATE: next(iter(locations.values())), BASELINE: baseline_model_dir}
    config_path = os.path.join(evaluation_dir, f"{eval_config_writer.EVAL_CONFIG_FILE}.json")
    with fileio.open(config_path, "w") as f:
        f.write(
            eval_config_writer._serialize_eval_run(  # noqa: SLF001 (TFMA's own format)
                eval_config, data_location, file_format, locations
            )
        )
    return validation
