"""What an evaluation wrote, read with TFMA's own loaders: metrics by slice (readable names), the overall
slice's plots, the confusion matrix, and why a blessing was refused. TFMA is imported where it is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BASELINE_MODEL = "baseline"


def metric_name(key, class_names: Sequence[str] = ()) -> str:
    """A readable name for a TFMA MetricKey proto.

    'precision/python' (the candidate's, per class by the class's name;
    'precision/class_3' without `class_names`), 'binary_accuracy (baseline)'
    (the model it is compared with), 'binary_accuracy (diff)' (candidate -
    baseline).
    """
    name = key.name
    if key.HasField("sub_key"):
        sub = key.sub_key
        if sub.HasField("class_id"):
            class_id = sub.class_id.value
            name += f"/{class_names[class_id]}" if 0 <= class_id < len(class_names) else f"/class_{class_id}"
        elif sub.HasField("top_k"):
            name += f"/top_{sub.top_k.value}"
    if key.is_diff:
        name += " (diff)"
    elif key.model_name == BASELINE_MODEL:
        name += " (baseline)"
    return name


_SCALAR = object()


def metric_value(value, missing=None):
    """A scalar metric's value; NaN (e.g. precision with no positive prediction) as None.

    Arrays and matrices are not scalars: `missing` is returned for them.
    """
    kind = value.WhichOneof("type")
    if kind == "double_value":
        v = value.double_value.value
    elif kind == "bounded_value":
        v = value.bounded_value.value.value
    else:
        return missing
    return None if math.isnan(v) else v


def slice_name(slice_key) -> str:
    parts = []
    for sk in slice_key.single_slice_keys:
        kind = sk.WhichOneof("kind")
        value = getattr(sk, kind) if kind else ""
        parts.append(f"{sk.column}={value.decode() if isinstance(value, bytes) else value}")
    return ", ".join(parts) or "overall"


def evaluation_metrics(eval_uri: str, class_names: Sequence[str] = ()) -> dict[str, dict[str, float]]:
    """{slice: {metric: value}} for every slice TFMA wrote (per-class metrics by class name, see metric_name)."""
    import tensorflow_model_analysis as tfma

    out: dict[str, dict[str, float]] = {}
    for metrics in tfma.load_metrics(eval_uri):
        values = out.setdefault(slice_name(metrics.slice_key), {})
        for kv in metrics.metric_keys_and_values:
            v = metric_value(kv.value, missing=_SCALAR)
            if v is not _SCALAR:
                values[metric_name(kv.key, class_names)] = v
    return out


def overall_plot(eval_uri: str, field: str):
    """The candidate's overall-slice plot data holding `field` (a PlotData oneof), or None."""
    import tensorflow_model_analysis as tfma

    for plots in tfma.load_plots(eval_uri):
        if plots.slice_key.single_slice_keys:
            continue
        for kv in plots.plot_keys_and_values:
            if kv.key.model_name != BASELINE_MODEL and kv.value.HasField(field):
                return getattr(kv.value, field)
    return None


def confusion_matrix(eval_uri: str, num_classes: int) -> list[list[float]] | None:
    """The candidate's overall multi-class confusion matrix, rows = actual class, columns = predicted."""
    plot = overall_plot(eval_uri, "multi_class_confusion_matrix_at_thresholds")
    if plot is None:
        return None
    matrix = [[0.0] * num_classes for _ in range(num_classes)]
    for entry in plot.matrices[0].entries:
        if 0 <= entry.actual_class_id < num_classes and 0 <= entry.predicted_class_id < num_classes:
            matrix[entry.actual_class_id][entry.predicted_class_id] = entry.num_weighted_examples
    return matrix


def validation_failures(eval_uri: str, class_names: Sequence[str] = ()) -> list[str]:
    """Why TFMA refused the blessing: one line per failed threshold."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_validation_result(eval_uri)
    lines = []
    for per_slice in result.metric_validations_per_slice:
        for failure in per_slice.failures:
            threshold = failure.metric_threshold
            if threshold.HasField("value_threshold"):
                bound = f"lower bound {threshold.value_threshold.lower_bound.value}"
            else:
                bound = (
                    f"the no-regression limit: change vs. the served baseline "
                    f">= {threshold.change_threshold.absolute.value}"
                )
            value = metric_value(failure.metric_value)
            shown = "NaN" if value is None else f"{value:.4f}"
            lines.append(
                f"{slice_name(per_slice.slice_key)}: {metric_name(failure.metric_key, class_names)} = {shown} "
                f"fails {bound}"
            )
    return lines


def unseen_accuracy(metrics: dict[str, dict[str, float]], accuracy: str) -> dict | None:
    """The test accuracy without the documents that have a twin in train (the `seen_in_train` slice).

    `metrics` is evaluation_metrics' {slice: {metric: value}}. None for an evaluation without the slice (a
    model evaluated before the slice existed). With no seen document, TFMA writes no `seen_in_train=1` slice:
    the unseen figure is then the overall one, and seen_count is 0.
    """
    unseen, seen = metrics.get("seen_in_train=0"), metrics.get("seen_in_train=1", {})
    if unseen is None:
        return None
    return {
        "unseen_accuracy": unseen.get(accuracy),
        "unseen_count": int(unseen.get("example_count") or 0),
        "seen_accuracy": seen.get(accuracy),
        "seen_count": int(seen.get("example_count") or 0),
    }


def unseen_line(figures: dict, overall_accuracy: float | None) -> str:
    """'test accuracy on the 24,877 documents without a twin in train: 0.9001 (overall 0.9003; ...)'."""
    line = f"test accuracy on the {figures['unseen_count']:,} documents without a twin in train: "
    line += f"{figures['unseen_accuracy']:.4f}" if figures["unseen_accuracy"] is not None else "-"
    if overall_accuracy is not None:
        line += f" (overall {overall_accuracy:.4f}"
        if figures["seen_count"]:
            line += f"; the {figures['seen_count']:,} with a twin: {figures['seen_accuracy']:.4f}"
        line += ")"
    return line
