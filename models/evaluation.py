"""TFMA configuration: metrics, slices and the blessing thresholds.

Blessing = test accuracy at least `min_accuracy` AND no drop of more than
`max_accuracy_drop` against the served model (ServedModelBaseline; TFMA skips
the change threshold when there is no baseline, i.e. while nothing else is served).

Every metric is computed on the overall slice; the feature slices get the
example count and the accuracy only (components/evaluator/slices.py): TFMA's
cost is per example, per slice and per metric family, and the slices are for looking.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants as tfma_constants
from tensorflow_model_analysis.metrics import metric_specs

from models.evaluation_settings import EvaluationConfig
from models.features import LABEL_KEY, SLICE_FEATURES
from models.histogram_metrics import (
    HistogramCalibration,
    HistogramExampleCount,
    LeanAUC,
    LeanCalibrationPlot,
    LeanConfusionMatrixPlot,
)
from models.threshold_metrics import BinaryAccuracyAtHalf, PrecisionAtHalf, RecallAtHalf

BINARY_ACCURACY = "binary_accuracy"
MULTICLASS_ACCURACY = "sparse_categorical_accuracy"


ACCURACY_METRICS = (BINARY_ACCURACY, MULTICLASS_ACCURACY)


def accuracy_metric_name(num_classes: int) -> str:
    return BINARY_ACCURACY if num_classes == 2 else MULTICLASS_ACCURACY


def _accuracy_gate(settings: EvaluationConfig) -> list[tfma.PerSliceMetricThreshold]:
    """The blessing thresholds, on the overall slice only (slices are for looking, not gating)."""
    return [
        tfma.PerSliceMetricThreshold(
            slicing_specs=[tfma.SlicingSpec()],
            threshold=tfma.MetricThreshold(
                value_threshold=tfma.GenericValueThreshold(lower_bound={"value": settings.min_accuracy}),
                change_threshold=tfma.GenericChangeThreshold(
                    direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -settings.max_accuracy_drop}
                ),
            ),
        )
    ]


def written_name(metric: tfma.MetricConfig) -> str:
    """The name TFMA writes a configured metric's figures under: its instance's, not its class's
    (models/threshold_metrics.BinaryAccuracyAtHalf writes `binary_accuracy`)."""
    return metric_specs.metric_instance(metric).name


def _metric(class_name: str, **kwargs) -> tfma.MetricConfig:
    return tfma.MetricConfig(class_name=class_name, **kwargs)


def _own(metric_class: type, **kwargs) -> tfma.MetricConfig:
    """The config of one of this project's metric classes: TFMA imports it from its module."""
    return tfma.MetricConfig(class_name=metric_class.__name__, module=metric_class.__module__, **kwargs)


def make_eval_config(
    num_classes: int, settings: EvaluationConfig, slice_features: Sequence[str] = SLICE_FEATURES
) -> tfma.EvalConfig:
    """TFMA's config for a corpus of `num_classes` classes under the Evaluator's `settings`."""
    binary = num_classes == 2
    gate = _accuracy_gate(settings)
    if binary:
        # TFMA's figures under TFMA's names, from two combiners that read each example's label and score directly:
        # one calibration histogram for the example count, AUC, the calibration and both plots
        # (models/histogram_metrics.py), one confusion matrix at 0.5 for accuracy, precision and recall
        # (models/threshold_metrics.py).
        metrics: list[tfma.MetricConfig] = [
            _own(HistogramExampleCount),
            _own(BinaryAccuracyAtHalf, per_slice_thresholds=gate),
            # TFMA's defaults (10,000 AUC thresholds and calibration buckets,
            # 1,000 plot thresholds) cost seconds per slice; these resolutions
            # are finer than any figure or decision here reads.
            _own(LeanAUC, config='{"num_thresholds": 1000}'),
            _own(PrecisionAtHalf),
            _own(RecallAtHalf),
            _own(HistogramCalibration),
            _own(LeanCalibrationPlot, config='{"num_buckets": 100}'),
            _own(LeanConfusionMatrixPlot, config='{"num_thresholds": 100}'),
        ]
        metrics_specs = [tfma.MetricsSpec(metrics=metrics)]
    else:
        metrics = [
            _metric("ExampleCount"),
            _metric("SparseCategoricalAccuracy", per_slice_thresholds=gate),
            _metric("MultiClassConfusionMatrixPlot"),
        ]
        # Per class, one class against the rest, where the prediction is the
        # top-1 class (the default would threshold each probability at 0.5).
        per_class = tfma.MetricsSpec(
            metrics=[_metric("Precision", config='{"top_k": 1}'), _metric("Recall", config='{"top_k": 1}')],
            binarize=tfma.BinarizationOptions(class_ids={"values": list(range(num_classes))}),
        )
        metrics_specs = [tfma.MetricsSpec(metrics=metrics), per_class]
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                # Said, not detected: TFMA detects a model's type by loading it as a Keras model (seconds per
                # model, and the export keeps no Keras traces: models/export.py); the signature is all it calls.
                model_type=tfma_constants.TF_GENERIC,
                signature_name="serving_default",
                label_key=LABEL_KEY,
                prediction_key="score" if binary else "probabilities",
            )
        ],
        metrics_specs=metrics_specs,
        slicing_specs=[tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[f]) for f in slice_features],
        # Not the Keras model's compiled metrics: they expect logits, the
        # serving signature returns probabilities.
        options=tfma.Options(include_default_metrics={"value": False}),
    )


def config_without_thresholds(eval_config: tfma.EvalConfig) -> tfma.EvalConfig:
    """The config as far as metric values go: thresholds decide the gate, not the figures."""
    config = copy.deepcopy(eval_config)
    for spec in config.metrics_specs:
        for field in ("thresholds", "per_slice_thresholds", "cross_slice_thresholds"):
            spec.ClearField(field)
        for metric in spec.metrics:
            for field in ("threshold", "per_slice_thresholds", "cross_slice_thresholds"):
                metric.ClearField(field)
    return config
