"""What a pipeline run did, read back from ML Metadata: each component, ran or cached, seconds; the metrics,
the blessing and the push; printed at the end of `run_local.py` and written with `--summary`.
"""

from __future__ import annotations

import json
import os
import sys

from pipeline import component_ids as ids
from pipeline.recorded.mlmd import component_executions, custom_property, latest_run_id, output_artifacts, sqlite_store
from pipeline.recorded.tfma_results import (
    confusion_matrix,
    evaluation_metrics,
    unseen_accuracy,
    unseen_line,
    validation_failures,
)


def format_table(rows: list[dict]) -> str:
    width = max([len(r["component"]) for r in rows] + [9])
    lines = [f"{'component':<{width}}  {'state':<7} {'seconds':>8}"]
    for r in rows:
        lines.append(f"{r['component']:<{width}}  {r['state']:<7} {r['seconds']:>8.2f}")
    return "\n".join(lines)


# ------------------------------------------------------------------ a run's summary


def build_summary(
    metadata_path: str, pipeline_name: str, wall: float, failure: str | None, class_names: list[str]
) -> dict:
    """What run_local.py prints and writes with --summary: components, ingestion, evaluation, push."""
    store = sqlite_store(metadata_path)
    run_id = latest_run_id(store, pipeline_name)
    rows = component_executions(store, run_id) if run_id else []
    summary: dict = {
        "pipeline": pipeline_name,
        "run_id": run_id,
        "wall_seconds": round(wall, 2),
        "components": rows,
        "failure": failure,
    }
    done = {r["component"]: r for r in rows if r["state"] in ("ran", "cached")}
    if ids.EVALUATOR in done:
        summary["evaluation"] = evaluation_summary(store, done[ids.EVALUATOR]["execution_id"], class_names)
    for pusher in (p for p in ids.PUSHERS if p in done):
        for artifact in output_artifacts(store, done[pusher]["execution_id"]):
            props = artifact.custom_properties
            summary["push"] = {
                "pushed": bool(props["pushed"].int_value) if "pushed" in props else False,
                "path": props["pushed_destination"].string_value if "pushed_destination" in props else None,
            }
    from models.features import REPORT_FILE

    if ids.DRIFT_CHECK in done:
        from components.drift_check import DRIFT_FILE

        for artifact in output_artifacts(store, done[ids.DRIFT_CHECK]["execution_id"]):
            path = os.path.join(artifact.uri, DRIFT_FILE)
            if os.path.isfile(path):
                with open(path) as f:
                    summary["drift"] = {**json.load(f), "file": path}
    if ids.TRANSFORM in done:
        summary["tokenization"] = transform_tokenization(store, done[ids.TRANSFORM]["execution_id"])
    for row in rows:
        if row["component"] == ids.EXAMPLE_GEN and row["state"] in ("ran", "cached"):
            for artifact in output_artifacts(store, row["execution_id"]):
                report = os.path.join(artifact.uri, REPORT_FILE)
                if os.path.isfile(report):
                    with open(report) as f:
                        data = json.load(f)
                    summary["ingestion"] = {
                        "examples_uri": artifact.uri,
                        "class_names": data["class_names"],
                        "documents": data["documents"],
                        "splits": data["splits"],
                        "skipped": len(data["skipped"]),
                        "decoded_with_fallback": len(data["decoded_with_fallback"]),
                        "report": report,
                    }
                    if "duplicates" in data:  # the counts; every group with its files is in the report
                        summary["ingestion"]["duplicates"] = {
                            k: v for k, v in data["duplicates"].items() if not isinstance(v, list) and k != "method"
                        }
                        summary["ingestion"]["duplicates"]["template_groups"] = len(
                            data["duplicates"].get("template_groups", [])
                        )
    return summary


def transform_tokenization(store, execution_id: int) -> dict | None:
    """The tokenizer Transform used (models/preprocessing.chosen_tokenization), or None without its graph."""
    from models.preprocessing import chosen_tokenization
    from models.recipe import TransformConfig

    execution = store.get_executions_by_id([execution_id])[0]
    config = json.loads(custom_property(execution, "custom_config") or "{}")
    for artifact in output_artifacts(store, execution_id):
        if artifact.type == "TransformGraph":
            return chosen_tokenization(artifact.uri, config.get("tokenizer", TransformConfig.tokenizer))
    return None


