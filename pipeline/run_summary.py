"""What a pipeline run did, read back from ML Metadata: each component, ran or cached, seconds; the metrics,
the blessing and the push; and the queries the other commands share (inputs, producer, consumers).
"""
from __future__ import annotations

import json
import math
import os
import sys
from typing import Dict, List, Optional, Sequence

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline import component_ids as ids

_STATES = {
    metadata_store_pb2.Execution.COMPLETE: "ran",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "failed",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
}


def sqlite_store(path: str) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def latest_run_id(store: metadata_store.MetadataStore, pipeline_name: str) -> Optional[str]:
    """The newest `pipeline_run` context of `pipeline_name`."""
    pipeline_ctx = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline_ctx is None:
        return None
    runs = [c for c in store.get_children_contexts_by_context(pipeline_ctx.id) if c.type == "pipeline_run"]
    if not runs:  # older stores do not link runs to the pipeline context
        runs = [c for c in store.get_contexts_by_type("pipeline_run")]
    if not runs:
        return None
    return max(runs, key=lambda c: (c.create_time_since_epoch, c.id)).name


def component_executions(store: metadata_store.MetadataStore, run_id: str) -> List[Dict]:
    """One row per component of the run, in execution order."""
    run_ctx = store.get_context_by_type_and_name("pipeline_run", run_id)
    if run_ctx is None:
        return []
    rows = []
    for execution in sorted(store.get_executions_by_context(run_ctx.id), key=lambda e: e.id):
        node = node_name(store, execution)
        seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000.0
        rows.append({
            "component": node,
            "state": _STATES.get(execution.last_known_state, str(execution.last_known_state)),
            "seconds": round(seconds, 2),
            "execution_id": execution.id,
        })
    return rows


def node_name(store: metadata_store.MetadataStore, execution) -> str:
    """The component id that ran the execution ('Trainer', 'BulkInferrer')."""
    nodes = [c for c in store.get_contexts_by_execution(execution.id) if c.type == "node"]
    return nodes[0].name.rsplit(".", 1)[-1] if nodes else execution.type


def output_artifacts(store: metadata_store.MetadataStore, execution_id: int) -> List[metadata_store_pb2.Artifact]:
    events = store.get_events_by_execution_ids([execution_id])
    ids = [e.artifact_id for e in events if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
    return store.get_artifacts_by_id(ids) if ids else []


def input_artifacts(store: metadata_store.MetadataStore, execution_id: int) -> Dict[str, list]:
    """{input key: [artifacts]} of an execution."""
    out: Dict[str, list] = {}
    for event in store.get_events_by_execution_ids([execution_id]):
        if event.type in (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT):
            key = event.path.steps[0].key if event.path.steps else "?"
            out.setdefault(key, []).extend(store.get_artifacts_by_id([event.artifact_id]))
    return out


def producer(store: metadata_store.MetadataStore, artifact_id: int):
    """The execution that output the artifact, or None."""
    for event in store.get_events_by_artifact_ids([artifact_id]):
        if event.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT):
            return store.get_executions_by_id([event.execution_id])[0]
    return None


def consumers(store: metadata_store.MetadataStore, artifact_id: int) -> list:
    """The executions that took the artifact as an input."""
    ids = [e.execution_id for e in store.get_events_by_artifact_ids([artifact_id])
           if e.type in (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)]
    return store.get_executions_by_id(ids) if ids else []


def custom_property(artifact_or_execution, key: str):
    """A custom property's value (int, double or string), None when absent."""
    props = artifact_or_execution.custom_properties
    if key not in props:
        return None
    value = props[key]
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def format_table(rows: List[Dict]) -> str:
    width = max([len(r["component"]) for r in rows] + [9])
    lines = [f"{'component':<{width}}  {'state':<7} {'seconds':>8}"]
    for r in rows:
        lines.append(f"{r['component']:<{width}}  {r['state']:<7} {r['seconds']:>8.2f}")
    return "\n".join(lines)


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


def evaluation_metrics(eval_uri: str, class_names: Sequence[str] = ()) -> Dict[str, Dict[str, float]]:
    """{slice: {metric: value}} for every slice TFMA wrote (per-class metrics by class name, see metric_name)."""
    import tensorflow_model_analysis as tfma

    out: Dict[str, Dict[str, float]] = {}
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


