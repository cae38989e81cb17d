"""The Evaluator's two evaluators over one pass of the model: TFMA's, with every metric, plot and threshold, on
the overall slice; and a count of examples and of right answers per feature slice (the slices are for looking).
Beam plumbing that only components/evaluator/component.py uses.

Why the feature slices are not TFMA's: TFMA combines metrics one example at a time, once per slice key and per
metric family. On IMDB's 25,000 test reviews, its evaluation took 54.63 s with TFMA's ExampleCount and
BinaryAccuracy on the five feature slicings and 31.44 s with this; with a baseline, 99.32 s and 53.71 s
(bench/NOTES.md, "The feature slices without TFMA's combiners"). Here each example is read once: its label and
prediction give one (examples, right answers) pair per model, added up per slice key by one Beam combine. The
label and prediction are looked up here, not with TFMA's `metric_util.to_label_prediction_example_weight`:
that helper, called per combiner and slice, was 28.4% of the Evaluator's profile (bench/NOTES.md).
The figures are TFMA's, key for key (tests/code/test_evaluator_slices.py compares the two): `example_count`,
the accuracy under TFMA's name, and with a baseline, each model's under its name and the candidate's diff.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import apache_beam as beam
import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants as tfma_constants
from tensorflow_model_analysis.evaluators import metrics_plots_and_validations_evaluator as mpv
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.slicer import slicer_lib

from models.evaluation import BINARY_ACCURACY, MULTICLASS_ACCURACY

OVERALL_SLICE = ()
EXAMPLE_COUNT = "example_count"
# TFMA's BinaryAccuracy: a prediction above 0.5 is the positive class (its confusion matrices count
# prediction > threshold as positive).
BINARY_THRESHOLD = 0.5


def _only_slices(extracts, overall: bool):
    """The extract with the overall slice key alone, or with every other slice key."""
    keys = [k for k in extracts[tfma_constants.SLICE_KEY_TYPES_KEY] if (k == OVERALL_SLICE) == overall]
    extracts = copy.copy(extracts)
    extracts[tfma_constants.SLICE_KEY_TYPES_KEY] = slicer_lib.slice_keys_to_numpy_array(keys)
    return extracts


@beam.ptransform_fn
def _EvaluateOverall(extracts, evaluator):  # noqa: N802 (Beam's naming)
    return extracts | "OnlyOverall" >> beam.Map(_only_slices, overall=True) | "Evaluate" >> evaluator.ptransform


def _by_model(value, model_name: str):
    """`value` (labels or predictions) for `model_name`: TFMA keys them by model when it evaluates two."""
    return value[model_name] if model_name and isinstance(value, Mapping) and model_name in value else value


def right_answers(extracts, model_name: str, prediction_key: str, binary: bool) -> float:
    """How right the model's prediction of one example is: 1 or 0 (a fractional label counts as TFMA counts
    it: label parts right)."""
    prediction = _by_model(extracts[tfma_constants.PREDICTIONS_KEY], model_name)
    if isinstance(prediction, Mapping):
        prediction = prediction[prediction_key]
    label = float(np.asarray(_by_model(extracts[tfma_constants.LABELS_KEY], model_name)).reshape(-1)[0])
    prediction = np.asarray(prediction, dtype=np.float64).reshape(-1)
    if binary:
        return label if prediction[0] > BINARY_THRESHOLD else 1.0 - label
    return float(int(np.argmax(prediction)) == int(label))


def _tallies(extracts, models: tuple[tuple[str, str], ...], binary: bool):
    """(slice key, [1, right, 1, right, ...] per model) for each feature slice key of one example."""
    tally = np.array(
        [x for name, key in models for x in (1.0, right_answers(extracts, name, key, binary))], dtype=np.float64
    )
    for slice_key in extracts[tfma_constants.SLICE_KEY_TYPES_KEY]:
        if slice_key != OVERALL_SLICE:
            yield slice_key, tally


def _metrics(slice_and_sums, models: tuple[tuple[str, str], ...], accuracy: str, baseline: str | None):
    """TFMA's metrics dict of one slice: each model's example count and accuracy, and the candidate's diffs."""
    slice_key, sums = slice_and_sums
    values: dict[metric_types.MetricKey, float] = {}
    for i, (name, _) in enumerate(models):
        count, right = sums[2 * i], sums[2 * i + 1]
        values[metric_types.MetricKey(EXAMPLE_COUNT, model_name=name, example_weighted=False)] = float(count)
        values[metric_types.MetricKey(accuracy, model_name=name, example_weighted=False)] = float(right / count)
    if baseline is not None:
        for name, _ in models:
            if name == baseline:
                continue
            for metric in (EXAMPLE_COUNT, accuracy):
                own = metric_types.MetricKey(metric, model_name=name, example_weighted=False)
                base = metric_types.MetricKey(metric, model_name=baseline, example_weighted=False)
                values[metric_types.MetricKey(metric, model_name=name, example_weighted=False, is_diff=True)] = (
                    values[own] - values[base]
                )
    return slice_key, values


@beam.ptransform_fn
def _EvaluateFeatureSlices(extracts, eval_config: tfma.EvalConfig, binary: bool):  # noqa: N802 (Beam's naming)
    specs = list(eval_config.model_specs)
    # TFMA names a lone model "" in its keys.
    models = tuple((spec.name if len(specs) > 1 else "", spec.prediction_key) for spec in specs)
    baseline = next((spec.name for spec in specs if spec.is_baseline), None) if len(specs) > 1 else None
    accuracy = BINARY_ACCURACY if binary else MULTICLASS_ACCURACY
    metrics = (
        extracts
        | "Tally" >> beam.FlatMap(_tallies, models=models, binary=binary)
        | "SumPerSlice" >> beam.CombinePerKey(sum)  # element-wise: the tallies are numpy arrays
        | "ToMetrics" >> beam.Map(_metrics, models=models, accuracy=accuracy, baseline=baseline)
    )
    return {tfma_constants.METRICS_KEY: metrics}


def split_evaluators(eval_config: tfma.EvalConfig, eval_shared_model) -> list[tfma.evaluators.Evaluator]:
    """TFMA's evaluator with every metric, plot and threshold on the overall slice; counts and accuracy on the
    feature slices.

    Both read the same extracts (the model runs once per example); TFMA's
    ExtractAndEvaluate merges their metrics, whose slices do not overlap.
    """
    overall = mpv.MetricsPlotsAndValidationsEvaluator(eval_config=eval_config, eval_shared_model=eval_shared_model)
    binary = any(m.class_name == "BinaryAccuracy" for spec in eval_config.metrics_specs for m in spec.metrics)
    return [
        tfma.evaluators.Evaluator(
            stage_name="EvaluateOverallSlice", run_after=overall.run_after, ptransform=_EvaluateOverall(overall)
        ),  # pylint: disable=no-value-for-parameter
        tfma.evaluators.Evaluator(
            stage_name="EvaluateFeatureSlices",
            run_after=overall.run_after,
            ptransform=_EvaluateFeatureSlices(eval_config, binary),  # pylint: disable=no-value-for-parameter
        ),
    ]
