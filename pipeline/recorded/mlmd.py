"""The ML Metadata queries every command shares: the store, a run's executions, an execution's inputs and
outputs, an artifact's producer and consumers, custom properties. No TensorFlow, TFX or TFMA here.
"""

from __future__ import annotations

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

STATES = {
    metadata_store_pb2.Execution.COMPLETE: "ran",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "failed",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
}


class StoreError(ValueError):
    """The file is not an ML Metadata store; the message names it."""


_SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_store(path: str, writable: bool = False) -> metadata_store.MetadataStore:
    """The store at `path`, read-only unless `writable` (retention marks artifacts); never created here.
    StoreError for a file that is not one (ML Metadata's own error is a RuntimeError from its C++ layer)."""
    try:
        with open(path, "rb") as f:
            header = f.read(len(_SQLITE_HEADER))
    except OSError as err:
        raise StoreError(f"{path}: cannot be read ({err.strerror or err})") from err
    if header != _SQLITE_HEADER:
        raise StoreError(f"{path}: not an ML Metadata store (not a SQLite database); pass a run's metadata.sqlite")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    modes = metadata_store_pb2.SqliteMetadataSourceConfig
    config.sqlite.connection_mode = modes.READWRITE if writable else modes.READONLY
    try:
        return metadata_store.MetadataStore(config)
    except RuntimeError as err:
        raise StoreError(f"{path}: not an ML Metadata store ({err}); pass a run's metadata.sqlite") from err


def latest_run_id(store: metadata_store.MetadataStore, pipeline_name: str) -> str | None:
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


def component_executions(store: metadata_store.MetadataStore, run_id: str) -> list[dict]:
    """One row per component of the run, in execution order."""
    run_ctx = store.get_context_by_type_and_name("pipeline_run", run_id)
    if run_ctx is None:
        return []
    rows = []
    for execution in sorted(store.get_executions_by_context(run_ctx.id), key=lambda e: e.id):
        node = node_name(store, execution)
        seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000.0
        rows.append(
            {
                "component": node,
                "state": STATES.get(execution.last_known_state, str(execution.last_known_state)),
                "seconds": round(seconds, 2),
                "execution_id": execution.id,
            }
        )
    return rows


def node_name(store: metadata_store.MetadataStore, execution) -> str:
    """The component id that ran the execution ('Trainer', 'BulkInferrer')."""
    nodes = [c for c in store.get_contexts_by_execution(execution.id) if c.type == "node"]
    return nodes[0].name.rsplit(".", 1)[-1] if nodes else execution.type


def output_artifacts(store: metadata_store.MetadataStore, execution_id: int) -> list[metadata_store_pb2.Artifact]:
    events = store.get_events_by_execution_ids([execution_id])
    ids = [
        e.artifact_id
        for e in events
        if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
    ]
    return store.get_artifacts_by_id(ids) if ids else []


def input_artifacts(store: metadata_store.MetadataStore, execution_id: int) -> dict[str, list]:
    """{input key: [artifacts]} of an execution."""
    out: dict[str, list] = {}
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
    ids = [
        e.execution_id
        for e in store.get_events_by_artifact_ids([artifact_id])
        if e.type in (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)
    ]
    return store.get_executions_by_id(ids) if ids else []


def custom_property(artifact_or_execution, key: str):
    """A custom property's value (int, double or string), None when absent."""
    props = artifact_or_execution.custom_properties
    if key not in props:
        return None
    value = props[key]
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None
