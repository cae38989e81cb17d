"""RunRetention: the Kubeflow pipeline's last step, which applies the retention policy to its bucket.

A local run applies the policy after it ends, over its ML Metadata (pipeline/retention.py). A Kubeflow cluster
keeps its ML Metadata behind its own service, so this step works from what it can read: the bucket. Each run's
step leaves a small run record (`record.json`: the run, when it ended, the version it pushed, and the URIs of
its bulky artifacts: examples, Transform graph, model and its logs, the pushed copy) in its output, at
`<pipeline root>/<pipeline>/<run id>/RunRetention/<uuid>/record/`, where KFP provisions every output. Then it
reads every run's record and applies the policy (components/retention_policy.py):

- the newest `keep_versions` versions in the serving destination stay, older ones are removed;
- the newest `keep_runs` recorded runs stay, and each run that pushed a kept version;
- of the other runs, the bulky artifacts are removed, unless a kept run uses them too; their records stay,
  marked `retired_at` (the record is the Kubeflow counterpart of ML Metadata's DELETED state). Statistics,
  schemas, anomalies and evaluations stay.

What is never touched: a run with no record (one still running, or one that failed before this step), the
current run, anything outside `<pipeline root>/<pipeline>/`. Why KFP's cache cannot hand out a removed
artifact: every bulky artifact descends from ExampleGen's examples, and ExampleGen's task is never cached
(kubeflow_runner/compiler.py), so a later run never has a cache key that matches a retired run's step.
A removal that fails (the bucket refuses) is logged and written into the record; the run does not fail for
it, and the next run retries, as the local retention does.
"""

from __future__ import annotations

import json
import logging
import os
import time

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter
from tfx.types.experimental import simple_artifacts

from components.retention_policy import RetentionPolicy
from components.served_model_baseline import served_versions
from models.recipe import settings_from_json, settings_json

RECORD_FILE = "record.json"
BULKY_INPUTS = ("examples", "transform_graph", "model", "model_run", "pushed_model")


# The record is a plain File artifact: KFP v2's executor rebuilds a custom artifact class from its type's name,
# which must then be an importable `module.Class` of one dot (TFX's kubeflow_v2_entrypoint_utils); TFX's own
# File type is on KFP's list of first-party types and needs no such import.
RunRecord = simple_artifacts.File


class RunRetentionSpec(ComponentSpec):
    PARAMETERS = {
        "runs_folder": ExecutionParameter(type=str),  # <pipeline root>/<pipeline name>: KFP's run folders
        "serving_dir": ExecutionParameter(type=str),
        "custom_config": ExecutionParameter(type=str),  # RetentionPolicy's fields as JSON
    }
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph),
        "model": ChannelParameter(type=standard_artifacts.Model),
        "model_run": ChannelParameter(type=standard_artifacts.ModelRun),
        "pushed_model": ChannelParameter(type=standard_artifacts.PushedModel),
    }
    OUTPUTS = {"record": ChannelParameter(type=RunRecord)}


def run_of(uri: str, runs_folder: str) -> tuple[str, str]:
    """(run id, the path under the run's folder) of an output URI under `runs_folder`; ValueError if not."""
    prefix = runs_folder.rstrip("/") + "/"
    if not uri.startswith(prefix) or "/" not in uri[len(prefix) :]:
        raise ValueError(
            f"RunRetention: its output {uri} is not under {prefix}<run id>/: this step expects KFP's layout "
            f"(<pipeline root>/<pipeline>/<run id>/<task>/...); nothing was removed"
        )
    run_id, inside = uri[len(prefix) :].split("/", 1)
    return run_id, inside


def read_records(runs_folder: str, inside: str) -> dict[str, dict]:
    """Every run's record, by run id: `inside` is this run's record folder under its run folder
    (`<task>/<uuid>/<key>`), the uuid differing from run to run."""
    task, _, key = inside.split("/", 2)
    records = {}
    for name in fileio.listdir(runs_folder) if fileio.isdir(runs_folder) else []:
        task_folder = os.path.join(runs_folder, name.rstrip("/"), task)
        if not fileio.isdir(task_folder):
            continue  # no record: running, or failed before this step
        for uuid in fileio.listdir(task_folder):
            path = os.path.join(task_folder, uuid.rstrip("/"), key, RECORD_FILE)
            if fileio.exists(path):
                with fileio.open(path) as f:
                    records[name.rstrip("/")] = {**json.load(f), "path": path}
    return records


