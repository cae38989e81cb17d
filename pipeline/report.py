"""The self-contained HTML report a reviewer reads before trusting a model.

    python -m pipeline.inspect report --name imdb --html report.html

In order: what was evaluated (pipeline, corpus, model version, where it was
pushed); the verdict, each bound with its value and whether a served baseline
was compared; the overall metrics; per class precision, recall and F1; for two
classes the metrics across decision thresholds and the ROC and precision-recall
curves; the slices (class names for the label slice) with per-class precision
and recall; how the model was trained (recipe, settings, epochs and loss curves,
vocabulary, split sizes); ingestion; and why (the tokens that moved the test
split's decisions, the most confident mistakes with their files). Figures are
PNGs embedded in the page (pipeline/report_figures.py).
"""
from __future__ import annotations

import html
import os
from typing import Dict, List, Optional

from pipeline import report_figures, review_facts, run_summary
from pipeline.inspect import find_evaluation, fmt, slices_table

EXCERPT_CHARACTERS = 240
THRESHOLDS_SHOWN = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_E = html.escape


def excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """The text up to `limit` characters, cut at a word's end, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit + 1].rsplit(" ", 1)[0] if " " in text[:limit + 1] else text[:limit]
    return cut.rstrip(" ,;:.") + " …"


def metric_short_name(class_name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def verdict_lines(table: Dict, facts: Dict) -> List[Dict]:
    """One line per bound of the gate: what it asks, the value, pass / FAIL / not applied."""
    overall = next(s for s in table["slices"] if s["slice"] == "overall")
    lines = []
    for bound in facts["bounds"]:
        metric = metric_short_name(bound["metric"])
        values = overall["metrics"].get(metric, {}) if bound["slice"] == "overall" else {}
        failed = any(f.startswith(f"{bound['slice']}: {metric} ") and
                     ("lower bound" in f if bound["kind"] == "lower_bound" else "no-regression" in f)
                     for f in table["failures"])
        if bound["kind"] == "lower_bound":
            lines.append({"text": f"test {metric} {fmt(values.get('value'))} must be at least {bound['bound']:g}",
                          "outcome": "FAIL" if failed else "pass"})
        elif facts["served_baseline"]:
            how = {"recorded": "its figures recorded when it was blessed",
                   "evaluated": "evaluated in this run"}.get(facts["baseline_figures"], "")
            lines.append({"text": f"change in {metric} against the served model, version "
                                  f"{facts['served_baseline']} ({how}): {fmt(values.get('diff'), True)}, "
                                  f"must be at least {bound['bound']:+g}",
                          "outcome": "FAIL" if failed else "pass"})
        else:
            lines.append({"text": f"change in {metric} against the served model, at least {bound['bound']:+g}: "
                                  "no model was served when this one was evaluated, so there was no baseline "
                                  "to compare with",
                          "outcome": "not applied"})
    return lines


def _table(header: List[str], rows: List[List[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_E(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><tr>{head}</tr>{body or '<tr><td>none</td></tr>'}</table>"


def per_class_rows(matrix, class_names: List[str]) -> List[List[str]]:
    rows = []
    for c, name in enumerate(class_names):
        support = sum(matrix[c])
        predicted = sum(row[c] for row in matrix)
        hit = matrix[c][c]
        precision = hit / predicted if predicted else None
        recall = hit / support if support else None
        f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
        rows.append([_E(name), fmt(precision), fmt(recall), fmt(f1), f"{support:.0f}"])
    return rows


def _figure(title: str, b64: str) -> str:
    return (f"<figure><img alt='{_E(title)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{_E(title)}</figcaption></figure>")


def _slices_html(table: Dict, class_names: List[str], own: Dict[str, Dict]) -> str:
    from models.evaluation import accuracy_metric_name

    accuracy = accuracy_metric_name(len(class_names))
    header = ["slice", "examples", "accuracy", "baseline", "diff"] + [
        f"{c} {m}" for c in class_names for m in ("precision", "recall")]
    rows = []
    for s in table["slices"]:
        if not s["feature"]:
            continue
        value = report_figures.slice_label(s["feature"], s["value"], class_names)
        m = s["metrics"].get(accuracy, {})
        per_class = own.get(s["slice"], {}).get("classes", {})
        rows.append([_E(f"{s['feature']}={value}"), fmt(s["example_count"], count=True), fmt(m.get("value")),
                     fmt(m.get("baseline")), fmt(m.get("diff"), True)]
                    + [fmt(per_class.get(c, {}).get(k)) for c in class_names for k in ("precision", "recall")])
    return _table(header, rows, "slices")


def _training_html(facts: Dict, figures: Dict[str, str]) -> str:
    train, transform = facts["train_settings"], facts["transform_settings"]
    history = facts["history"]
    losses = history.get("train", {}).get("epoch_loss", [])
    val_losses = history.get("validation", {}).get("epoch_loss", [])
    recipe = (f"the '{facts['recipe']}' recipe" if facts["recipe"] else "settings of their own (no named recipe)")
    patience = train.get("early_stopping_patience")
    stopped = (f"{facts['epochs_run']} of at most {train.get('epochs')} epochs"
               + (f" (early stopping on the eval loss, patience {patience}: when it stops early, the weights of "
                  "the best epoch are kept)" if patience else ""))
    settings = "".join(f"<tr><td>{_E(k)}</td><td>{_E(str(v))}</td></tr>"
                       for k, v in sorted({**transform, **train}.items()))
    splits = facts["ingestion"].get("splits", {})
    split_rows = [[_E(split)] + [str(n) for n in per_class.values()] + [str(sum(per_class.values()))]
                  for split, per_class in splits.items()]
    classes = list(next(iter(splits.values()), {}).keys())
    push = facts["push"]
    pushed = ("not pushed: no pusher ran" if push is None else
              f"pushed as version {_E(str(push['version']))} to <code>{_E(str(push['destination']))}</code>"
              if push["pushed"] else "not pushed (not blessed): serving keeps its current model")
    curve = figures.get("Training curves")
    return f"""<h2>How the model was trained</h2>
