"""The sections of the HTML report (tools/report/page.py): per class, thresholds, slices, training, ingestion
(the why section: tools/report/why.py).

Each returns HTML; figures come from tools/report/figures.py, the facts from tools/report/facts.py.
"""

from __future__ import annotations

import html

from tools.evaluations import fmt, shown_path, slice_label
from tools.report import figures

_E = html.escape

THRESHOLDS_SHOWN = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def html_table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_E(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><tr>{head}</tr>{body or '<tr><td>none</td></tr>'}</table>"


def per_class_rows(matrix, class_names: list[str]) -> list[list[str]]:
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


def figure(title: str, b64: str) -> str:
    return (
        f"<figure><img alt='{_E(title)}' src='data:image/png;base64,{b64}'>"
        f"<figcaption>{_E(title)}</figcaption></figure>"
    )


def slices_table_html(
    table: dict, class_names: list[str], own: dict[str, dict], min_accuracy: float | None = None
) -> str:
    """One row per slice; a slice under the overall slice's bound is marked "under <bound>" (slices do not gate,
    but a reader looks for them); precision and recall of a class the slice holds none of are "n/a"."""
    from models.evaluation import accuracy_metric_name

    accuracy = accuracy_metric_name(len(class_names))
    header = ["slice", "examples", "accuracy", "baseline", "diff"] + [
        f"{c} {m}" for c in class_names for m in ("precision", "recall")
    ]
    not_applicable = lambda v: "n/a" if v is None else fmt(v)  # noqa: E731
    rows = []
    for s in table["slices"]:
        if not s["feature"]:
            continue
        value = slice_label(s["feature"], s["value"], class_names)
        m = s["metrics"].get(accuracy, {})
        per_class = own.get(s["slice"], {}).get("classes", {})
        rows.append(
            [
                _E(f"{s['feature']}={value}"),
                fmt(s["example_count"], count=True),
                fmt(m.get("value"))
                + (
                    f' <b class="fail">under {min_accuracy:g}</b>'
                    if min_accuracy is not None and m.get("value") is not None and m["value"] < min_accuracy
                    else ""
                ),
                fmt(m.get("baseline")),
                fmt(m.get("diff"), True),
            ]
            + [not_applicable(per_class.get(c, {}).get(k)) for c in class_names for k in ("precision", "recall")]
        )
    return html_table(header, rows, "slices")


def training_html(facts: dict, figures: dict[str, str]) -> str:
    train, transform = facts["train_settings"], facts["transform_settings"]
    history = facts["history"]
    losses = history.get("train", {}).get("epoch_loss", [])
    val_losses = history.get("validation", {}).get("epoch_loss", [])
    recipe = f"the '{facts['recipe']}' recipe" if facts["recipe"] else "settings of their own (no named recipe)"
    patience = train.get("early_stopping_patience")
    stopped = f"{facts['epochs_run']} of at most {train.get('epochs')} epochs" + (
        f" (early stopping on the eval loss, patience {patience}); the model is epoch {facts['kept_epoch']}'s "
        "weights, the lowest eval loss"
        if patience and facts.get("kept_epoch")
        else ""
    )
    settings = "".join(
        f"<tr><td>{_E(k)}</td><td>{_E(str(v))}</td></tr>" for k, v in sorted({**transform, **train}.items())
    )
    splits = facts["ingestion"].get("splits", {})
    split_rows = [
        [_E(split)] + [str(n) for n in per_class.values()] + [str(sum(per_class.values()))]
        for split, per_class in splits.items()
    ]
    classes = list(next(iter(splits.values()), {}).keys())
    push = facts["push"]
    pushed = (
        "not pushed: no pusher ran"
        if push is None
        else f"pushed as version {_E(str(push['version']))} to <code>{_E(shown_path(push['destination']))}</code>"
        if push["pushed"]
        else "not pushed (not blessed): serving keeps its current model"
    )
    curve = figures.get("Training curves")
    hashed = f", {transform['ngram_buckets']} hashed n-gram ids" if transform.get("ngram_buckets") else ""
    max_len = transform.get("max_len")
    per_document = f"at most {max_len} ids per document" if max_len else "every id of each document (nothing cut)"
    return f"""<h2>How the model was trained</h2>
<p>Settings: {recipe}. Trained {stopped}; final loss {fmt(losses[-1] if losses else None)} on the train split,
{fmt(val_losses[-1] if val_losses else None)} on the eval split. Vocabulary: {facts["vocabulary_entries"]} words
in the file (vocab_size {transform.get("vocab_size")} with padding and out-of-vocabulary), n-grams
{transform.get("ngrams")}{hashed},
{per_document}. {_E(facts.get("tokenization") or "")}.
Model: <code>{_E(shown_path(facts["model_uri"]))}</code>; {pushed}.</p>
{figure("Training curves", curve) if curve else ""}
<h3>Split sizes</h3>{html_table(["split"] + classes + ["all"], split_rows)}
<h3>Settings</h3><table>{settings}</table>"""


def per_class_html(matrix, class_names: list[str], images: dict[str, str]) -> str:
    binary = " (the positive class when its probability is at least 0.5)" if len(class_names) == 2 else ""
    rows = per_class_rows(matrix, class_names) if matrix else []
    matrix_figure = figure("Confusion matrix", images["Confusion matrix"]) if "Confusion matrix" in images else ""
    return f"""<h2>Per class</h2>
<p>Top-1 prediction{binary}: precision = of the documents predicted as the class, the share that are; recall = of
the class's documents, the share found.</p>
{html_table(["class", "precision", "recall", "F1", "test documents"], rows)}
{matrix_figure}"""


def thresholds_html(evaluation_table: dict, class_names: list[str], images: dict[str, str]) -> str:
    """Two classes: the metrics at each decision threshold of THRESHOLDS_SHOWN, and the curves."""
    curve = figures.threshold_curve(evaluation_table["evaluation_uri"]) if len(class_names) == 2 else []
    if not curve:
        return ""
    rows = []
    for t in THRESHOLDS_SHOWN:
        r = min(curve, key=lambda row: abs(row["threshold"] - t))
        rows.append(
            [
                f"{r['threshold']:.2f}",
                fmt(r["precision"]),
                fmt(r["recall"]),
                fmt(r["f1"]),
                fmt(r["accuracy"]),
                fmt(r["false_positive_rate"]),
            ]
        )
    images_html = "".join(
        figure(t, images[t]) for t in ("ROC curve", "Precision-recall curve", "Calibration") if t in images
    )
    return f"""<h2>Across decision thresholds</h2>
<p>The positive class ({_E(class_names[1])}) is predicted when its probability is at least the threshold; the
model serves 0.5.</p>
{html_table(["threshold", "precision", "recall", "F1", "accuracy", "false positive rate"], rows)}
{images_html}"""


def slices_html(
    evaluation_table: dict,
    class_names: list[str],
    own: dict[str, dict],
    images: dict[str, str],
    min_accuracy: float | None = None,
) -> str:
    bars = "".join(figure(t, b) for t, b in images.items() if t.startswith("Accuracy by"))
    return f"""<h2>Slices</h2>
<p>Count, accuracy, baseline and diff: TFMA's. Precision and recall per class within a slice: this report's own
pass of the evaluated model over the test split (TFMA computes them on the overall slice only, to keep the
Evaluator fast). The dashed line is the overall slice's bound: slices under it are drawn red and marked in the
table; slices are for looking, not gating. n/a: the slice holds no document of the class.</p>
{bars}
{slices_table_html(evaluation_table, class_names, own, min_accuracy)}"""


def unseen_html(table: dict, class_names: list[str]) -> str:
    """The test accuracy without the documents that have a twin in train, beside the overall one."""
    from models.evaluation import accuracy_metric_name
    from pipeline.recorded.tfma_results import unseen_accuracy, unseen_line

    accuracy = accuracy_metric_name(len(class_names))
    metrics = {
        s["slice"]: {"example_count": s["example_count"], **{m: v["value"] for m, v in s["metrics"].items()}}
        for s in table["slices"]
    }
    figures = unseen_accuracy(metrics, accuracy)
    if figures is None:
        return "<p>No <code>seen_in_train</code> slice: this evaluation predates it.</p>"
    line = unseen_line(figures, metrics["overall"].get(accuracy))
    return f"<p><b>{_E(line[0].upper() + line[1:])}.</b> A twin is an exact or near duplicate (Ingestion, below).</p>"


def ingestion_html(ingest: dict) -> str:
    from components.example_gen.duplicates import summary_line

    reasons: dict[str, int] = {}
    for s in ingest.get("skipped", []):
        reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
    skipped = [[_E(r), str(n)] for r, n in sorted(reasons.items())]
    root = _E(str(ingest.get("corpus_root", "?")))
    found = ingest.get("duplicates")
    duplicates = ""
    if found:
        conflicts = [
            [_E(", ".join(f"{d['path']} ({d['class']})" for d in group))] for group in found["label_conflict_groups"]
        ]
        policy = found.get("label_conflict_policy", "keep")
        duplicates = f"""<p>{_E(summary_line(found))}. {len(found["exact_groups"])} exact and
{len(found["near_groups"])} near groups are listed with their files in <code>ingestion_report.json</code>{
            f", with {len(found['template_groups'])} template groups (near copies of one form, too many to share a "
            "split: split like distinct texts)"
            if found.get("template_groups")
            else ""
        }.
Label conflicts: {_E(policy)} ({found.get("label_conflict_documents_dropped", 0)} documents dropped).</p>
{html_table(["label conflict (one text, two labels)"], conflicts[:20]) if conflicts else ""}"""
    return f"""<h2>Ingestion</h2>
<p>{ingest.get("documents", "?")} documents ingested from <code>{root}</code>; {len(ingest.get("skipped", []))} files
skipped, {len(ingest.get("decoded_with_fallback", []))} decoded with a fallback.</p>
{html_table(["skipped because", "files"], skipped)}
{duplicates}"""
