"""TFMA configuration: metrics, slices and the blessing thresholds.

Blessing = test accuracy at least `min_accuracy` AND no drop of more than
`max_accuracy_drop` against the served model (ServedModelBaseline; TFMA skips
the change threshold when there is no baseline, i.e. while nothing else is served).

Every metric is computed on the overall slice; the feature slices get the
example count and the accuracy only (`split_evaluators`): TFMA's cost is per
example, per slice and per metric family, and the slices are for looking.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import apache_beam as beam
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants as tfma_constants
from tensorflow_model_analysis.evaluators import metrics_plots_and_validations_evaluator as mpv
from tensorflow_model_analysis.slicer import slicer_lib

from models.evaluation_settings import EvaluationConfig
from models.features import LABEL_KEY, SLICE_FEATURES

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


def _metric(class_name: str, **kwargs) -> tfma.MetricConfig:
    return tfma.MetricConfig(class_name=class_name, **kwargs)


def make_eval_config(
    num_classes: int, settings: EvaluationConfig, slice_features: Sequence[str] = SLICE_FEATURES
) -> tfma.EvalConfig:
    """TFMA's config for a corpus of `num_classes` classes under the Evaluator's `settings`."""
    binary = num_classes == 2
    gate = _accuracy_gate(settings)
    if binary:
        metrics: list[tfma.MetricConfig] = [
            _metric("ExampleCount"),
            _metric("BinaryAccuracy", per_slice_thresholds=gate),
            # TFMA's defaults (10,000 AUC thresholds and calibration buckets,
            # 1,000 plot thresholds) cost seconds per slice; these resolutions
            # are finer than any figure or decision here reads.
            _metric("AUC", config='{"num_thresholds": 1000}'),
            _metric("Precision"),
            _metric("Recall"),
            _metric("Calibration"),
            _metric("CalibrationPlot", config='{"num_buckets": 100}'),
            _metric("ConfusionMatrixPlot", config='{"num_thresholds": 100}'),
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


# What each feature slice gets (with the baseline's value and the diff when a baseline is evaluated).
PER_SLICE_METRICS = ("ExampleCount", "BinaryAccuracy", "SparseCategoricalAccuracy")
OVERALL_SLICE = ()


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


def per_slice_config(eval_config: tfma.EvalConfig) -> tfma.EvalConfig:
    """`eval_config` (completed by TFX, model names set) with only PER_SLICE_METRICS and no thresholds."""
    config = config_without_thresholds(eval_config)
    kept = []
    for spec in config.metrics_specs:
        if spec.HasField("binarize"):  # per-class precision and recall: overall only
            continue
        metrics = [m for m in spec.metrics if m.class_name in PER_SLICE_METRICS]
        if metrics:
            del spec.metrics[:]
            spec.metrics.extend(metrics)
            kept.append(spec)
    del config.metrics_specs[:]
    config.metrics_specs.extend(kept)
    return config


def _only_slices(extracts, overall: bool):
    """The extract with the overall slice key alone, or with every other slice key."""
    keys = [k for k in extracts[tfma_constants.SLICE_KEY_TYPES_KEY] if (k == OVERALL_SLICE) == overall]
    extracts = copy.copy(extracts)
    extracts[tfma_constants.SLICE_KEY_TYPES_KEY] = slicer_lib.slice_keys_to_numpy_array(keys)
    return extracts


@beam.ptransform_fn
def _EvaluateOverall(extracts, evaluator):  # noqa: N802 (Beam's naming)
    return extracts | "OnlyOverall" >> beam.Map(_only_slices, overall=True) | "Evaluate" >> evaluator.ptransform


@beam.ptransform_fn
def _EvaluateFeatureSlices(extracts, evaluator):  # noqa: N802 (Beam's naming)
    evaluation = (
        extracts | "OnlyFeatureSlices" >> beam.Map(_only_slices, overall=False) | "Evaluate" >> evaluator.ptransform
    )
    # Metrics only: the overall evaluation holds the plots and the validation.
    return {tfma_constants.METRICS_KEY: evaluation[tfma_constants.METRICS_KEY]}


def split_evaluators(eval_config: tfma.EvalConfig, eval_shared_model) -> list[tfma.evaluators.Evaluator]:
    """TFMA evaluators: every metric, plot and threshold on the overall slice; PER_SLICE_METRICS on the others.

    Both read the same extracts (the model runs once per example); TFMA's
    ExtractAndEvaluate merges their metrics, whose slices do not overlap.
    """
    overall = mpv.MetricsPlotsAndValidationsEvaluator(eval_config=eval_config, eval_shared_model=eval_shared_model)
    slices = mpv.MetricsPlotsAndValidationsEvaluator(
        eval_config=per_slice_config(eval_config), eval_shared_model=eval_shared_model
    )
    return [
        tfma.evaluators.Evaluator(
            stage_name="EvaluateOverallSlice", run_after=overall.run_after, ptransform=_EvaluateOverall(overall)
        ),  # pylint: disable=no-value-for-parameter
        tfma.evaluators.Evaluator(
            stage_name="EvaluateFeatureSlices", run_after=slices.run_after, ptransform=_EvaluateFeatureSlices(slices)
        ),  # pylint: disable=no-value-for-parameter
    ]
