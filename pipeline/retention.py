"""Retention: what a pipeline scheduled for a year removes, so that its pipeline root and serving folder stay bounded.

One cold run writes about 420 MB on IMDB (examples, the Trainer's model, the
Pusher's copy, the served version); nothing removed any of it (issue 30). The
policy, applied at the end of each run under the run lock and on request
(`python -m tools.retire`):

- the newest `keep_versions` versions in the serving folder are kept, the older
  ones removed (the newest, the one being served, always stays);
- the artifacts of the newest `keep_runs` training runs are kept, and those of
  every run that pushed a kept version (its model, examples and Transform graph:
  what `lineage`, `infer` and the report read for a served version);
- of the other runs, the bulky artifacts (RETIRED_TYPES: examples, Transform
  graphs, models and their copies) are removed. Their ML Metadata records stay,
  marked DELETED (TFX's artifact state; TFX's cache never reuses an artifact that
  is not LIVE, so a retired output is computed again if it is needed), with the
  custom property `retired_at`. The small ones stay for the history that
  `inspect runs` shows: statistics, schemas, anomalies, evaluations, blessings.

An artifact shared by a kept run (a cached execution's outputs belong to the
run that computed them and to every run that reused them) is kept. Removal is
two-phase: an artifact is marked MARKED_FOR_DELETION before its files go, then
DELETED, so an interrupted retention is finished by the next one. Paths go
through TFX's file I/O: local folders, `s3://` and `gs://` alike.
"""

from __future__ import annotations

import dataclasses
import time

from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.io import fileio

from components.retention_policy import RetentionPolicy
from components.served_model_baseline import served_versions
from pipeline.recorded import mlmd

RETIRED_TYPES = ("Examples", "TransformGraph", "TransformCache", "Model", "ModelRun", "PushedModel")
LIVE, MARKED, DELETED = (
    metadata_store_pb2.Artifact.LIVE,
    metadata_store_pb2.Artifact.MARKED_FOR_DELETION,
    metadata_store_pb2.Artifact.DELETED,
)


@dataclasses.dataclass(frozen=True)
class Plan:
    kept_runs: list[str]
    retired_runs: list[str]
    artifacts: list[metadata_store_pb2.Artifact]  # to remove, with their files
    versions: list[str]  # serving-folder versions to remove

    def to_json(self) -> dict:
        return {
            "kept_runs": self.kept_runs,
            "retired_runs": self.retired_runs,
            "retired_artifacts": [a.uri for a in self.artifacts],
            "removed_versions": self.versions,
        }


def describe(retired: dict, dry_run: bool = False) -> str:
    """One line for the summary: what this run's retention removed (or, in a dry run, would remove)."""
    removed = "would remove" if dry_run else "removed"
    return (
        f"retention: {len(retired['kept_runs'])} runs kept; {removed} {len(retired['retired_artifacts'])} artifacts of "
        f"older runs and {len(retired['removed_versions'])} served versions"
    )


def writable_store(path: str):
    return mlmd.sqlite_store(path, writable=True)


def _runs(store, pipeline_name: str) -> list[metadata_store_pb2.Context]:
    """The pipeline's runs, oldest first."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    runs = [c for c in store.get_children_contexts_by_context(pipeline.id) if c.type == "pipeline_run"]
    return sorted(runs, key=lambda c: (c.create_time_since_epoch, c.id))


def _artifact_ids(store, run: metadata_store_pb2.Context) -> set[int]:
    """Every artifact a run's executions read or wrote (a cached execution's outputs included)."""
    executions = [e.id for e in store.get_executions_by_context(run.id)]
    return {e.artifact_id for e in store.get_events_by_execution_ids(executions)} if executions else set()


def _pushed_versions(store, artifact_ids: set[int]) -> set[str]:
    pushed = set()
    for artifact in store.get_artifacts_by_id(list(artifact_ids)):
        version = artifact.custom_properties.get("pushed_version")
        if artifact.type == "PushedModel" and version is not None and version.string_value:
            pushed.add(version.string_value)
    return pushed


def plan(store, pipeline_name: str, serving_dir: str, policy: RetentionPolicy) -> Plan:
    """What `policy` removes now; nothing of the newest run, a kept run or a kept served version."""
    versions = [path.rstrip("/").rsplit("/", 1)[-1] for path in served_versions(serving_dir)]  # oldest first
    runs = _runs(store, pipeline_name)
    used = {run.name: _artifact_ids(store, run) for run in runs}
    pushed = {run.name: _pushed_versions(store, used[run.name]) for run in runs}
    kept = policy.kept_runs([run.name for run in runs], pushed, versions)
    kept_versions = set(policy.kept_versions(versions))
    keep_ids = set().union(*(used[name] for name in kept)) if kept else set()
    retire_ids = set().union(*(ids for name, ids in used.items() if name not in kept)) - keep_ids
    artifacts = [
        a
        for a in store.get_artifacts_by_id(sorted(retire_ids))
        if a.type in RETIRED_TYPES and a.state in (LIVE, MARKED)
    ]
    return Plan(
        kept_runs=[r.name for r in runs if r.name in kept],
        retired_runs=[r.name for r in runs if r.name not in kept],
        artifacts=artifacts,
        versions=[v for v in versions if v not in kept_versions],
    )


def _mark(store, artifacts, state) -> None:
    now = int(time.time())
    for artifact in artifacts:
        artifact.state = state
        if state == DELETED:
            artifact.custom_properties["retired_at"].int_value = now
    if artifacts:
        store.put_artifacts(artifacts)


def apply(store, serving_dir: str, retirement: Plan) -> None:
    """Removes what `retirement` lists: the versions' folders, then each artifact's files, marked in ML Metadata."""
    for version in retirement.versions:
        fileio.rmtree(f"{serving_dir.rstrip('/')}/{version}")
    _mark(store, retirement.artifacts, MARKED)
    for artifact in retirement.artifacts:
        if artifact.uri and fileio.exists(artifact.uri):
            fileio.rmtree(artifact.uri) if fileio.isdir(artifact.uri) else fileio.remove(artifact.uri)
    _mark(store, retirement.artifacts, DELETED)


def retire(metadata_path: str, pipeline_name: str, serving_dir: str, policy: RetentionPolicy) -> Plan:
    """plan + apply on the SQLite store at `metadata_path`; the caller holds the run lock."""
    store = writable_store(metadata_path)
    retirement = plan(store, pipeline_name, serving_dir, policy)
    apply(store, serving_dir, retirement)
    return retirement
