"""The Evaluator's extractors and two evaluators over one pass of the model: TFMA's, with every metric, plot and
threshold, on the overall slice; and a count of examples and of right answers per feature slice (the slices are
for looking). Beam plumbing that only components/evaluator/component.py uses.

Why the feature slices are not TFMA's: TFMA combines metrics one example at a time, once per slice key and per
metric family. On IMDB's 25,000 test reviews, its evaluation took 54.63 s with TFMA's ExampleCount and
BinaryAccuracy on the five feature slicings and 31.44 s with this; with a baseline, 99.32 s and 53.71 s
(bench/NOTES.md, "The feature slices without TFMA's combiners"). Here the slices are tallied per batch, before
TFMA unbatches the examples: each batch's labels and predictions give one (examples, right answers) pair per
model and example, summed per slice key with numpy, and one Beam combine adds up the batches. TFMA's slice key
extractor then gives each example the overall slice key alone (the feature slices' keys per example were 7.8%
of the Evaluator's profile, and their Beam elements five per example), and the examples' inputs (features,
records), which TFMA's metrics do not read, are dropped before TFMA splits each batch into examples
(bench/NOTES.md, "The feature slices per batch"). The figures are TFMA's, key for key
(tests/code/test_evaluator_slices.py compares the two): `example_count`, the accuracy under TFMA's name, and with
a baseline, each model's under its name and the candidate's diff.
"""

from __future__ import annotations

from collections.abc import Mapping

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants as tfma_constants
from tensorflow_model_analysis.evaluators import metrics_plots_and_validations_evaluator as mpv
from tensorflow_model_analysis.extractors import unbatch_extractor
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.slicer import slicer_lib
from tensorflow_model_analysis.utils import util as tfma_util

from models.evaluation import BINARY_ACCURACY, MULTICLASS_ACCURACY, written_name

OVERALL_SLICE = ()
EXAMPLE_COUNT = "example_count"
# TFMA's BinaryAccuracy: a prediction above 0.5 is the positive class (its confusion matrices count
# prediction > threshold as positive).
BINARY_THRESHOLD = 0.5


def _by_model(value, model_name: str):
    """`value` (labels or predictions) for `model_name`: TFMA keys them by model when it evaluates two."""
    return value[model_name] if model_name and isinstance(value, Mapping) and model_name in value else value


def right_answers(extracts, model_name: str, prediction_key: str, binary: bool) -> np.ndarray:
    """How right the model's prediction of each example of a batch is: 1 or 0 (a fractional label counts as TFMA
    counts it: label parts right)."""
    prediction = _by_model(extracts[tfma_constants.PREDICTIONS_KEY], model_name)
    if isinstance(prediction, Mapping):
        prediction = prediction[prediction_key]
    prediction = np.asarray(prediction, dtype=np.float64)
    size = prediction.shape[0]
    prediction = prediction.reshape(size, -1)
    label = np.asarray(_by_model(extracts[tfma_constants.LABELS_KEY], model_name), dtype=np.float64)
    label = label.reshape(size, -1)[:, 0]
    if binary:
        return np.where(prediction[:, 0] > BINARY_THRESHOLD, label, 1.0 - label)
    return (np.argmax(prediction, axis=1) == label.astype(np.int64)).astype(np.float64)


def _one_value_each(values) -> bool:
    """Whether a batch's feature holds one integer or text value per example, the examples' usual shape."""
    if not isinstance(values, np.ndarray) or not (values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1)):
        return False
    if values.dtype == object:
        return all(isinstance(v, bytes) for v in values.flat)
    return np.issubdtype(values.dtype, np.integer)


def _add(sums: dict, key, row: np.ndarray) -> None:
    sums[key] = sums[key] + row if key in sums else row


def _add_slices(sums: dict, tally: np.ndarray, spec: tfma.SlicingSpec, values) -> None:
    """Adds each example's `tally` row to the sums of the keys TFMA's slicing by `spec` gives it."""
    if values is None:  # no example of the batch has the feature: TFMA gives none a key
        return
    (column,) = spec.feature_keys
    if _one_value_each(values):
        uniques, inverse = np.unique(values.reshape(-1), return_inverse=True)
        totals = np.zeros((len(uniques), tally.shape[1]))
        np.add.at(totals, inverse, tally)
        for value, total in zip(uniques.tolist(), totals, strict=True):
            _add(sums, ((column, tf.compat.as_text(value) if isinstance(value, bytes) else value),), total)
        return
    # Anything else (a value missing, several values): TFMA's own split and slicing, one example at a time.
    single = [slicer_lib.SingleSliceSpec(spec=spec)]
    for row, example in zip(tally, tfma_util.split_extracts({column: values}), strict=True):
        for key in slicer_lib.get_slices_for_features_dicts([example], None, single):
            _add(sums, key, row)


