"""What a pipeline run did, read back from ML Metadata: each component, ran or cached, seconds."""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

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
