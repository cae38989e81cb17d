"""What TFMA hands this project's own metrics (models/histogram_metrics.py, models/threshold_metrics.py): each
key's parts, to one function that builds the key's computations; and each example's label and score, read
directly by their combiners where TFMA's per-example lookup is not needed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util


@dataclasses.dataclass(frozen=True)
class KeyParts:
    """What TFMA hands a metric's computations for one key."""

    model_name: str
    output_name: str
    sub_key: Any
    aggregation_type: Any
    class_weights: Any
    example_weighted: bool

    def as_kwargs(self) -> dict[str, Any]:
        """The parts as the keyword arguments TFMA's own computations and lookups take."""
        return dataclasses.asdict(self)

    def key(self, name: str, with_aggregation: bool = True) -> metric_types.MetricKey:
        """The metric key of `name` for these parts (TFMA's derived figures carry the aggregation type; the
        combiners' keys do not)."""
        return metric_types.MetricKey(
            name=name,
            model_name=self.model_name,
            output_name=self.output_name,
            sub_key=self.sub_key,
            aggregation_type=self.aggregation_type if with_aggregation else None,
            example_weighted=self.example_weighted,
        )


def per_key_computations(
    build: Callable[[str, Any, KeyParts], metric_types.MetricComputations],
) -> Callable[..., metric_types.MetricComputations]:
    """`build(name, eval_config, parts)` as the computations function TFMA calls once per key.

    TFMA's `merge_per_key_computations` passes a function only the arguments its signature names, so every
    part is named here once."""

    def computations(
        name: str,
        eval_config=None,
        model_name: str = "",
        output_name: str = "",
        sub_key=None,
        aggregation_type=None,
        class_weights=None,
        example_weighted: bool = False,
    ) -> metric_types.MetricComputations:
        parts = KeyParts(model_name, output_name, sub_key, aggregation_type, class_weights, example_weighted)
        return build(name, eval_config, parts)

    return metric_util.merge_per_key_computations(computations)


class ScoreReader:
    """An example's label and score, read directly where TFMA's per-example lookup
    (`metric_util.to_label_prediction_example_weight`, tens of microseconds each) would find one label 0 or 1 and
    one score in [0, 1]: the binary classifier's `score`, of each model. None for anything else, which the caller
    then hands to TFMA's lookup."""

    def __init__(self, eval_config, parts: KeyParts):
        # Direct only unweighted, without output name, sub key, aggregation or class weights.
        self.direct = not (
            parts.example_weighted
            or parts.output_name
            or parts.sub_key
            or parts.aggregation_type
            or parts.class_weights
        )
        self._model_name = parts.model_name
        specs = eval_config.model_specs if eval_config is not None else []
        spec = next((s for s in specs if (s.name if len(specs) > 1 else "") == self._model_name), None)
        self._label_key = spec.label_key if spec else ""
        self._prediction_key = spec.prediction_key if spec else ""

    def __call__(self, element: metric_types.StandardMetricInputs) -> tuple[float, float] | None:
        if not self.direct:
            return None
        label, prediction = element.label, element.prediction
        # TFMA's lookups, in its order (metric_util.to_label_prediction_example_weight): the label key, then the
        # model's name; the prediction key last.
        if self._label_key and isinstance(label, Mapping):
            label = label.get(self._label_key, label)
        if self._model_name:
            if not isinstance(prediction, Mapping):
                return None
            prediction = prediction.get(self._model_name)
            if isinstance(label, Mapping):
                label = label.get(self._model_name, label)
        if isinstance(prediction, Mapping):
            prediction = prediction.get(self._prediction_key) if self._prediction_key else None
        if not (isinstance(label, np.ndarray) and isinstance(prediction, np.ndarray)):
            return None
        if label.size != 1 or prediction.size != 1 or label.dtype.kind not in "biuf" or prediction.dtype.kind != "f":
            return None
        label_value, score = float(label.flat[0]), float(prediction.flat[0])
        return (label_value, score) if label_value in (0.0, 1.0) and 0.0 <= score <= 1.0 else None
