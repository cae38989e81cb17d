"""The feature slices' figures (components/evaluator/slices.py), tallied per batch, are TFMA's own, key for key, on
the same batches: one model and two, two classes and four, predictions on the threshold, a slice of one example,
features with one value per example (text and integers) and features some examples lack or hold twice."""

from __future__ import annotations

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants as tfma_constants
from tensorflow_model_analysis.evaluators import metrics_plots_and_validations_evaluator as mpv
from tensorflow_model_analysis.extractors import slice_key_extractor, unbatch_extractor
from tensorflow_model_analysis.utils import util as tfma_util

from components.evaluator import slices
from models.evaluation import make_eval_config
from models.evaluation_settings import EvaluationConfig

BATCH = 20


def _feature_columns(batch: int) -> dict:
    """The slice features of a batch as TFMA's features extractor turns the examples' Arrow columns into arrays:
    `bucket` (text) and `rare` (integers), one value per example; `tags`, which some examples lack or hold twice."""
    rows = range(batch * BATCH, (batch + 1) * BATCH)
    columns = {
        "bucket": pa.array([[f"b{i % 3}".encode()] for i in rows], type=pa.large_list(pa.large_binary())),
        "rare": pa.array([[int(i == 5)] for i in rows], type=pa.large_list(pa.int64())),
        "tags": pa.array(
            [None if i % 4 == 0 else [i % 2, 2] if i % 5 == 0 else [i % 2] for i in rows],
            type=pa.large_list(pa.int64()),
        ),
    }
    return tfma_util.record_batch_to_tensor_values(pa.RecordBatch.from_pydict(columns))


def _batches(num_classes: int, model_names: list[str], seed: int) -> list[dict]:
    """Three batches of examples, as TFMA's extractors leave them before unbatching; binary scores sit on 0.5 now
    and then."""
    rng = np.random.default_rng(seed)
    out = []
    for batch in range(3):
        labels = rng.integers(num_classes, size=(BATCH, 1))
        predictions = {}
        for name in model_names:
            if num_classes == 2:
                scores = rng.random((BATCH, 1)).astype(np.float32)
                scores[::7] = 0.5
                predictions[name] = {"score": scores}
            else:
                predictions[name] = {"probabilities": rng.dirichlet(np.ones(num_classes), BATCH).astype(np.float32)}
        out.append(
            {
                tfma_constants.FEATURES_KEY: _feature_columns(batch),
                tfma_constants.LABELS_KEY: labels,
                tfma_constants.PREDICTIONS_KEY: predictions[""] if model_names == [""] else predictions,
            }
        )
    return out


def _config(num_classes: int, two_models: bool) -> tfma.EvalConfig:
    config = make_eval_config(num_classes, EvaluationConfig(), slice_features=["bucket", "rare", "tags"])
    return tfma.utils.update_eval_config_with_defaults(config, has_baseline=two_models, rubber_stamp=True)


def _feature_slices(evaluation) -> dict:
    return {key: value for key, value in evaluation.items() if key != slices.OVERALL_SLICE}


_COLLECTED: list = []  # Beam's in-process runner calls `_keep` in this process, with this module's globals


def _keep(rows) -> None:
    _COLLECTED.extend(rows)


def _run(batches: list[dict], transform) -> dict:
    """{slice key: {metric key: value}} of the metrics `transform` computes from `batches`."""
    _COLLECTED.clear()
    with beam.Pipeline() as pipeline:
        evaluation = pipeline | beam.Create(batches, reshuffle=False) | transform
        _ = evaluation[tfma_constants.METRICS_KEY] | beam.combiners.ToList() | beam.Map(_keep)
    return {key: {k: v for k, v in metrics.items() if not k.name.startswith("_")} for key, metrics in _COLLECTED}


@beam.ptransform_fn
def _evaluated_after(batches, extractors: list, metrics: tfma.EvalConfig):  # noqa: N802 (Beam's naming)
    """TFMA's evaluator with `metrics`' metrics, after `extractors` (the ones from unbatching on)."""
    for extractor in extractors:
        batches = batches | extractor.stage_name >> extractor.ptransform
    return batches | mpv.MetricsPlotsAndValidationsEvaluator(metrics).ptransform


def _tfmas_own_extractors(config: tfma.EvalConfig) -> list:
    """TFMA's unbatching and its slice keys for every slicing of `config`."""
    return [unbatch_extractor.UnbatchExtractor(), slice_key_extractor.SliceKeyExtractor(eval_config=config)]


@pytest.mark.parametrize("num_classes", [2, 4])
@pytest.mark.parametrize("two_models", [False, True], ids=["one model", "with a baseline"])
def test_the_feature_slices_figures_are_tfmas(num_classes, two_models):
    config = _config(num_classes, two_models)
    names = [spec.name for spec in config.model_specs] if two_models else [""]
    batches = _batches(num_classes, names, seed=num_classes)
    ours = _feature_slices(_run(batches, slices.feature_slices_evaluator(config, run_after="").ptransform))
    # TFMA itself, with the same two metrics, on the same batches.
    reference = tfma.EvalConfig()
    reference.CopyFrom(config)
    del reference.metrics_specs[:]
    accuracy = "BinaryAccuracy" if num_classes == 2 else "SparseCategoricalAccuracy"
    # The completed config names the models in each spec.
    reference.metrics_specs.add(model_names=config.metrics_specs[0].model_names).metrics.extend(
        [tfma.MetricConfig(class_name="ExampleCount"), tfma.MetricConfig(class_name=accuracy)]
    )
    tfmas = _feature_slices(_run(batches, _evaluated_after(_tfmas_own_extractors(config), reference)))
    # b0, b1, b2, rare=0, rare=1, tags=0, tags=1, tags=2
    assert ours.keys() == tfmas.keys() and len(ours) == 8
    for slice_key, metrics in tfmas.items():
        assert ours[slice_key].keys() == metrics.keys(), slice_key
        for key, value in metrics.items():
            # TFMA's SparseCategoricalAccuracy is Keras' metric, which divides in float32.
            assert ours[slice_key][key] == pytest.approx(value, rel=1e-6), (slice_key, key)


@pytest.mark.parametrize("num_classes", [2, 4])
def test_tfmas_overall_figures_without_the_inputs_and_feature_slice_keys_are_the_same(num_classes):
    """TFMA's extractors here give each example the overall slice key alone, and drop the examples' features
    before unbatching: its metrics on the overall slice are those of its own extractors, and no feature slice
    reaches it."""
    config = _config(num_classes, False)
    extractors, _ = slices.split_extractors_and_evaluators(config, None)
    stages = [extractor.stage_name for extractor in extractors]
    ours = _run(
        _batches(num_classes, [""], 0), _evaluated_after(extractors[stages.index(slices._DROP_INPUTS_STAGE) :], config)
    )
    tfmas = _run(_batches(num_classes, [""], 0), _evaluated_after(_tfmas_own_extractors(config), config))
    assert list(ours) == [slices.OVERALL_SLICE] and len(tfmas) == 9  # the overall slice and eight feature slices
    assert ours[slices.OVERALL_SLICE].keys() == tfmas[slices.OVERALL_SLICE].keys()
    for key, value in tfmas[slices.OVERALL_SLICE].items():
        assert ours[slices.OVERALL_SLICE][key] == pytest.approx(value, rel=1e-12), key
