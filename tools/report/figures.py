"""The report's figures, as base64 PNGs (matplotlib): accuracy by slice, confusion matrix, calibration, ROC and
precision-recall curves, and the training curves. Also what they are drawn from, for the report's tables:
the confusion matrix and the binary metrics across decision thresholds, from TFMA's plots.
"""

from __future__ import annotations

import base64
import io

from models.evaluation import accuracy_metric_name
from pipeline.recorded import tfma_results
from tools.evaluations import slice_label


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion(eval_uri: str, num_classes: int) -> list[list[float]] | None:
    """Rows = actual class, columns = predicted (binary: at the 0.5 threshold), from TFMA's plots."""
    if num_classes > 2:
        return tfma_results.confusion_matrix(eval_uri, num_classes)
    plot = tfma_results.overall_plot(eval_uri, "confusion_matrix_at_thresholds")
    if plot is None:
        return None
    best = min(plot.matrices, key=lambda m: abs(m.threshold - 0.5))
    return [[best.true_negatives, best.false_positives], [best.false_negatives, best.true_positives]]


def threshold_curve(eval_uri: str) -> list[dict[str, float]]:
    """Binary: one row per decision threshold TFMA computed (ConfusionMatrixPlot), sorted by threshold."""
    plot = tfma_results.overall_plot(eval_uri, "confusion_matrix_at_thresholds")
    if plot is None:
        return []
    fields = ("threshold", "precision", "recall", "false_positive_rate", "f1", "accuracy")
    rows = [{f: getattr(m, f) for f in fields} for m in plot.matrices]
    return sorted((r for r in rows if 0.0 <= r["threshold"] <= 1.0), key=lambda r: r["threshold"])


def calibration(eval_uri: str, bins: int = 10):
    plot = tfma_results.overall_plot(eval_uri, "calibration_histogram_buckets")
    if plot is None:
        return None
    # TFMA keeps many fine buckets; ten by predicted probability read better.
    sums = [[0.0, 0.0, 0.0] for _ in range(bins)]
    for b in plot.buckets:
        n = b.num_weighted_examples.value
        if n > 0:
            mean = b.total_weighted_refined_prediction.value / n
            target = sums[min(bins - 1, max(0, int(mean * bins)))]
            target[0] += b.total_weighted_refined_prediction.value
            target[1] += b.total_weighted_label.value
            target[2] += n
    kept = [t for t in sums if t[2] > 0]
    return [t[0] / t[2] for t in kept], [t[1] / t[2] for t in kept], [t[2] for t in kept]


def _nan(v) -> float:
    return float("nan") if v is None else v


def _slice_bars(
    plt, feature: str, slices: list[dict], accuracy_key: str, class_names: list[str], min_accuracy: float | None
) -> str:
    import numpy as np

    numeric = all(s["value"].lstrip("-").isdigit() for s in slices)
    slices = sorted(slices, key=lambda s: int(s["value"]) if numeric else s["value"])
    labels = [slice_label(feature, s["value"], class_names) for s in slices]
    values = np.array([_nan(s["metrics"].get(accuracy_key, {}).get("value")) for s in slices])
    baseline = np.array([_nan(s["metrics"].get(accuracy_key, {}).get("baseline")) for s in slices])
    has_baseline = not np.all(np.isnan(baseline))
    fig, ax = plt.subplots(figsize=(max(4.5, 0.9 * len(labels) + 2), 3.2))
    x = np.arange(len(labels))
    width = 0.4 if has_baseline else 0.6
    under = [min_accuracy is not None and v < min_accuracy for v in values]
    colors = ["#c33" if u else "#1f77b4" for u in under]
    bars = ax.bar(x - 0.2 if has_baseline else x, values, width, label="candidate", color=colors)
    if has_baseline:
        ax.bar(x + 0.2, baseline, width, label="served baseline", alpha=0.5)
    for bar, value, s in zip(bars, values, slices, strict=True):
        ax.annotate(
            f"{value:.3f}\nn={s['example_count']:.0f}",
            (bar.get_x() + bar.get_width() / 2, value),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    known = [v for v in np.concatenate([values, baseline]) if not np.isnan(v)]
    lowest = min(known + ([min_accuracy] if min_accuracy is not None else [])) if known else 0.0
    ax.set_ylim(max(0.0, lowest - 0.1), 1.08)
    if min_accuracy is not None:
        ax.axhline(min_accuracy, color="#c33", linestyle="--", linewidth=1, label=f"overall bound {min_accuracy:g}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)  # beside, never over a bar
    ax.set_xticks(x, labels, rotation=30 if len(labels) > 5 else 0)
    ax.set_ylabel("accuracy")
    ax.set_title(f"accuracy by {feature} (test)")
    return _png(fig)


def _confusion_figure(plt, matrix, class_names: list[str]) -> str:
    import numpy as np

    counts = np.array(matrix, dtype=float)
    rows = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.3 * k + 2.5, 1.1 * k + 1.6))
    im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{rows[i, j]:.1%}\n({counts[i, j]:.0f})",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if rows[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(k), class_names, rotation=30 if k > 3 else 0)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    fig.colorbar(im, label="share of the actual class (row)")
    ax.set_title("confusion matrix (test; rows sum to 100%)")
    return _png(fig)


