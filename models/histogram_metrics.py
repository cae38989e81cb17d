"""TFMA's `calibration` and `example_count` for a binary classifier, read from the calibration histogram that AUC
and the confusion-matrix plot already fill, instead of from a combiner each.

Each TFMA metric with a combiner of its own visits every example again (and looks up its label and prediction
again). The default histogram's buckets keep exact sums of weighted labels, predictions and examples, so their
totals are the same sums, added in another order:
- calibration, the sum of predictions over the sum of labels (TFMA's Calibration). On IMDB's test split the
  evaluation took 19.23 and 18.72 s with TFMA's Calibration and 18.27 and 18.06 s without it (bench/NOTES.md,
  "Calibration from the shared histogram");
- example_count, the sum of the examples' weights, 1 each when unweighted (TFMA's ExampleCount). The histogram
  holds one entry per label and prediction pair, so this is the examples' count only where each example has one
  score: the binary classifier's `score` (models/evaluation.make_eval_config uses it there alone). With TFMA's
  ExampleCount 12.09 and 11.55 s, without it 11.68 and 11.08 s (bench/NOTES.md, "The feature slices per batch").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from tensorflow_model_analysis.metrics import (
    calibration_histogram,
    calibration_plot,
    confusion_matrix_metrics,
    confusion_matrix_plot,
    metric_types,
)

from models.metric_inputs import KeyParts, ScoreReader, per_key_computations

# TFMA's histogram combiner (pinned TFMA 0.47): _LeanHistogram keeps its buckets, merging and output.
_TFMA_HISTOGRAM = calibration_histogram._CalibrationHistogramCombiner  # noqa: SLF001

CALIBRATION = "calibration"  # TFMA's own names for the figures: reports and records read these keys
EXAMPLE_COUNT = "example_count"


def _from_histogram(figure: Callable[[list], float]):
    """TFMA's per-key computations of a figure of the default histogram's buckets."""

    def build(name: str, eval_config, parts: KeyParts) -> metric_types.MetricComputations:
        key = parts.key(name, with_aggregation=False)  # TFMA's Calibration and ExampleCount keys carry none
        # The arguments binary_confusion_matrices gives for AUC's thresholds: the same key, so TFMA runs one
        # combiner.
        histogram = calibration_histogram.calibration_histogram(eval_config=eval_config, **parts.as_kwargs())
        histogram_key = histogram[-1].keys[-1]

        def result(metrics: dict[metric_types.MetricKey, Any]) -> dict[metric_types.MetricKey, float]:
            return {key: figure(metrics[histogram_key])}

        return [*with_lean_histograms(histogram), metric_types.DerivedMetricComputation(keys=[key], result=result)]

    return per_key_computations(build)


def _calibration(buckets) -> float:
    labels = sum(bucket.weighted_labels for bucket in buckets)
    predictions = sum(bucket.weighted_predictions for bucket in buckets)
    return float("nan") if np.isclose(labels, 0.0) else predictions / labels  # as TFMA's Calibration


def _example_count(buckets) -> float:
    return float(sum(bucket.weighted_examples for bucket in buckets))


class HistogramCalibration(metric_types.Metric):
    """TFMA's Calibration figure from the shared calibration histogram."""

    def __init__(self, name: str = CALIBRATION):
        super().__init__(_from_histogram(_calibration), name=name)


class HistogramExampleCount(metric_types.Metric):
    """TFMA's ExampleCount figure from the shared calibration histogram: one score per example only."""

    def __init__(self, name: str = EXAMPLE_COUNT):
        super().__init__(_from_histogram(_example_count), name=name)


class _LeanHistogram(_TFMA_HISTOGRAM):
    """TFMA's calibration histogram, each usual example's label and score read directly (ScoreReader) and added
    as TFMA adds them (weight 1: the label, the score and 1.0 to the score's bucket); any other example through
    TFMA's own `add_input`."""

    def __init__(self, tfma_combiner: _TFMA_HISTOGRAM):
        self.__dict__.update(tfma_combiner.__dict__)  # its key, config, number of buckets and range
        key = self._key
        parts = KeyParts(
            key.model_name,
            key.output_name,
            key.sub_key,
            self._aggregation_type,
            self._class_weights,
            self._example_weighted,
        )
        self._read = ScoreReader(self._eval_config, parts)

    def add_input(self, accumulator: dict, element: metric_types.StandardMetricInputs) -> dict:
        read = self._read(element)
        if read is None:
            return super().add_input(accumulator, element)
        label, score = read
        index = self._bucket_index(score if self._prediction_based_bucketing else label)
        bucket = accumulator.get(index)
        if bucket is None:
            accumulator[index] = calibration_histogram.Bucket(index, label, score, 1.0)
        else:
            bucket.weighted_labels += label
            bucket.weighted_predictions += score
            bucket.weighted_examples += 1.0
        return accumulator


def with_lean_histograms(computations: metric_types.MetricComputations) -> metric_types.MetricComputations:
    """`computations` with each of TFMA's calibration histograms counted by _LeanHistogram. Same keys: every
    metric here that reads one histogram still shares one combiner (TFMA tells computations apart by combiner
    class name, keys and preprocessors)."""
    return [
        metric_types.MetricComputation(c.keys, c.preprocessors, _LeanHistogram(c.combiner))
        if isinstance(c, metric_types.MetricComputation) and type(c.combiner) is _TFMA_HISTOGRAM
        else c
        for c in computations
    ]


class _FromLeanHistograms:
    """A TFMA metric whose histograms are counted by _LeanHistogram: its figures and name are TFMA's."""

    def computations(self, *args, **kwargs) -> metric_types.MetricComputations:
        return with_lean_histograms(super().computations(*args, **kwargs))


class LeanAUC(_FromLeanHistograms, confusion_matrix_metrics.AUC):
    """TFMA's AUC."""


class LeanCalibrationPlot(_FromLeanHistograms, calibration_plot.CalibrationPlot):
    """TFMA's CalibrationPlot."""


class LeanConfusionMatrixPlot(_FromLeanHistograms, confusion_matrix_plot.ConfusionMatrixPlot):
    """TFMA's ConfusionMatrixPlot."""


for _metric_class in (
    HistogramCalibration,
    HistogramExampleCount,
    LeanAUC,
    LeanCalibrationPlot,
    LeanConfusionMatrixPlot,
):
    metric_types.register_metric(_metric_class)
