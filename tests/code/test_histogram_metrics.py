"""The histogram figures (models/histogram_metrics.py): the calibration and example count from the shared histogram
are TFMA's Calibration's and ExampleCount's values, from the very histogram computation AUC declares (so TFMA runs
one combiner for all three); the histograms counted by the lean combiner give TFMA's AUC and plots, read directly
for the usual example and through TFMA's lookup for any other."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_specs, metric_types, metric_util

from models.evaluation import make_eval_config, written_name
from models.evaluation_settings import EvaluationConfig
from models.histogram_metrics import (
    CALIBRATION,
    EXAMPLE_COUNT,
    HistogramCalibration,
    HistogramExampleCount,
    LeanAUC,
    LeanCalibrationPlot,
    LeanConfusionMatrixPlot,
)
from tests.helpers import metric_values

# TFMA's confusion-matrix plot divides by empty counts at the extreme thresholds (its NaN, compared as TFMA's).
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")


def _value(metric, inputs, config, name: str = CALIBRATION) -> float:
    [value] = [v for k, v in metric_values(metric, inputs, config).items() if k.name == name]
    return value


def _inputs(labels, predictions):
    return [
        metric_types.StandardMetricInputs(
            labels=np.array([label]), predictions=np.array([p]), example_weights=np.array([1.0])
        )
        for label, p in zip(labels, predictions, strict=True)
    ]


def _random_binary(seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 500).astype(float)
    predictions = np.clip(rng.normal(0.3 + 0.4 * labels, 0.25), 0.0, 1.0)
    predictions[:3] = [0.0, 0.5, 1.0]  # the histogram's edges
    return labels, predictions


@pytest.mark.parametrize("seed", [0, 1])
def test_the_calibration_is_tfmas(seed):
    labels, predictions = _random_binary(seed)
    config = make_eval_config(2, EvaluationConfig())
    ours = _value(HistogramCalibration(), _inputs(labels, predictions), config)
    tfmas = _value(tfma.metrics.Calibration(), _inputs(labels, predictions), config)
    assert ours == pytest.approx(tfmas, rel=1e-12) and ours == pytest.approx(predictions.sum() / labels.sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_the_example_count_is_tfmas(seed):
    labels, predictions = _random_binary(seed)
    config = make_eval_config(2, EvaluationConfig())
    ours = _value(HistogramExampleCount(), _inputs(labels, predictions), config, EXAMPLE_COUNT)
    tfmas = _value(tfma.metrics.ExampleCount(), _inputs(labels, predictions), config, EXAMPLE_COUNT)
    assert ours == tfmas == 500


def test_no_positive_label_gives_nan_as_tfma_does():
    config = make_eval_config(2, EvaluationConfig())
    assert np.isnan(_value(HistogramCalibration(), _inputs([0.0, 0.0], [0.2, 0.7]), config))


@pytest.mark.parametrize("metric", [HistogramCalibration, HistogramExampleCount])
def test_it_reads_the_histogram_auc_fills(metric):
    config = make_eval_config(2, EvaluationConfig())
    auc = next(m for m in config.metrics_specs[0].metrics if written_name(m) == "auc")
    auc_keys = {key for c in tfma.metrics.AUC(num_thresholds=1000).computations(eval_config=config) for key in c.keys}
    assert auc.config == '{"num_thresholds": 1000}'
    ours = metric().computations(eval_config=config)
    histograms = [c for c in ours if isinstance(c, metric_types.MetricComputation)]
    assert len(histograms) == 1 and set(histograms[0].keys) <= auc_keys


def test_the_binary_config_runs_no_combiner_of_its_own_for_calibration_or_example_count():
    config = make_eval_config(2, EvaluationConfig())
    names = {m.class_name for m in config.metrics_specs[0].metrics}
    assert {"HistogramCalibration", "HistogramExampleCount"} <= names and not {"Calibration", "ExampleCount"} & names


LEAN = [
    (LeanAUC, tfma.metrics.AUC, {"num_thresholds": 1000}),
    (LeanCalibrationPlot, tfma.metrics.CalibrationPlot, {"num_buckets": 100}),
    (LeanConfusionMatrixPlot, tfma.metrics.ConfusionMatrixPlot, {"num_thresholds": 100}),
]


def _figures(metric, inputs, config, **keys) -> dict:
    """The metric's written figures and plots, by key name and model; a plot as its bytes (a NaN in a plot's
    proto, a precision without a predicted positive, makes the proto unequal to itself)."""
    values = metric_values(metric, inputs, config, **keys)
    as_compared = lambda v: v.SerializeToString(deterministic=True) if hasattr(v, "SerializeToString") else v  # noqa: E731
    return {(k.name, k.model_name): as_compared(v) for k, v in values.items() if not k.name.startswith("_")}


def _refused(*args, **kwargs):
    raise AssertionError("TFMA's lookup was called for an input the lean histogram reads directly")


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("ours, theirs, settings", LEAN)
def test_the_lean_histograms_give_tfmas_figures_read_directly(seed, ours, theirs, settings, monkeypatch):
    labels, predictions = _random_binary(seed)
    inputs = [
        metric_types.StandardMetricInputs(
            labels=np.array([int(y)]), predictions={"score": np.array([p], dtype=np.float32)}, example_weights=None
        )
        for y, p in zip(labels, predictions, strict=True)
    ]
    config = make_eval_config(2, EvaluationConfig())
    tfmas = _figures(theirs(**settings), inputs, config)
    monkeypatch.setattr(metric_util, "to_label_prediction_example_weight", _refused)
    assert _figures(ours(**settings), inputs, config) == tfmas and tfmas


@pytest.mark.parametrize(
    "labels, keys",
    [([0.3, 0.7, 1.0, 0.0], {}), ([1, 0, 1, 0], {"example_weighted": True})],
    ids=["fractional labels", "weighted"],
)
@pytest.mark.parametrize("ours, theirs, settings", LEAN)
def test_the_lean_histograms_count_anything_else_as_tfma_does(labels, keys, ours, theirs, settings):
    inputs = [
        metric_types.StandardMetricInputs(
            labels=np.array([y]), predictions=np.array([p], dtype=np.float32), example_weights=np.array([w + 1.0])
        )
        for w, (y, p) in enumerate(zip(labels, [0.2, 0.9, 0.6, 0.4], strict=True))
    ]
    config = make_eval_config(2, EvaluationConfig())
    assert _figures(ours(**settings), inputs, config, **keys) == _figures(theirs(**settings), inputs, config, **keys)


def test_the_binary_config_counts_each_histogram_once_and_leanly():
    """Every metric of the binary config that reads a histogram reads a lean one, and the metrics reading the
    default histogram share one combiner (TFMA tells computations apart by combiner class, keys and
    preprocessors): one histogram in all (the calibration plot rebins the default one into its 100 buckets)."""
    config = make_eval_config(2, EvaluationConfig())
    computations = [
        c
        for m in config.metrics_specs[0].metrics
        for c in metric_specs.metric_instance(m).computations(eval_config=config)
        if isinstance(c, metric_types.MetricComputation)
    ]
    histograms = {c for c in computations if "histogram" in type(c.combiner).__name__.lower()}
    assert {type(c.combiner).__name__ for c in histograms} == {"_LeanHistogram"} and len(histograms) == 1
