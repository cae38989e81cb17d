"""TFMA's BinaryAccuracy, Precision and Recall at the 0.5 threshold, from one combiner that reads each example's
label and score directly.

TFMA's three share one exact confusion-matrix combiner. Per example it calls `to_label_prediction_example_weight`
(model, output and prediction-key lookups, label vocabularies, fractional-label splitting, weights) and then
merges a new entry into a dictionary of thresholds: about 54 us per example, 1.35 s of the Evaluator's 11 s on
IMDB's 25,000 test reviews (bench/NOTES.md, "The feature slices per batch": 12.09 and 11.55 s with the three,
10.64 and 10.30 s without them).

Here, an example whose label is one 0 or 1 and whose score is one number in [0, 1] (the binary classifier's
`score`, of each model) is counted straight away. Any other example goes through TFMA's own lookup and is counted
as TFMA's combiner counts it (the label 1.0 is positive; fractional labels come split into weighted 0 and 1), so
its errors are TFMA's. The figures are then TFMA's own formulas (each metric class's `result`) over the same
four sums, added in the same order.
"""

from __future__ import annotations

import apache_beam as beam
from tensorflow_model_analysis.metrics import (
    binary_confusion_matrices,
    confusion_matrix_metrics,
    metric_types,
    metric_util,
)

from models.metric_inputs import KeyParts, ScoreReader, per_key_computations

THRESHOLD = 0.5  # TFMA's default for its confusion-matrix metrics: a score above it is the positive class
_TP, _TN, _FP, _FN = range(4)


class _ConfusionAtThreshold(beam.CombineFn):
    """The weighted true/false positive/negative sums at `THRESHOLD`, as TFMA's `Matrices` of one threshold."""

    def __init__(self, key: metric_types.MetricKey, eval_config, parts: KeyParts):
        self._key = key
        self._eval_config = eval_config
        self._parts = parts
        self._read = ScoreReader(eval_config, parts)

    def create_accumulator(self) -> list[float]:
        return [0.0, 0.0, 0.0, 0.0]

    def add_input(self, accumulator: list[float], element: metric_types.StandardMetricInputs) -> list[float]:
        read = self._read(element)
        if read is not None:
            label, score = read
            cell = (_TP if score > THRESHOLD else _FN) if label == 1.0 else (_FP if score > THRESHOLD else _TN)
            accumulator[cell] += 1.0
            return accumulator
        for label, prediction, weight in metric_util.to_label_prediction_example_weight(
            element,
            eval_config=self._eval_config,
            fractional_labels=True,
            flatten=True,
            **self._parts.as_kwargs(),
        ):
            positive = metric_util.safe_to_scalar(prediction) > THRESHOLD
            if metric_util.safe_to_scalar(label) == 1.0:
                cell = _TP if positive else _FN
            else:
                cell = _FP if positive else _TN
            accumulator[cell] += metric_util.safe_to_scalar(weight)
        return accumulator

    def merge_accumulators(self, accumulators) -> list[float]:
        merged = self.create_accumulator()
        for accumulator in accumulators:
            for cell in range(4):
                merged[cell] += accumulator[cell]
        return merged

    def extract_output(self, accumulator: list[float]) -> dict[metric_types.MetricKey, object]:
        tp, tn, fp, fn = accumulator
        return {
            self._key: binary_confusion_matrices.Matrices(thresholds=[THRESHOLD], tp=[tp], tn=[tn], fp=[fp], fn=[fn])
        }


def _computations(figure: confusion_matrix_metrics.ConfusionMatrixMetric):
    """TFMA's per-key computations of `figure`'s formula over the one combiner's sums."""

    def build(name: str, eval_config, parts: KeyParts) -> metric_types.MetricComputations:
        # Private (a leading "_", as TFMA names its matrices): computed, shared by the three, not written.
        matrices_key = parts.key(f"_confusion_at_{THRESHOLD}", with_aggregation=False)
        key = parts.key(name)

        def result(metrics: dict[metric_types.MetricKey, object]) -> dict[metric_types.MetricKey, float]:
            m = metrics[matrices_key]
            return {key: figure.result(m.tp[0], m.tn[0], m.fp[0], m.fn[0])}

        combiner = _ConfusionAtThreshold(matrices_key, eval_config, parts)
        return [
            metric_types.MetricComputation(keys=[matrices_key], preprocessors=None, combiner=combiner),
            metric_types.DerivedMetricComputation(keys=[key], result=result),
        ]

    return per_key_computations(build)


class _AtHalf(metric_types.Metric):
    """A TFMA confusion-matrix metric at 0.5 (`tfma_class`), its figure from the shared lean combiner, under its
    TFMA name."""

    tfma_class: type[confusion_matrix_metrics.ConfusionMatrixMetric]

    def __init__(self, name: str | None = None):
        formula = self.tfma_class()  # its `result(tp, tn, fp, fn)` and its default name
        super().__init__(_computations(formula), name=name or formula.name)


class BinaryAccuracyAtHalf(_AtHalf):
    tfma_class = confusion_matrix_metrics.BinaryAccuracy


class PrecisionAtHalf(_AtHalf):
    tfma_class = confusion_matrix_metrics.Precision


class RecallAtHalf(_AtHalf):
    tfma_class = confusion_matrix_metrics.Recall


for _metric_class in (BinaryAccuracyAtHalf, PrecisionAtHalf, RecallAtHalf):
    metric_types.register_metric(_metric_class)