def plan(records: dict[str, dict], versions: list[str], policy: RetentionPolicy) -> dict:
    """What `policy` removes: the runs to retire, their artifacts that no kept run uses, and the old versions."""
    order = sorted(records, key=lambda run: (records[run]["finished_at"], run))
    pushed = {run: {records[run]["pushed_version"]} - {None} for run in order}
    kept = policy.kept_runs(order, pushed, versions)
    used = {uri for run in kept for uri in records[run]["artifacts"]}
    retired = [run for run in order if run not in kept and "retired_at" not in records[run]]
    kept_versions = set(policy.kept_versions(versions))
    return {
        "kept_runs": [run for run in order if run in kept],
        "retired_runs": retired,
        "retired_artifacts": sorted({uri for run in retired for uri in records[run]["artifacts"]} - used),
        "removed_versions": [v for v in versions if v not in kept_versions],
    }


def apply(records: dict[str, dict], serving_dir: str, retirement: dict) -> None:
    for version in retirement["removed_versions"]:
        fileio.rmtree(f"{serving_dir.rstrip('/')}/{version}")
    for uri in retirement["retired_artifacts"]:
        if fileio.exists(uri):
            fileio.rmtree(uri) if fileio.isdir(uri) else fileio.remove(uri)
    now = int(time.time())
    for run in retirement["retired_runs"]:  # marked once its artifacts are gone: an interruption is retried
        record = {k: v for k, v in records[run].items() if k != "path"}
        _write(records[run]["path"], {**record, "retired_at": now})


def _write(path: str, record: dict) -> None:
    fileio.makedirs(os.path.dirname(path))
    with fileio.open(path, "w") as f:
        f.write(json.dumps(record, indent=2, sort_keys=True))


class Executor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        policy = settings_from_json(RetentionPolicy, exec_properties["custom_config"])
        runs_folder, serving_dir = exec_properties["runs_folder"], exec_properties["serving_dir"]
        output = artifact_utils.get_single_instance(output_dict["record"])
        run_id, inside = run_of(output.uri, runs_folder)
        pushed = artifact_utils.get_single_instance(input_dict["pushed_model"])
        version = pushed.get_string_custom_property("pushed_version") if pushed.has_custom_property("pushed") else ""
        record = {
            "run_id": run_id,
            "finished_at": time.time(),
            "pushed_version": version if version and pushed.get_int_custom_property("pushed") else None,
            "artifacts": sorted(artifact_utils.get_single_uri(input_dict[key]) for key in BULKY_INPUTS),
        }
        path = os.path.join(output.uri, RECORD_FILE)
        _write(path, record)
        try:
            records = read_records(runs_folder, inside)
            versions = [p.rstrip("/").rsplit("/", 1)[-1] for p in served_versions(serving_dir)]
            retirement = plan(records, versions, policy)
            apply(records, serving_dir, retirement)
        except Exception as err:  # noqa: BLE001 - the model is pushed; the next run retries (module docstring)
            logging.warning("RunRetention did not finish (the next run retries): %s: %s", type(err).__name__, err)
            retirement = {"error": f"{type(err).__name__}: {err}"}
        _write(path, {**record, "retention": retirement})
        logging.info("RunRetention: %s", json.dumps(retirement))


class RunRetention(base_component.BaseComponent):
    SPEC_CLASS = RunRetentionSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(
        self,
        examples: types.BaseChannel,
        transform_graph: types.BaseChannel,
        model: types.BaseChannel,
        model_run: types.BaseChannel,
        pushed_model: types.BaseChannel,
        runs_folder: str,
        serving_dir: str,
        settings: RetentionPolicy,
    ):
        super().__init__(
            spec=RunRetentionSpec(
                examples=examples,
                transform_graph=transform_graph,
                model=model,
                model_run=model_run,
                pushed_model=pushed_model,
                runs_folder=runs_folder,
                serving_dir=serving_dir,
                custom_config=settings_json(settings),
                record=types.Channel(type=RunRecord),
            )
        )
