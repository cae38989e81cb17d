"""The self-contained HTML report of an evaluation: verdict, metrics, slice figures, ingestion, and why.

    python -m pipeline.inspect report --name imdb --html report.html

Figures are PNGs embedded in the page (matplotlib); the "why" sections run the
evaluated model over the test split (pipeline/explanations.py).
"""
from __future__ import annotations

import base64
import io
import json
import os
from typing import Dict, List, Optional

from components.directory_example_gen import REPORT_FILE
from models.evaluation import accuracy_metric_name
from pipeline import run_summary
from pipeline.inspect import find_evaluation, fmt, read_json, slices_table


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def figures(table: Dict, class_names: List[str]) -> Dict[str, str]:
    """{title: base64 PNG} for the report (and the notebook)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out: Dict[str, str] = {}
    accuracy_key = accuracy_metric_name(len(class_names))
    by_feature: Dict[str, List[Dict]] = {}
    for s in table["slices"]:
        if s["feature"]:
            by_feature.setdefault(s["feature"], []).append(s)
    for feature, slices in sorted(by_feature.items()):
        numeric = all(s["value"].lstrip("-").isdigit() for s in slices)
        slices = sorted(slices, key=lambda s: int(s["value"]) if numeric else s["value"])
        labels = [s["value"] for s in slices]
        values = [_nan(s["metrics"].get(accuracy_key, {}).get("value")) for s in slices]
        baseline = [_nan(s["metrics"].get(accuracy_key, {}).get("baseline")) for s in slices]
        fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(labels) + 2), 3))
        x = np.arange(len(labels))
        bars = ax.bar(x - 0.2 if not np.all(np.isnan(baseline)) else x, values, 0.4, label="candidate")
        if not np.all(np.isnan(baseline)):
            ax.bar(x + 0.2, baseline, 0.4, label="baseline", alpha=0.5)
            ax.legend(loc="upper center", ncol=2, fontsize=8, frameon=False)
        for bar, s in zip(bars, slices):
            ax.annotate(f"n={s['example_count']:.0f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, labels, rotation=30 if len(labels) > 5 else 0)
        ax.set_ylim(0, 1.2)
        ax.set_ylabel("accuracy")
        ax.set_title(f"accuracy by {feature}")
        out[f"Accuracy by {feature}"] = _png(fig)

    matrix = _confusion(table["evaluation_uri"], len(class_names))
    if matrix is not None:
        fig, ax = plt.subplots(figsize=(1.2 * len(class_names) + 2, 1.1 * len(class_names) + 1.5))
        im = ax.imshow(matrix, cmap="Blues")
        for i in range(len(class_names)):
            for j in range(len(class_names)):
                ax.text(j, i, f"{matrix[i][j]:.0f}", ha="center", va="center",
                        color="white" if matrix[i][j] > np.max(matrix) / 2 else "black")
        ax.set_xticks(range(len(class_names)), class_names)
        ax.set_yticks(range(len(class_names)), class_names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        fig.colorbar(im)
        ax.set_title("confusion matrix (test)")
        out["Confusion matrix"] = _png(fig)

    calibration = _calibration(table["evaluation_uri"]) if len(class_names) == 2 else None
    if calibration:
        pred, label, counts = calibration
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
        ax.scatter(pred, label, s=[max(5, 200 * c / max(counts)) for c in counts], label="buckets")
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("fraction positive")
        ax.set_title("calibration (test)")
        ax.legend(loc="upper left")
        out["Calibration"] = _png(fig)
    return out


def _nan(v) -> float:
    return float("nan") if v is None else v


def _confusion(eval_uri: str, num_classes: int):
    if num_classes > 2:
        return run_summary.confusion_matrix(eval_uri, num_classes)
    plot = run_summary.overall_plot(eval_uri, "confusion_matrix_at_thresholds")
    if plot is None:
        return None
    best = min(plot.matrices, key=lambda m: abs(m.threshold - 0.5))
    return [[best.true_negatives, best.false_positives], [best.false_negatives, best.true_positives]]


def _calibration(eval_uri: str, bins: int = 10):
    plot = run_summary.overall_plot(eval_uri, "calibration_histogram_buckets")
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


def html_report(store, pipeline_name: Optional[str] = None, run_id: Optional[str] = None) -> str:
    import html

    table = slices_table(store, pipeline_name, run_id)
    rid, evaluator, evaluation, blessing = find_evaluation(store, pipeline_name, run_id)
    examples = run_summary.input_artifacts(store, evaluator.id)["examples"][0]
    class_names = json.loads(run_summary.custom_property(examples, "class_names") or "[]")
    ingest = read_json(os.path.join(examples.uri, REPORT_FILE))
    reasons: Dict[str, int] = {}
    for s in ingest.get("skipped", []):
        reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
    overall = next(s for s in table["slices"] if s["slice"] == "overall")
    verdict = "BLESSED" if table["blessed"] else "NOT BLESSED"
    rows = "".join(
        f"<tr><td>{html.escape(m)}</td><td>{fmt(v['value'])}</td><td>{fmt(v.get('baseline'))}</td>"
        f"<td>{fmt(v.get('diff'), True)}</td><td>{v.get('threshold', '')}</td></tr>"
        for m, v in sorted(overall["metrics"].items()))
    images = "".join(f"<figure><img alt='{html.escape(t)}' src='data:image/png;base64,{b64}'>"
                     f"<figcaption>{html.escape(t)}</figcaption></figure>"
                     for t, b64 in figures(table, class_names).items())
    skipped = "".join(f"<tr><td>{html.escape(r)}</td><td>{n}</td></tr>" for r, n in sorted(reasons.items())) \
        or "<tr><td colspan=2>none</td></tr>"
    failures = "".join(f"<li>{html.escape(f)}</li>" for f in table["failures"])
    why = _why_html(store, evaluator, examples, class_names)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Evaluation {html.escape(rid)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}} td:first-child{{text-align:left}}
figure{{display:inline-block;margin:0.5em}} .verdict{{font-size:1.4em;font-weight:bold;
color:{'#2a7' if table['blessed'] else '#c33'}}}</style></head><body>
<h1>Evaluation of run {html.escape(rid)}</h1>
<p class="verdict">{verdict}</p><ul>{failures}</ul>
<p>Classes: {html.escape(', '.join(class_names))}. Test examples: {overall['example_count']:.0f}.
Evaluation: <code>{html.escape(evaluation.uri)}</code></p>
<h2>Candidate against baseline (overall)</h2>
<table><tr><th>metric</th><th>candidate</th><th>baseline</th><th>diff</th><th>threshold</th></tr>{rows}</table>
<h2>Slices</h2>{images}
<h2>Ingestion</h2>
<p>{ingest.get('documents', '?')} documents ingested from <code>{html.escape(str(ingest.get('corpus_root', '?')))}</code>;
{len(ingest.get('skipped', []))} files skipped, {len(ingest.get('decoded_with_fallback', []))} decoded with a fallback.</p>
<table><tr><th>skipped because</th><th>files</th></tr>{skipped}</table>
{why}
</body></html>
"""