<p>Settings: {recipe}. Trained {stopped}; final loss {fmt(losses[-1] if losses else None)} on the train split,
{fmt(val_losses[-1] if val_losses else None)} on the eval split. Vocabulary: {facts['vocabulary_entries']} words
in the file (vocab_size {transform.get('vocab_size')} with padding and out-of-vocabulary), n-grams
{transform.get('ngrams')}{f", {transform.get('ngram_buckets')} hashed n-gram ids" if transform.get('ngram_buckets') else ""},
at most {transform.get('max_len')} ids per document. Model: <code>{_E(facts['model_uri'])}</code>; {pushed}.</p>
{_figure('Training curves', curve) if curve else ''}
<h3>Split sizes</h3>{_table(['split'] + classes + ['all'], split_rows)}
<h3>Settings</h3><table>{settings}</table>"""


def html_report(store, pipeline_name: Optional[str] = None, run_id: Optional[str] = None) -> str:
    from pipeline import explanations

    table = slices_table(store, pipeline_name, run_id)
    rid, evaluator, evaluation, blessing = find_evaluation(store, pipeline_name, run_id)
    facts = review_facts.review_facts(store, evaluator, evaluation)
    examples = run_summary.input_artifacts(store, evaluator.id)["examples"][0]
    class_names = facts["ingestion"].get("class_names") or []
    min_accuracy = next((b["bound"] for b in facts["bounds"] if b["kind"] == "lower_bound"), None)
    images = report_figures.figures(table, class_names, min_accuracy, facts["history"])
    why = why_figures(store, evaluator, examples, class_names)
    own = explanations.per_slice_precision_recall(why["predictions"], why["labels"], why["slices"], class_names)

    overall = next(s for s in table["slices"] if s["slice"] == "overall")
    push = facts["push"] or {}
    version = push.get("version") if push.get("pushed") else None
    title = f"{facts['pipeline'] or 'pipeline'}: model {version or '(not pushed)'}"
    checks = "".join(f"<li class='{'fail' if v['outcome'] == 'FAIL' else ''}'><b>{_E(v['outcome'])}</b>: "
                     f"{_E(v['text'])}</li>" for v in verdict_lines(table, facts))
    bound_text = {metric_short_name(b["metric"]): f"at least {b['bound']:g}" for b in facts["bounds"]
                  if b["kind"] == "lower_bound"}
    metric_rows = [[_E(m), fmt(v["value"], count=m in ("example_count",)), fmt(v.get("baseline")),
                    fmt(v.get("diff"), True),
                    _E(f"{bound_text.get(m, '')}: {v['threshold']}" if v.get("threshold") else "")]
                   for m, v in sorted(overall["metrics"].items())]
    matrix = report_figures.confusion(table["evaluation_uri"], len(class_names))
    curve = report_figures.threshold_curve(table["evaluation_uri"]) if len(class_names) == 2 else []
    threshold_rows = [[f"{r['threshold']:.2f}", fmt(r["precision"]), fmt(r["recall"]), fmt(r["f1"]),
                       fmt(r["accuracy"]), fmt(r["false_positive_rate"])]
                      for t in THRESHOLDS_SHOWN for r in [min(curve, key=lambda r: abs(r["threshold"] - t))]] \
        if curve else []
    curve_images = "".join(_figure(t, images[t]) for t in ("ROC curve", "Precision-recall curve", "Calibration")
                           if t in images)
    slice_images = "".join(_figure(t, b) for t, b in images.items() if t.startswith("Accuracy by"))
    ingest = facts["ingestion"]
    reasons: Dict[str, int] = {}
    for s in ingest.get("skipped", []):
        reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
    skipped = [[_E(r), str(n)] for r, n in sorted(reasons.items())]
    baseline_note = (f"compared with the served model, version {_E(facts['served_baseline'])}"
                     if facts["served_baseline"] else "no baseline: nothing was served when this model was evaluated")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{_E(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1150px}} table{{border-collapse:collapse;margin:0.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}} td:first-child{{text-align:left}}
figure{{display:inline-block;margin:0.5em;vertical-align:top}} .verdict{{font-size:1.4em;font-weight:bold;
color:{'#2a7' if table['blessed'] else '#c33'}}} li.fail{{color:#c33}} .meta{{color:#555}}</style></head><body>
<h1>{_E(title)}</h1>
<p class="meta">Run <code>{_E(rid)}</code> of <code>{_E(str(facts['pipeline']))}</code>; corpus
<code>{_E(str(facts['corpus']))}</code>; classes {_E(', '.join(class_names))};
{overall['example_count']:.0f} test examples; {baseline_note}.<br>Evaluation: <code>{_E(evaluation.uri)}</code></p>
<p class="verdict">{'BLESSED' if table['blessed'] else 'NOT BLESSED'}</p>
<ul>{checks}</ul>
<h2>Overall (test split)</h2>
{_table(['metric', 'candidate', 'baseline', 'diff', 'bound'], metric_rows)}
<h2>Per class</h2>
<p>Top-1 prediction{' (the positive class when its probability is at least 0.5)' if len(class_names) == 2 else ''}:
precision = of the documents predicted as the class, the share that are; recall = of the class's documents, the
share found.</p>
{_table(['class', 'precision', 'recall', 'F1', 'test documents'], per_class_rows(matrix, class_names) if matrix else [])}
{_figure('Confusion matrix', images['Confusion matrix']) if 'Confusion matrix' in images else ''}
{f"<h2>Across decision thresholds</h2><p>The positive class ({_E(class_names[1])}) is predicted when its probability is at least the threshold; the model serves 0.5.</p>" + _table(['threshold', 'precision', 'recall', 'F1', 'accuracy', 'false positive rate'], threshold_rows) + curve_images if curve else ''}
<h2>Slices</h2>
<p>Count, accuracy, baseline and diff: TFMA's. Precision and recall per class within a slice: this report's own
pass of the evaluated model over the test split (TFMA computes them on the overall slice only, to keep the
Evaluator fast). The dashed line is the overall slice's bound; slices are for looking, not gating.</p>
{slice_images}
{_slices_html(table, class_names, own)}
{_training_html(facts, images)}
<h2>Ingestion</h2>
<p>{ingest.get('documents', '?')} documents ingested from <code>{_E(str(ingest.get('corpus_root', '?')))}</code>;
{len(ingest.get('skipped', []))} files skipped, {len(ingest.get('decoded_with_fallback', []))} decoded with a fallback.</p>
{_table(['skipped because', 'files'], skipped)}
{_why_html(why, class_names)}
</body></html>
"""


