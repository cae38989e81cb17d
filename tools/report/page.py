"""The self-contained HTML report a reviewer reads before trusting a model.

    python -m tools.inspect report --name imdb --html report.html

In order: what was evaluated (pipeline, corpus, model version, where it was
pushed); the verdict, each bound with its value and whether a served baseline
was compared; the overall metrics; per class precision, recall and F1; for two
classes the metrics across decision thresholds and the ROC and precision-recall
curves; the slices (class names for the label slice) with per-class precision
and recall; how the model was trained (recipe, settings, epochs and loss curves,
vocabulary, split sizes); ingestion; and why (the tokens that moved the test
split's decisions, the most confident mistakes with their files). Figures are
PNGs embedded in the page (tools/report/figures.py).
"""

from __future__ import annotations

import html
import time

from pipeline.recorded import mlmd
from tools.evaluations import COUNT_METRICS, find_evaluation, fmt, shown_path, slices_table
from tools.report import data_checks, figures, sections
from tools.report import facts as review_facts
from tools.report import why as report_why

_E = html.escape


def verdict_lines(table: dict, facts: dict) -> list[dict]:
    """One line per bound of the gate: what it asks, the value, pass / FAIL / not applied."""
    overall = next(s for s in table["slices"] if s["slice"] == "overall")
    lines = []
    for bound in facts["bounds"]:
        metric = bound["metric"]
        values = overall["metrics"].get(metric, {}) if bound["slice"] == "overall" else {}
        # From the records (metric, kind, bound, value), as TFMA's validator compares them (metrics_validator:
        # value >= lower_bound, diff >= absolute change; NaN fails).
        measured = values.get("value") if bound["kind"] == "lower_bound" else values.get("diff")
        failed = measured is not None and not measured >= bound["bound"]
        if bound["kind"] == "lower_bound":
            lines.append(
                {
                    "text": f"test {metric} {fmt(values.get('value'))} must be at least {bound['bound']:g}",
                    "outcome": "FAIL" if failed else "pass",
                }
            )
        elif facts["served_baseline"]:
            how = {"recorded": "its figures recorded when it was blessed", "evaluated": "evaluated in this run"}.get(
                facts["baseline_figures"], ""
            )
            lines.append(
                {
                    "text": f"change in {metric} against the served model, version "
                    f"{facts['served_baseline']} ({how}): {fmt(values.get('diff'), True)}, "
                    f"must be at least {bound['bound']:+g}",
                    "outcome": "FAIL" if failed else "pass",
                }
            )
        else:
            lines.append(
                {
                    "text": f"change in {metric} against the served model, at least {bound['bound']:+g}: "
                    "no model was served when this one was evaluated, so there was no baseline "
                    "to compare with",
                    "outcome": "not applied",
                }
            )
    return lines


def html_report(store, pipeline_name: str | None = None, run_id: str | None = None, progress=None) -> str:
    """The reviewer's page; `progress(step)` is told each step (IMDB's takes about 40 s, most of it explaining
    the test split), and "" at the end."""
    from tools import explanations

    progress = progress or (lambda step: None)
    progress("report: reading the evaluation")
    table = slices_table(store, pipeline_name, run_id)
    rid, evaluator, evaluation, blessing = find_evaluation(store, pipeline_name, run_id)
    facts = review_facts.review_facts(store, evaluator, evaluation)
    examples = mlmd.input_artifacts(store, evaluator.id)["examples"][0]
    class_names = facts["ingestion"].get("class_names") or []
    min_accuracy = next((b["bound"] for b in facts["bounds"] if b["kind"] == "lower_bound"), None)
    progress("report: drawing the figures")
    images = figures.figures(table, class_names, min_accuracy, facts["history"])
    progress("report: explaining the model's answers on the test split")
    why = report_why.why_figures(store, evaluator, examples, class_names)
    own = explanations.per_slice_precision_recall(why["predictions"], why["labels"], why["slices"], class_names)

    overall = next(s for s in table["slices"] if s["slice"] == "overall")
    push = facts["push"] or {}
    version = push.get("version") if push.get("pushed") else None
    title = f"{facts['pipeline'] or 'pipeline'}: model {version or '(not pushed)'}"
    checks = "".join(
        f"<li class='{'fail' if v['outcome'] == 'FAIL' else ''}'><b>{_E(v['outcome'])}</b>: {_E(v['text'])}</li>"
        for v in verdict_lines(table, facts)
    )
    matrix = figures.confusion(table["evaluation_uri"], len(class_names))
    progress("")
    baseline_note = (
        f"compared with the served model, version {_E(facts['served_baseline'])}"
        if facts["served_baseline"]
        else "no baseline: nothing was served when this model was evaluated"
    )
    verdict_color = "#2a7" if table["blessed"] else "#c33"
    trained_in = (
        f"; trained in run <code>{_E(str(facts['training_run']))}</code>"
        + (" (this run reused it from the cache)" if facts["training_run"] != rid else "")
        + f", Trainer code {_E(str(facts['trainer_code_version'] or 'unrecorded'))}"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{_E(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1150px}} table{{border-collapse:collapse;margin:0.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}} td:first-child{{text-align:left}}
figure{{display:inline-block;margin:0.5em;vertical-align:top}} .verdict{{font-size:1.4em;font-weight:bold;
color:{verdict_color}}} .fail{{color:#c33}} .meta{{color:#555}}</style></head><body>
<h1>{_E(title)}</h1>
<p class="meta">Evaluated in run <code>{_E(rid)}</code> of <code>{_E(str(facts["pipeline"]))}</code>{trained_in};
report made {_E(time.strftime("%Y-%m-%d %H:%M:%S %Z"))}; corpus
<code>{_E(shown_path(facts["corpus"]))}</code>; classes {_E(", ".join(class_names))};
{overall["example_count"]:.0f} test examples; {baseline_note}.<br>Evaluation:
<code>{_E(shown_path(evaluation.uri))}</code></p>
<p class="verdict">{"BLESSED" if table["blessed"] else "NOT BLESSED"}</p>
<ul>{checks}</ul>
<h2>Overall (test split)</h2>
{sections.html_table(["metric", "candidate", "baseline", "diff", "bound"], overall_rows(overall, facts))}
{sections.unseen_html(table, class_names)}
{sections.per_class_html(matrix, class_names, images)}
{sections.thresholds_html(table, class_names, images)}
{sections.slices_html(table, class_names, own, images, min_accuracy)}
{sections.training_html(facts, images)}
{sections.ingestion_html(facts["ingestion"])}
{data_checks.drift_html(store, evaluator)}
{data_checks.audit_html(store, examples)}
{report_why.why_html(why, class_names)}
</body></html>
"""


def overall_rows(overall: dict, facts: dict) -> list[list[str]]:
    """The overall slice's metrics: candidate, baseline, diff, and each gated metric's bound and outcome."""
    bound_text = {b["metric"]: f"at least {b['bound']:g}" for b in facts["bounds"] if b["kind"] == "lower_bound"}
    return [
        [
            _E(m),
            fmt(v["value"], count=m in COUNT_METRICS),
            fmt(v.get("baseline"), count=m in COUNT_METRICS),
            fmt(v.get("diff"), True, count=m in COUNT_METRICS),
            _E(f"{bound_text.get(m, '')}: {v['threshold']}" if v.get("threshold") else ""),
        ]
        for m, v in sorted(overall["metrics"].items())
    ]