def why_figures(store, evaluator, examples, class_names: List[str]) -> Dict:
    """The evaluated model over the test split (explanations.test_split_analysis), with each mistake's file."""
    import tensorflow as tf

    from components.directory_example_gen import IngestSettings
    from pipeline import explanations

    model_artifact = run_summary.input_artifacts(store, evaluator.id)["model"][0]
    model = tf.saved_model.load(os.path.join(model_artifact.uri, "Format-Serving"))
    texts, labels = explanations.read_split(examples.uri, "test")
    analysis = explanations.test_split_analysis(model, texts, labels, class_names)
    example_gen = run_summary.producer(store, examples.id)
    root = run_summary.custom_property(example_gen, "input_base")
    settings = IngestSettings.from_exec_properties(
        {"custom_config": run_summary.custom_property(example_gen, "custom_config")})
    files = explanations.files_of_texts(root, settings, [texts[m["index"]] for m in analysis["mistakes"]])
    for m in analysis["mistakes"]:
        text = texts[m.pop("index")]
        m["file"] = files.get(text)
        m["excerpt"] = text[:160].decode("utf-8", "replace")
    return {**analysis, "corpus_root": root}


def _why_html(store, evaluator, examples, class_names: List[str]) -> str:
    import html

    figures_ = why_figures(store, evaluator, examples, class_names)
    tables = "".join(
        f"<figure><table><tr><th>{html.escape(c)}: token</th><th>share</th><th>summed</th><th>times</th></tr>"
        + "".join(f"<tr><td>{html.escape(t['token'])}</td><td>{t['share']:+.3f}</td><td>{t['summed_share']:+.1f}</td>"
                  f"<td>{t['occurrences']}</td></tr>" for t in tokens)
        + "</table></figure>"
        for c, tokens in figures_["influential_tokens"].items())
    mistakes = "".join(
        f"<tr><td>{html.escape(m['file'] or '(file not found)')}</td><td>{html.escape(m['true'])}</td>"
        f"<td>{html.escape(m['predicted'])}</td><td>{m['probability']:.3f}</td>"
        f"<td style='text-align:left'>{html.escape(m['excerpt'])}</td></tr>"
        for m in figures_["mistakes"]) or "<tr><td colspan=5>none</td></tr>"
    binary = len(class_names) == 2
    return f"""<h2>Why: the tokens that moved the test split's decisions</h2>
<p>Each token's share of {'the ' + html.escape(class_names[1]) + ' logit (negative: toward ' + html.escape(class_names[0]) + ')'
                          if binary else 'each class&#39;s logit'} per occurrence, and summed over its occurrences in
the {figures_['examples']} test examples (logit units; exact: the model averages one term per token); the tokens
with the largest share per occurrence among those seen at least 20 times.</p>
{tables}
<h2>Most confident mistakes</h2>
<p>{figures_['errors']} of {figures_['examples']} test examples misclassified; files under
<code>{html.escape(str(figures_['corpus_root']))}</code>.</p>
<table><tr><th>file</th><th>true</th><th>predicted</th><th>probability</th><th>text</th></tr>{mistakes}</table>"""
