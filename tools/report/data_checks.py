"""The report's data-check sections: drift against the served model's training split, and the label audit.

Both are read from the run's artifacts: DriftCheck's `drift.json` (components/drift_check.py) and the newest
LabelAudit execution recorded against the evaluated examples (tools/audit.py).
"""

from __future__ import annotations

import csv
import html
import json
import os

from pipeline import component_ids as ids
from pipeline.recorded import mlmd
from tools.evaluations import shown_path
from tools.report import figures
from tools.report.sections import figure, html_table

_E = html.escape
SHOWN_SUSPECTS = 20


def _drift_figure(differences: list[dict]) -> str:
    plt = figures._pyplot()
    tokens = [d["token"] for d in differences][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(tokens) + 1))
    y = range(len(tokens))
    ax.barh([i + 0.2 for i in y], [d["reference"] for d in differences][::-1], 0.4, label="served model's training")
    ax.barh([i - 0.2 for i in y], [d["current"] for d in differences][::-1], 0.4, label="this run's training")
    ax.set_yticks(list(y), tokens, fontsize=8)
    ax.set_xlabel("share of tokens")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 2.0 / (len(tokens) + 4)), ncol=2)
    return figures._png(fig)


def drift_html(store, evaluator) -> str:
    from components.drift_check import DRIFT_FILE

    run = mlmd_run(store, evaluator)
    check = run.get(ids.DRIFT_CHECK)
    path = next(
        (os.path.join(a.uri, DRIFT_FILE) for a in mlmd.output_artifacts(store, check.id)) if check else iter(()), None
    )
    if not path or not os.path.isfile(path):
        return "<h2>Drift</h2><p>Not measured: this run has no DriftCheck.</p>"
    with open(path) as f:
        return drift_section(json.load(f))


def drift_section(drift: dict) -> str:
    """The drift section of DriftCheck's `drift.json`: the measures, and the tokens that moved when some did."""
    from components.drift_check import summary_line

    text = f"<h2>Drift against the served model's training split</h2><p>{_E(summary_line(drift))}.</p>"
    if drift["measures"] is None:
        return text
    if all(d["reference"] == d["current"] for d in drift["measures"]["largest_token_differences"]):
        # A re-run of the served model's own corpus: nothing moved, and a chart of the alphabetically first
        # tokens would suggest something did.
        return text + "<p>No token's share moved: this training split is the served model's own.</p>"
    limits = drift.get("limits") or {}
    rows = [
        [_E(name), f"{drift['measures'][name]:.4f}", _E(f"{limits[name]:g}" if name in limits else "-")]
        for name in ("label_linf", "word_count_js", "token_js", "oov_rate")
    ]
    return (
        text
        + html_table(["measure", "value", "--max-drift"], rows)
        + figure("the tokens whose shares moved most", _drift_figure(drift["measures"]["largest_token_differences"]))
    )


def mlmd_run(store, evaluator) -> dict:
    from tools.report.facts import executions_of_run_of

    return executions_of_run_of(store, evaluator)


def audit_html(store, examples) -> str:
    from tools.audit import AUDIT_FILE, AUDIT_TYPE, ISSUES_FILE

    audits = [e for e in mlmd.consumers(store, examples.id) if e.type == AUDIT_TYPE or _type(store, e) == AUDIT_TYPE]
    if not audits:
        return (
            "<h2>Suspect labels</h2><p>No label audit of these examples: "
            "<code>python -m tools.audit labels --name NAME</code>.</p>"
        )
    newest = max(audits, key=lambda e: (e.create_time_since_epoch, e.id))
    (report,) = mlmd.output_artifacts(store, newest.id)
    with open(os.path.join(report.uri, AUDIT_FILE)) as f:
        summary = json.load(f)
    with open(os.path.join(report.uri, ISSUES_FILE), newline="") as f:
        rows = list(csv.DictReader(f))
    table = [
        [
            r["rank"],
            _E(r["file"]),
            _E(r["label"]),
            r["label_probability"],
            _E(r["suggested"]),
            r["suggested_probability"],
        ]
        for r in rows[:SHOWN_SUSPECTS]
    ]
    return f"""<h2>Suspect labels</h2>
<p>{summary["suspects"]:,} of {summary["documents"]:,} training documents, from {summary["folds"]} out-of-fold
trainings (out-of-fold accuracy {summary["out_of_fold_accuracy"]:.4f}); {_E(summary["method"])}. All in
<code>{_E(shown_path(os.path.join(report.uri, ISSUES_FILE)))}</code>.</p>
{html_table(["rank", "file", "label", "its probability", "the model says", "probability"], table)}"""


def _type(store, execution) -> str:
    return store.get_execution_types_by_id([execution.type_id])[0].name
