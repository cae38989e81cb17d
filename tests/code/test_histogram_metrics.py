"""The calibration and example count figures from the shared histogram (models/histogram_metrics.py): TFMA's
Calibration's and ExampleCount's values, from the very histogram computation AUC declares (so TFMA runs one
combiner for all three)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types

from models.evaluation import make_eval_config
from models.evaluation_settings import EvaluationConfig
from models.histogram_metrics import CALIBRATION, EXAMPLE_COUNT, HistogramCalibration, HistogramExampleCount
from tests.helpers import metric_values


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
    auc = next(m for m in config.metrics_specs[0].metrics if m.class_name == "AUC")
    auc_keys = {key for c in tfma.metrics.AUC(num_thresholds=1000).computations(eval_config=config) for key in c.keys}
    assert auc.config == '{"num_thresholds": 1000}'
    ours = metric().computations(eval_config=config)
    histograms = [c for c in ours if isinstance(c, metric_types.MetricComputation)]
    assert len(histograms) == 1 and set(histograms[0].keys) <= auc_keys


def test_the_binary_config_runs_no_combiner_of_its_own_for_calibration_or_example_count():
    config = make_eval_config(2, EvaluationConfig())
    names = {m.class_name for m in config.metrics_specs[0].metrics}
    assert {"HistogramCalibration", "HistogramExampleCount"} <= names and not {"Calibration", "ExampleCount"} & names