def _batch_tallies(extracts, models: tuple[tuple[str, str], ...], binary: bool, specs: tuple[tfma.SlicingSpec, ...]):
    """(slice key, [examples, right answers] per model) summed over one batch, for each of its feature slice keys."""
    rights = [right_answers(extracts, name, key, binary) for name, key in models]
    tally = np.ones((len(rights[0]), 2 * len(rights)))
    for i, right in enumerate(rights):
        tally[:, 2 * i + 1] = right
    features = extracts[tfma_constants.FEATURES_KEY]
    sums: dict = {}
    for spec in specs:
        _add_slices(sums, tally, spec, features.get(spec.feature_keys[0]))
    return list(sums.items())


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


def _feature_specs(eval_config: tfma.EvalConfig) -> tuple[tfma.SlicingSpec, ...]:
    """The config's feature slicings: one feature each, every value its slice (models/evaluation.make_eval_config)."""
    specs = tuple(spec for spec in eval_config.slicing_specs if spec != tfma.SlicingSpec())
    for spec in specs:
        if len(spec.feature_keys) != 1 or spec.feature_values or spec.slice_keys_sql:
            raise ValueError(f"the Evaluator slices by one feature at a time, not by {spec}: see make_eval_config")
    return specs


@beam.ptransform_fn
def _EvaluateFeatureSlices(batches, eval_config: tfma.EvalConfig, binary: bool):  # noqa: N802 (Beam's naming)
    specs = list(eval_config.model_specs)
    # TFMA names a lone model "" in its keys.
    models = tuple((spec.name if len(specs) > 1 else "", spec.prediction_key) for spec in specs)
    baseline = next((spec.name for spec in specs if spec.is_baseline), None) if len(specs) > 1 else None
    accuracy = BINARY_ACCURACY if binary else MULTICLASS_ACCURACY
    metrics = (
        batches
        | "TallyPerBatch"
        >> beam.FlatMap(_batch_tallies, models=models, binary=binary, specs=_feature_specs(eval_config))
        | "SumPerSlice" >> beam.CombinePerKey(sum)  # element-wise: the tallies are numpy arrays
        | "ToMetrics" >> beam.Map(_metrics, models=models, accuracy=accuracy, baseline=baseline)
    )
    return {tfma_constants.METRICS_KEY: metrics}


_DROP_INPUTS_STAGE = "DropTheExamplesInputs"
# What TFMA's metrics on the overall slice never read: the examples' features and serialized records.
_INPUTS = (tfma_constants.FEATURES_KEY, tfma_constants.INPUT_KEY, tfma_constants.ARROW_RECORD_BATCH_KEY)


def _without_inputs(extracts):
    """A batch's extracts without the examples' inputs, which TFMA's unbatching would otherwise split example by
    example although its metrics on the overall slice never read them."""
    return {key: value for key, value in extracts.items() if key not in _INPUTS}


def split_extractors_and_evaluators(
    eval_config: tfma.EvalConfig, eval_shared_model
) -> tuple[list[tfma.extractors.Extractor], list[tfma.evaluators.Evaluator]]:
    """TFMA's extractors, whose slice keys are the overall slice's alone and which drop the examples' inputs before
    unbatching; TFMA's evaluator with every metric, plot and threshold, on the overall slice; counts and accuracy
    on the feature slices, per batch.

    Both evaluators read the same predictions (the model runs once per example): the feature slices' before the
    examples are unbatched, TFMA's after. ExtractAndEvaluate merges their metrics, whose slices do not overlap.
    """
    overall_only = tfma.EvalConfig()
    overall_only.CopyFrom(eval_config)
    del overall_only.slicing_specs[:]
    overall_only.slicing_specs.add()
    extractors = tfma.default_extractors(eval_config=overall_only, eval_shared_model=eval_shared_model)
    stages = [extractor.stage_name for extractor in extractors]
    unbatch = stages.index(unbatch_extractor.UNBATCH_EXTRACTOR_STAGE_NAME)
    batched = stages[unbatch - 1]
    extractors.insert(
        unbatch,
        tfma.extractors.Extractor(
            stage_name=_DROP_INPUTS_STAGE,
            ptransform=beam.Map(_without_inputs),
        ),
    )
    return extractors, [
        mpv.MetricsPlotsAndValidationsEvaluator(eval_config=eval_config, eval_shared_model=eval_shared_model),
        feature_slices_evaluator(eval_config, run_after=batched),
    ]


def feature_slices_evaluator(eval_config: tfma.EvalConfig, run_after: str) -> tfma.evaluators.Evaluator:
    """Counts and accuracy on the config's feature slices, from the batches the extractor `run_after` leaves."""
    binary = any(written_name(m) == BINARY_ACCURACY for spec in eval_config.metrics_specs for m in spec.metrics)
    return tfma.evaluators.Evaluator(
        stage_name="EvaluateFeatureSlices",
        run_after=run_after,
        ptransform=_EvaluateFeatureSlices(eval_config, binary),  # pylint: disable=no-value-for-parameter
    )
