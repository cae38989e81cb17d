"""What a pipeline run did, read back from ML Metadata: each component, ran or cached, seconds."""
from __future__ import annotations

from typing import Dict, List, Optional

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
        nodes = [c for c in store.get_contexts_by_execution(execution.id) if c.type == "node"]
        node = nodes[0].name.split(".", 1)[-1] if nodes else execution.type
        seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000.0
        rows.append({
            "component": node,
            "state": _STATES.get(execution.last_known_state, str(execution.last_known_state)),
            "seconds": round(seconds, 2),
            "execution_id": execution.id,
        })
    return rows


def output_artifacts(store: metadata_store.MetadataStore, execution_id: int) -> List[metadata_store_pb2.Artifact]:
    events = store.get_events_by_execution_ids([execution_id])
    ids = [e.artifact_id for e in events if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
    return store.get_artifacts_by_id(ids) if ids else []


def format_table(rows: List[Dict]) -> str:
    width = max([len(r["component"]) for r in rows] + [9])
    lines = [f"{'component':<{width}}  {'state':<7} {'seconds':>8}"]
    for r in rows:
        lines.append(f"{r['component']:<{width}}  {r['state']:<7} {r['seconds']:>8.2f}")
    return "\n".join(lines)
