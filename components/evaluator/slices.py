"""The Evaluator's two TFMA evaluators over one pass of the model: every metric on the overall slice, the
example count and the accuracy on the feature slices (TFMA's cost is per example, per slice and per metric
family; the slices are for looking). Beam plumbing that only components/evaluator/component.py uses.
"""

from __future__ import annotations

import copy

import apache_beam as beam
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants as tfma_constants
from tensorflow_model_analysis.evaluators import metrics_plots_and_validations_evaluator as mpv
from tensorflow_model_analysis.slicer import slicer_lib

from models.evaluation import config_without_thresholds

# What each feature slice gets (with the baseline's value and the diff when a baseline is evaluated).
PER_SLICE_METRICS = ("ExampleCount", "BinaryAccuracy", "SparseCategoricalAccuracy")
OVERALL_SLICE = ()


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
