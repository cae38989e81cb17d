"""TFMA's per-key computations of a metric of this project's own (models/histogram_metrics.py,
models/threshold_metrics.py), from one function of the metric's name, TFMA's config and the key's parts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

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
