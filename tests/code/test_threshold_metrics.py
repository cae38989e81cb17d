"""BinaryAccuracy, Precision and Recall at 0.5 from the lean combiner (models/threshold_metrics.py): TFMA's own
figures on the same inputs, read directly for the binary classifier's score (of one model or two) and through
TFMA's lookup for anything else (fractional labels, weights, labels out of range)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types, metric_util

from models.evaluation import make_eval_config, written_name
from models.evaluation_settings import EvaluationConfig
from models.threshold_metrics import BinaryAccuracyAtHalf, PrecisionAtHalf, RecallAtHalf
from tests.helpers import metric_values

PAIRS = [
    (BinaryAccuracyAtHalf, tfma.metrics.BinaryAccuracy),
    (PrecisionAtHalf, tfma.metrics.Precision),
    (RecallAtHalf, tfma.metrics.Recall),
]
NAMES = ("binary_accuracy", "precision", "recall")


def _figures(metric, inputs, config, **keys) -> dict:
    """The metric's written figures ({(name, model_name): value}), or the error TFMA's lookup raised."""
    try:
        values = metric_values(metric, inputs, config, **keys)
    except ValueError as error:
        return {"error": type(error)}
    return {(k.name, k.model_name): v for k, v in values.items() if not k.name.startswith("_")}


def _same(ours: dict, tfmas: dict) -> bool:
    """Equal, NaN equal to NaN (TFMA's figure over an empty denominator)."""
    return ours.keys() == tfmas.keys() and all(
        ours[k] == tfmas[k] or (np.isnan(ours[k]) and np.isnan(tfmas[k])) for k in ours
    )


def _refused(*args, **kwargs):
    raise AssertionError("TFMA's lookup was called for an input ours reads directly")


def _scores(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = np.clip(rng.normal(0.3 + 0.4 * labels, 0.25), 0.0, 1.0).astype(np.float32)
    scores[:6] = [0.0, 0.5, 1.0, 0.50005, np.nextafter(np.float32(0.5), 1), 0.49999]  # on and near the threshold
    return labels, scores


def _inputs(labels, scores, as_dict: bool):
    return [
        metric_types.StandardMetricInputs(
            labels=np.array([label], dtype=np.int64),
            predictions={"score": np.array([s]), "class_id": np.array([int(s > 0.5)])} if as_dict else np.array([s]),
            example_weights=np.array([1.0]),
        )
        for label, s in zip(labels, scores, strict=True)
    ]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("as_dict", [False, True], ids=["score array", "outputs dict"])
@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_read_directly_the_figures_are_tfmas(seed, as_dict, ours, theirs, monkeypatch):
    config = make_eval_config(2, EvaluationConfig())
    inputs = _inputs(*_scores(seed), as_dict)
    tfmas = _figures(theirs(), inputs, config)
    monkeypatch.setattr(metric_util, "to_label_prediction_example_weight", _refused)
    assert _figures(ours(), inputs, config) == tfmas and len(tfmas) == 1


@pytest.mark.parametrize("labels_per_model", [False, True], ids=["one label", "a label per model"])
@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_two_models_are_read_directly_each_its_own_score(labels_per_model, ours, theirs, monkeypatch):
    config = make_eval_config(2, EvaluationConfig())
    config = tfma.utils.update_eval_config_with_defaults(config, has_baseline=True)
    names = [spec.name for spec in config.model_specs]
    labels, scores = _scores(2)
    inputs = [
        metric_types.StandardMetricInputs(
            labels={n: np.array([y]) for n in names} if labels_per_model else np.array([y]),
            predictions={names[0]: {"score": np.array([s])}, names[1]: {"score": np.array([1.0 - s])}},
            example_weights=np.array([1.0]),
        )
        for y, s in zip(labels, scores, strict=True)
    ]
    tfmas = _figures(theirs(), inputs, config, model_names=names)
    monkeypatch.setattr(metric_util, "to_label_prediction_example_weight", _refused)
    ours_figures = _figures(ours(), inputs, config, model_names=names)
    assert ours_figures == tfmas and len(tfmas) == 2 and len(set(tfmas.values())) == 2


@pytest.mark.parametrize(
    "labels, scores, keys",
    [
        ([0.3, 0.7, 1.0, 0.0], [0.2, 0.9, 0.6, 0.4], {}),  # fractional labels: split into weighted 0 and 1
        ([1, 0, 1, 0], [0.2, 0.9, 0.6, 0.4], {"example_weighted": True}),  # weights 1, 2, 3, 4
        ([2, 0, 1, 0], [0.2, 0.9, 0.6, 0.4], {}),  # a label out of range: TFMA's error
        ([0, 0, 0, 0], [0.2, 0.1, 0.3, 0.4], {}),  # no positive at all: NaN precision and recall
    ],
    ids=["fractional labels", "weighted", "label out of range", "no positive"],
)
@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_anything_else_is_counted_as_tfma_counts_it(labels, scores, keys, ours, theirs):
    config = make_eval_config(2, EvaluationConfig())
    inputs = [
        metric_types.StandardMetricInputs(
            labels=np.array([y]), predictions=np.array([s], dtype=np.float32), example_weights=np.array([w + 1.0])
        )
        for w, (y, s) in enumerate(zip(labels, scores, strict=True))
    ]
    tfmas = _figures(theirs(), inputs, config, **keys)
    assert _same(_figures(ours(), inputs, config, **keys), tfmas)


def test_the_binary_config_writes_tfmas_names_from_one_combiner():
    config = make_eval_config(2, EvaluationConfig())
    metrics = config.metrics_specs[0].metrics
    assert set(NAMES) <= {written_name(m) for m in metrics}
    assert not {"BinaryAccuracy", "Precision", "Recall"} & {m.class_name for m in metrics}
    combiner_keys = {
        tuple(c.keys)
        for metric in (BinaryAccuracyAtHalf(), PrecisionAtHalf(), RecallAtHalf())
        for c in metric.computations(eval_config=config)
        if isinstance(c, metric_types.MetricComputation)
    }
    assert len(combiner_keys) == 1  # one key: TFMA runs one combiner for the three
    gated = [m for m in metrics if m.per_slice_thresholds]
    assert [written_name(m) for m in gated] == ["binary_accuracy"]