def evaluation_summary(store, execution_id: int, class_names: list[str]) -> dict:
    from models.evaluation import accuracy_metric_name

    out: dict = {}
    for artifact in output_artifacts(store, execution_id):
        if artifact.type == "ModelEvaluation":
            metrics = evaluation_metrics(artifact.uri, class_names)
            overall = metrics.get("overall", {})
            out.update(
                {
                    "uri": artifact.uri,
                    "test_accuracy": overall.get(accuracy_metric_name(len(class_names))),
                    "overall": overall,
                    "slices": metrics,
                    "failures": validation_failures(artifact.uri, class_names),
                    "unseen": unseen_accuracy(metrics, accuracy_metric_name(len(class_names))),
                }
            )
            if len(class_names) > 2:
                out["confusion_matrix"] = {
                    "classes": class_names,
                    "rows_actual_columns_predicted": confusion_matrix(artifact.uri, len(class_names)),
                }
        elif "blessed" in artifact.custom_properties:
            out["blessed"] = bool(artifact.custom_properties["blessed"].int_value)
    return out


def print_summary(summary: dict) -> None:
    """The end of a run's output: the table of components, then what the run ingested, judged and pushed."""
    print()
    print(f"pipeline {summary['pipeline']}  run {summary['run_id']}  wall {summary['wall_seconds']:.1f} s")
    if summary["components"]:
        print(format_table(summary["components"]))
    ingestion = summary.get("ingestion")
    if ingestion:
        print(
            f"ingested {ingestion['documents']} documents, {ingestion['skipped']} files skipped, "
            f"{ingestion['decoded_with_fallback']} decoded with a fallback (report: {ingestion['report']})"
        )
        for split, per_class in ingestion["splits"].items():
            print(f"  {split:<5} " + "  ".join(f"{c}={n}" for c, n in per_class.items()))
        if "duplicates" in ingestion:
            from components.example_gen.duplicates import summary_line

            print(summary_line(ingestion["duplicates"]))
    if summary.get("drift"):
        from components.drift_check import summary_line as drift_line

        print(drift_line(summary["drift"]))
    if summary.get("tokenization"):
        from models.preprocessing import tokenization_line

        print(tokenization_line(summary["tokenization"]))
    evaluation = summary.get("evaluation")
    if evaluation:
        overall = evaluation.get("overall", {})
        shown = ", ".join(
            f"{k}={v:.0f}" if k == "example_count" else f"{k}={v:.4f}"
            for k, v in sorted(overall.items())
            if "(" not in k and v is not None
        )
        print(f"test metrics: {shown}")
        if evaluation.get("unseen"):
            print(unseen_line(evaluation["unseen"], evaluation.get("test_accuracy")))
        compared = {k: v for k, v in overall.items() if k.endswith("(baseline)") or k.endswith("(diff)")}
        if compared:
            print(
                "against the baseline: "
                + ", ".join(
                    f"{k}={v:+.4f}" if k.endswith("(diff)") else f"{k}={v:.4f}"
                    for k, v in sorted(compared.items())
                    if v is not None
                )
            )
        if evaluation.get("confusion_matrix"):
            cm = evaluation["confusion_matrix"]
            print("confusion matrix (rows: actual, columns: predicted) " + " ".join(cm["classes"]))
            for name, row in zip(cm["classes"], cm["rows_actual_columns_predicted"] or [], strict=False):
                print(f"  {name:>12} " + " ".join(f"{int(v):6d}" for v in row))
        print(f"blessed: {'yes' if evaluation.get('blessed') else 'no'}")
        for line in evaluation.get("failures", []):
            print(f"  not blessed because {line}")
    retired = summary.get("retention")
    if retired and "error" in retired:
        print(f"warning: retention did not finish (the next run retries): {retired['error']}", file=sys.stderr)
    elif retired and (retired["retired_artifacts"] or retired["removed_versions"]):  # quiet when nothing went
        from pipeline.retention import describe

        print(describe(retired))
    push = summary.get("push")
    if push:
        print(f"pushed: {push['path']}" if push["pushed"] else "pushed: no (serving keeps its current model)")
    if summary["failure"]:
        print(f"\nFAILED: {summary['failure']}", file=sys.stderr)