def _curves(plt, curve: list[dict[str, float]], auc: float | None) -> dict[str, str]:
    out = {}
    at_half = min(curve, key=lambda r: abs(r["threshold"] - 0.5))
    fig, ax = plt.subplots(figsize=(4, 4))
    points = sorted(curve, key=lambda r: (r["false_positive_rate"], r["recall"]))
    ax.plot([0.0] + [r["false_positive_rate"] for r in points] + [1.0], [0.0] + [r["recall"] for r in points] + [1.0])
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.scatter([at_half["false_positive_rate"]], [at_half["recall"]], color="#c33", zorder=3, label="threshold 0.5")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (recall)")
    ax.set_title("ROC (test)" + (f", AUC {auc:.3f}" if auc is not None else ""))
    ax.legend(loc="lower right", fontsize=8)
    out["ROC curve"] = _png(fig)
    fig, ax = plt.subplots(figsize=(4, 4))
    points = sorted((r for r in curve if r["precision"] > 0 or r["recall"] > 0), key=lambda r: r["recall"])
    ax.plot([r["recall"] for r in points], [r["precision"] for r in points])
    ax.scatter([at_half["recall"]], [at_half["precision"]], color="#c33", zorder=3, label="threshold 0.5")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.set_title("precision-recall (test)")
    ax.legend(loc="lower left", fontsize=8)
    out["Precision-recall curve"] = _png(fig)
    return out


def _training_figure(plt, history: dict[str, dict[str, list[float]]]) -> str | None:
    if not history.get("train", {}).get("epoch_loss"):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, tag, title in ((axes[0], "epoch_loss", "loss"), (axes[1], "epoch_accuracy", "accuracy")):
        for phase, style in (("train", "-o"), ("validation", "-s")):
            values = history.get(phase, {}).get(tag, [])
            if values:
                ax.plot(
                    range(1, len(values) + 1),
                    values,
                    style,
                    markersize=3,
                    label="train split" if phase == "train" else "eval split",
                )
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.legend(fontsize=8)
    return _png(fig)


def figures(
    table: dict, class_names: list[str], min_accuracy: float | None = None, history: dict | None = None
) -> dict[str, str]:
    """{title: base64 PNG} for the report (and the notebook)."""
    plt = _pyplot()
    out: dict[str, str] = {}
    accuracy_key = accuracy_metric_name(len(class_names))
    by_feature: dict[str, list[dict]] = {}
    for s in table["slices"]:
        if s["feature"]:
            by_feature.setdefault(s["feature"], []).append(s)
    for feature, slices in sorted(by_feature.items()):
        out[f"Accuracy by {feature}"] = _slice_bars(plt, feature, slices, accuracy_key, class_names, min_accuracy)
    matrix = confusion(table["evaluation_uri"], len(class_names))
    if matrix is not None:
        out["Confusion matrix"] = _confusion_figure(plt, matrix, class_names)
    if len(class_names) == 2:
        curve = threshold_curve(table["evaluation_uri"])
        overall = next((s for s in table["slices"] if s["slice"] == "overall"), {"metrics": {}})
        if curve:
            out.update(_curves(plt, curve, overall["metrics"].get("auc", {}).get("value")))
        points = calibration(table["evaluation_uri"])
        if points:
            pred, label, counts = points
            fig, ax = plt.subplots(figsize=(4, 4))
            ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
            ax.scatter(pred, label, s=[max(5, 200 * c / max(counts)) for c in counts], label="buckets")
            ax.set_xlabel("mean predicted probability")
            ax.set_ylabel("fraction positive")
            ax.set_title("calibration (test)")
            ax.legend(loc="upper left")
            out["Calibration"] = _png(fig)
    training = _training_figure(plt, history or {})
    if training:
        out["Training curves"] = training
    return out