def why_figures(store, evaluator, examples, class_names: List[str]) -> Dict:
    """The evaluated model over the test split (explanations.test_split_analysis), with each mistake's file."""
    import tensorflow as tf

    from components.directory_example_gen import IngestSettings
    from pipeline import explanations

    model_artifact = run_summary.input_artifacts(store, evaluator.id)["model"][0]
    model = tf.saved_model.load(os.path.join(model_artifact.uri, "Format-Serving"))
    texts, labels, slices = explanations.read_split(examples.uri, "test")
    analysis = explanations.test_split_analysis(model, texts, labels, class_names)
    example_gen = run_summary.producer(store, examples.id)
    root = run_summary.custom_property(example_gen, "input_base")
    settings = IngestSettings.from_exec_properties(
        {"custom_config": run_summary.custom_property(example_gen, "custom_config")})
    files = explanations.files_of_texts(root, settings, [texts[m["index"]] for m in analysis["mistakes"]])
    for m in analysis["mistakes"]:
        text = texts[m.pop("index")]
        m["file"] = files.get(text)
        m["excerpt"] = excerpt(text.decode("utf-8", "replace"))
    return {**analysis, "corpus_root": root, "labels": labels, "slices": slices}


def _why_html(why: Dict, class_names: List[str]) -> str:
    tables = "".join(
        f"<figure><table><tr><th>{_E(c)}: token</th><th>share</th><th>summed</th><th>times</th></tr>"
        + "".join(f"<tr><td>{_E(t['token'])}</td><td>{t['share']:+.3f}</td><td>{t['summed_share']:+.1f}</td>"
                  f"<td>{t['occurrences']}</td></tr>" for t in tokens)
        + "</table></figure>"
        for c, tokens in why["influential_tokens"].items())
    mistakes = "".join(
        f"<tr><td>{_E(m['file'] or '(file not found)')}</td><td>{_E(m['true'])}</td>"
        f"<td>{_E(m['predicted'])}</td><td>{m['probability']:.3f}</td>"
        f"<td style='text-align:left'>{_E(m['excerpt'])}</td></tr>"
        for m in why["mistakes"]) or "<tr><td colspan=5>none</td></tr>"
    binary = len(class_names) == 2
    explained = (f"the {_E(class_names[1])} logit (negative: toward {_E(class_names[0])})" if binary
                 else "each class&#39;s logit")
    return f"""<h2>Why: the tokens that moved the test split's decisions</h2>
<p>Each token's share of {explained} per occurrence, and summed over its occurrences in the {why['examples']}
test examples (logit units; exact: the model averages one term per token); the tokens with the largest share
per occurrence among those seen at least {why['min_occurrences']} times.</p>
{tables}
<h2>Most confident mistakes</h2>
<p>{why['errors']} of {why['examples']} test examples misclassified; files under
<code>{_E(str(why['corpus_root']))}</code>.</p>
<table><tr><th>file</th><th>true</th><th>predicted</th><th>probability</th><th>text</th></tr>{mistakes}</table>"""
