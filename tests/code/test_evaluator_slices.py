"""The feature slices' figures (components/evaluator/slices.py) are TFMA's own, key for key, on the same extracts:
one model and two, two classes and four, predictions on the threshold, a slice of one example."""

from __future__ import annotations

import apache_beam as beam
import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants as tfma_constants
from tensorflow_model_analysis.evaluators import metrics_plots_and_validations_evaluator as mpv
from tensorflow_model_analysis.slicer import slicer_lib

from components.evaluator import slices
from models.evaluation import make_eval_config
from models.evaluation_settings import EvaluationConfig


def _extracts(num_classes: int, model_names: list[str], seed: int) -> list[dict]:
    """Examples with the overall slice and two feature slicings; binary scores sit on 0.5 now and then."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(60):
        label = int(rng.integers(num_classes))
        predictions = {}
        for name in model_names:
            if num_classes == 2:
                score = 0.5 if i % 7 == 0 else float(rng.random())
                predictions[name] = {"score": np.array([score], dtype=np.float32)}
            else:
                predictions[name] = {"probabilities": rng.dirichlet(np.ones(num_classes)).astype(np.float32)}
        keys = [(), (("bucket", f"b{i % 3}"),), (("rare", int(i == 5)),)]
        out.append(
            {
                tfma_constants.SLICE_KEY_TYPES_KEY: slicer_lib.slice_keys_to_numpy_array(keys),
                tfma_constants.LABELS_KEY: np.array([label], dtype=np.int64),
                tfma_constants.PREDICTIONS_KEY: predictions[""] if model_names == [""] else predictions,
            }
        )
    return out


def _config(num_classes: int, two_models: bool) -> tfma.EvalConfig:
    config = make_eval_config(num_classes, EvaluationConfig(), slice_features=["bucket", "rare"])
    return tfma.utils.update_eval_config_with_defaults(config, has_baseline=two_models, rubber_stamp=True)


def _feature_slices(evaluation) -> dict:
    return {key: value for key, value in evaluation.items() if key != slices.OVERALL_SLICE}


_COLLECTED: list = []  # Beam's in-process runner calls `_keep` in this process, with this module's globals


def _keep(rows) -> None:
    _COLLECTED.extend(rows)


def _run(extracts: list[dict], transform) -> dict:
    """{slice key: {metric key: value}} of the metrics `transform` computes from `extracts`."""
    _COLLECTED.clear()
    with beam.Pipeline() as pipeline:
        evaluation = pipeline | beam.Create(extracts, reshuffle=False) | transform
        _ = evaluation[tfma_constants.METRICS_KEY] | beam.combiners.ToList() | beam.Map(_keep)
    return {key: {k: v for k, v in metrics.items() if not k.name.startswith("_")} for key, metrics in _COLLECTED}


@pytest.mark.parametrize("num_classes", [2, 4])
@pytest.mark.parametrize("two_models", [False, True], ids=["one model", "with a baseline"])
def test_the_feature_slices_figures_are_tfmas(num_classes, two_models):
    config = _config(num_classes, two_models)
    names = [spec.name for spec in config.model_specs] if two_models else [""]
    extracts = _extracts(num_classes, names, seed=num_classes)
    ours = _feature_slices(_run(extracts, slices.split_evaluators(config, None)[1].ptransform))
    # TFMA itself: its evaluator with the same two metrics, on the same extracts.
    reference = tfma.EvalConfig()
    reference.CopyFrom(config)
    del reference.metrics_specs[:]
    accuracy = "BinaryAccuracy" if num_classes == 2 else "SparseCategoricalAccuracy"
    # The completed config names the models in each spec.
    reference.metrics_specs.add(model_names=config.metrics_specs[0].model_names).metrics.extend(
        [tfma.MetricConfig(class_name="ExampleCount"), tfma.MetricConfig(class_name=accuracy)]
    )
    tfmas = _feature_slices(_run(extracts, mpv.MetricsPlotsAndValidationsEvaluator(reference).ptransform))
    assert ours.keys() == tfmas.keys() and len(ours) == 5  # b0, b1, b2, rare=0, rare=1
    for slice_key, metrics in tfmas.items():
        assert ours[slice_key].keys() == metrics.keys(), slice_key
        for key, value in metrics.items():
            # TFMA's SparseCategoricalAccuracy is Keras' metric, which divides in float32.
            assert ours[slice_key][key] == pytest.approx(value, rel=1e-6), (slice_key, key)
