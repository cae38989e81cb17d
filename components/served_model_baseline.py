"""ServedModelBaseline: the model a candidate must not be worse than is the one being served.

The Evaluator's no-regression gate compares the candidate with a baseline.
That baseline is the newest version in the serving destination
(`<serving dir>/<version>/`, TF Serving's layout, local or an object-store URI)
whose content differs from the candidate's: a candidate that is already served
(an unchanged re-run) is compared with the version before it. With nothing
served yet the output holds no model, and the Evaluator skips the change
threshold (see `components/evaluator/component.py`).

It replaces a Resolver node (TFX's LatestBlessedModelStrategy), which the
Kubeflow Pipelines open-source backend refuses to compile, so that the local
runner and Kubeflow gate the same way.

Caching: the choice depends on the serving destination, which no cache key
sees by itself.
  * Local runner: `ServedStateDriver` runs before TFX's cache lookup and puts
    the chosen version (path and content digest) into the `served_state`
    parameter: a new push changes the key, an unchanged destination is a cache
    hit (so an unchanged re-run stays all cached).
  * Kubeflow: no driver runs; the compiled spec turns caching off for this task
    (kubeflow_runner/compiler.py), and the executor chooses at run time.
"""

from __future__ import annotations

import hashlib
import logging
import os

from tfx import types
from tfx.dsl.components.base import base_component, base_driver, executor_spec
from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.dsl.io import fileio
from tfx.proto.orchestration import driver_output_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter
from tfx.utils import io_utils, path_utils

SERVED_VERSION_PROPERTY = "served_version"  # custom property of the output: the version copied, or ""
NOTHING_SERVED = "none"


def served_versions(serving_dir: str) -> list[str]:
    """Paths of the published versions (folders named by an integer), oldest first."""
    if not fileio.isdir(serving_dir):
        return []
    names = [n.rstrip("/") for n in fileio.listdir(serving_dir)]
    return [os.path.join(serving_dir, n) for n in sorted((n for n in names if n.isdigit()), key=int)]


def folder_digest(folder: str) -> str:
    """sha256 over every file under `folder` (relative path and bytes), independent of listing order."""
    digest = hashlib.sha256()
    files = []
    for root, _, names in fileio.walk(folder):
        files += [os.path.join(root, n) for n in names]
    for path in sorted(files):
        digest.update(os.path.relpath(path, folder).encode() + b"\0")
        with fileio.open(path, "rb") as f:
            digest.update(f.read())
        digest.update(b"\0")
    return digest.hexdigest()


def _choose(serving_dir: str, candidate_model_dir: str) -> tuple[str, str] | None:
    """(path, sha256) of the newest served version whose content is not the candidate's, or None."""
    versions = served_versions(serving_dir)
    if not versions:
        return None
    candidate = folder_digest(candidate_model_dir)
    for version in reversed(versions):
        digest = folder_digest(version)
        if digest != candidate:
            return version, digest
    return None


def choose_baseline(serving_dir: str, candidate_model_dir: str) -> str | None:
    """The newest served version whose content is not the candidate's, or None."""
    chosen = _choose(serving_dir, candidate_model_dir)
    return chosen[0] if chosen else None


_STATE_SEPARATOR = " sha256:"


def state_of(path: str, digest: str) -> str:
    """A served path and its content's digest as one string: what a served-state driver adds to the cache key
    (this one's, and DriftCheck's)."""
    return f"{path}{_STATE_SEPARATOR}{digest}"


def path_of_state(state: str) -> str | None:
    """The path a `state_of` string names (None for NOTHING_SERVED)."""
    return None if state == NOTHING_SERVED else state.rsplit(_STATE_SEPARATOR, 1)[0]


def served_state(serving_dir: str, candidate_model_dir: str) -> str:
    """What the choice depends on, as one string: the cache key part the driver adds."""
    chosen = _choose(serving_dir, candidate_model_dir)
    return state_of(*chosen) if chosen else NOTHING_SERVED


def has_model(baseline: types.Artifact) -> bool:
    return fileio.exists(path_utils.serving_model_path(baseline.uri))


class ServedModelBaselineSpec(ComponentSpec):
    PARAMETERS = {
        "serving_dir": ExecutionParameter(type=str),
        # Filled by ServedStateDriver on the local runner; "" where no driver runs.
        "served_state": ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {"model": ChannelParameter(type=standard_artifacts.Model)}
    OUTPUTS = {"baseline_model": ChannelParameter(type=standard_artifacts.Model)}


class Executor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        candidate = artifact_utils.get_single_instance(input_dict["model"])
        baseline = artifact_utils.get_single_instance(output_dict["baseline_model"])
        state = exec_properties.get("served_state")
        # The driver's choice where it ran (local runner): the copy is then the
        # version the cache key names; on Kubeflow no driver runs, so choose here.
        chosen = (
            path_of_state(state)
            if state
            else choose_baseline(exec_properties["serving_dir"], path_utils.serving_model_path(candidate.uri))
        )
        if chosen:
            # A copy, not a reference: the served version may be removed later,
            # and the Evaluator reads a Model artifact's Format-Serving folder.
            io_utils.copy_dir(chosen, path_utils.serving_model_dir(baseline.uri))
            logging.info("ServedModelBaseline: baseline is the served version %s", chosen)
        else:
            logging.info("ServedModelBaseline: no other model is served; the change threshold is skipped")
        baseline.set_string_custom_property(SERVED_VERSION_PROPERTY, chosen or "")


class ServedStateDriver(base_driver.BaseDriver):
    """Local runner only: puts the served state into the cache key (see the module docstring)."""

    def run(self, execution_info) -> driver_output_pb2.DriverOutput:
        candidate = artifact_utils.get_single_instance(execution_info.input_dict["model"])
        state = served_state(
            execution_info.exec_properties["serving_dir"], path_utils.serving_model_path(candidate.uri)
        )
        output = driver_output_pb2.DriverOutput()
        output.exec_properties["served_state"].string_value = state
        return output


class ServedModelBaseline(base_component.BaseComponent):
    SPEC_CLASS = ServedModelBaselineSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
    DRIVER_CLASS = ServedStateDriver

    def __init__(self, model: types.BaseChannel, serving_dir: str):
        super().__init__(
            spec=ServedModelBaselineSpec(
                model=model,
                serving_dir=serving_dir,
                served_state="",
                baseline_model=types.Channel(type=standard_artifacts.Model),
            )
        )