def confusion_matrix(eval_uri: str, num_classes: int) -> Optional[List[List[float]]]:
    """The candidate's overall multi-class confusion matrix, rows = actual class, columns = predicted."""
    plot = overall_plot(eval_uri, "multi_class_confusion_matrix_at_thresholds")
    if plot is None:
        return None
    matrix = [[0.0] * num_classes for _ in range(num_classes)]
    for entry in plot.matrices[0].entries:
        if 0 <= entry.actual_class_id < num_classes and 0 <= entry.predicted_class_id < num_classes:
            matrix[entry.actual_class_id][entry.predicted_class_id] = entry.num_weighted_examples
    return matrix


def validation_failures(eval_uri: str, class_names: Sequence[str] = ()) -> List[str]:
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
                bound = (f"the no-regression limit: change vs. the served baseline "
                         f">= {threshold.change_threshold.absolute.value}")
            value = metric_value(failure.metric_value)
            shown = "NaN" if value is None else f"{value:.4f}"
            lines.append(f"{slice_name(per_slice.slice_key)}: {metric_name(failure.metric_key, class_names)} = {shown} fails {bound}")
    return lines


# ------------------------------------------------------------------ a run's summary

def build_summary(metadata_path: str, pipeline_name: str, wall: float, failure: Optional[str],
                  class_names: List[str]) -> Dict:
    """What run_local.py prints and writes with --summary: components, ingestion, evaluation, push."""
    store = sqlite_store(metadata_path)
    run_id = latest_run_id(store, pipeline_name)
    rows = component_executions(store, run_id) if run_id else []
    summary: Dict = {"pipeline": pipeline_name, "run_id": run_id, "wall_seconds": round(wall, 2),
                     "components": rows, "failure": failure}
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
    return summary


def evaluation_summary(store, execution_id: int, class_names: List[str]) -> Dict:
    from models.evaluation import accuracy_metric_name

    out: Dict = {}
    for artifact in output_artifacts(store, execution_id):
        if artifact.type == "ModelEvaluation":
            metrics = evaluation_metrics(artifact.uri, class_names)
            overall = metrics.get("overall", {})
            out.update({
                "uri": artifact.uri,
                "test_accuracy": overall.get(accuracy_metric_name(len(class_names))),
                "overall": overall,
                "slices": metrics,
                "failures": validation_failures(artifact.uri, class_names),
            })
            if len(class_names) > 2:
                out["confusion_matrix"] = {"classes": class_names,
                                           "rows_actual_columns_predicted":
                                               confusion_matrix(artifact.uri, len(class_names))}
        elif "blessed" in artifact.custom_properties:
            out["blessed"] = bool(artifact.custom_properties["blessed"].int_value)
    return out


def print_summary(summary: Dict) -> None:
    """The end of a run's output: the table of components, then what the run ingested, judged and pushed."""
    print()
    print(f"pipeline {summary['pipeline']}  run {summary['run_id']}  wall {summary['wall_seconds']:.1f} s")
    if summary["components"]:
        print(format_table(summary["components"]))
    ingestion = summary.get("ingestion")
    if ingestion:
        print(f"ingested {ingestion['documents']} documents, {ingestion['skipped']} files skipped, "
              f"{ingestion['decoded_with_fallback']} decoded with a fallback (report: {ingestion['report']})")
        for split, per_class in ingestion["splits"].items():
            print(f"  {split:<5} " + "  ".join(f"{c}={n}" for c, n in per_class.items()))
    evaluation = summary.get("evaluation")
    if evaluation:
        overall = evaluation.get("overall", {})
        shown = ", ".join(f"{k}={v:.0f}" if k == "example_count" else f"{k}={v:.4f}"
                          for k, v in sorted(overall.items()) if "(" not in k and v is not None)
        print(f"test metrics: {shown}")
        compared = {k: v for k, v in overall.items() if k.endswith("(baseline)") or k.endswith("(diff)")}
        if compared:
            print("against the baseline: " + ", ".join(f"{k}={v:+.4f}" if k.endswith("(diff)") else f"{k}={v:.4f}"
                                                        for k, v in sorted(compared.items()) if v is not None))
        if evaluation.get("confusion_matrix"):
            cm = evaluation["confusion_matrix"]
            print("confusion matrix (rows: actual, columns: predicted) " + " ".join(cm["classes"]))
            for name, row in zip(cm["classes"], cm["rows_actual_columns_predicted"] or []):
                print(f"  {name:>12} " + " ".join(f"{int(v):6d}" for v in row))
        print(f"blessed: {'yes' if evaluation.get('blessed') else 'no'}")
        for line in evaluation.get("failures", []):
            print(f"  not blessed because {line}")
    push = summary.get("push")
    if push:
        print(f"pushed: {push['path']}" if push["pushed"] else "pushed: no (serving keeps its current model)")
    if summary["failure"]:
        print(f"\nFAILED: {summary['failure']}", file=sys.stderr)
