"""DriftCheck: the new training split against the one the served model was trained on, before Transform.

A scheduled run trains on a corpus that changes. The served model is the
newest version in the serving destination, found as ServedModelBaseline finds
it (`served_versions`, local or an object store), and it carries its training
split's profile (`assets.extra/training_profile/`, written by the Trainer:
models/corpus_profile.py). No ML Metadata query, so Kubeflow finds it too.

Output (an ExampleAnomalies artifact, TFDV's kind for drift): `drift.json`
(every measure, the served version, the limits and which were exceeded) and
this corpus's own profile under `training_profile/`. Its settings are the runners' DriftConfig, handed over
unchanged as its custom config (by the fields' own names). With `max_drift` limits
set (`--max-drift token_js=0.1,...`; none by default: report only), a measure
over its limit fails the component, and Transform, which waits for it, never
starts. Nothing served, or a served model without a profile (exported before
profiles existed): nothing to compare, reported as such, never a failure.

Caching: on the local runner `ServedProfileDriver` puts the served version and
its profile's digest into the cache key, as ServedStateDriver does for the
baseline; on Kubeflow the task's cache is off (kubeflow_runner/compiler.py).
"""

from __future__ import annotations

import json
import logging
import os

from tfx import types
from tfx.dsl.components.base import base_component, base_driver, executor_spec
from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.dsl.io import fileio
from tfx.proto.orchestration import driver_output_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.served_model_baseline import NOTHING_SERVED, folder_digest, path_of_state, served_versions, state_of
from models import corpus_profile
from models.features import CLASS_NAMES_FILE
from models.recipe import settings_from_json, settings_json

DRIFT_FILE = "drift.json"


VOCABULARY_ASSET = os.path.join("assets", "tokens")  # the Transform graph's vocabulary inside a SavedModel


class DriftError(ValueError):
    """A drift measure is over its --max-drift limit; the message names each with its value and limit."""


def served_profile_dir(serving_dir: str) -> str | None:
    versions = served_versions(serving_dir)
    return os.path.join(versions[-1], "assets.extra", corpus_profile.PROFILE_DIR) if versions else None


def served_state(serving_dir: str) -> str:
    """The newest served version's profile folder and digest: what the measures depend on besides the corpus."""
    folder = served_profile_dir(serving_dir)
    if folder is None:
        return NOTHING_SERVED
    return state_of(folder, folder_digest(folder) if fileio.isdir(folder) else "none")


def measure(examples_uri: str, serving_dir: str, limits: dict[str, float], state: str = "") -> tuple[dict, tuple]:
    """(drift.json's content, this corpus's profile) for the train split of the Examples at `examples_uri`.

    `state`: the driver's served_state where it ran (local runner), so the measure uses the version the cache
    key names; "" (Kubeflow): the newest version now.
    """
    with fileio.open(os.path.join(examples_uri, CLASS_NAMES_FILE)) as f:
        class_names = json.load(f)
    current = corpus_profile.profile_examples([os.path.join(examples_uri, "Split-train", "*")], class_names)
    if state:
        folder = path_of_state(state)
    else:
        folder = served_profile_dir(serving_dir)
    reference = corpus_profile.read(folder) if folder else None
    result: dict = {"served_version": os.path.dirname(os.path.dirname(folder)) if folder else None, "limits": limits}
    if reference is None:
        result["measures"] = None
        result["reason"] = "nothing is served yet" if folder is None else "the served model carries no training profile"
        result["exceeded"] = []
        return result, current
    with fileio.open(os.path.join(os.path.dirname(os.path.dirname(folder)), VOCABULARY_ASSET)) as f:
        vocabulary = [line.rstrip("\n") for line in f]
    result["measures"] = corpus_profile.drift(reference, current, vocabulary)
    result["exceeded"] = corpus_profile.exceeded(result["measures"], limits)
    return result, current


def summary_line(drift: dict) -> str:
    if drift["measures"] is None:
        return f"drift: not measured ({drift['reason']})"
    m = drift["measures"]
    shown = ", ".join(f"{name} {m[name]:.4f}" for name in corpus_profile.MEASURES)
    return (
        f"drift against served version {os.path.basename(drift['served_version'])}: {shown} "
        f"(the served model's own oov_rate {m['reference_oov_rate']:.4f})"
    )


class DriftCheckSpec(ComponentSpec):
    PARAMETERS = {
        "serving_dir": ExecutionParameter(type=str),
        "custom_config": ExecutionParameter(type=str),  # DriftConfig's fields as JSON
        "served_state": ExecutionParameter(type=str, optional=True),  # filled by ServedProfileDriver (local)
        "code_version": ExecutionParameter(type=str),  # this code's fingerprint: part of the cache key
    }
    INPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {"drift": ChannelParameter(type=standard_artifacts.ExampleAnomalies)}


class Executor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        output = artifact_utils.get_single_instance(output_dict["drift"])
        settings = settings_from_json(corpus_profile.DriftConfig, exec_properties["custom_config"])
        limits = corpus_profile.parse_limits(settings.max_drift)
        state = exec_properties.get("served_state") or ""
        drift, current = measure(examples.uri, exec_properties["serving_dir"], limits, state)
        corpus_profile.write(os.path.join(output.uri, corpus_profile.PROFILE_DIR), *current)
        with fileio.open(os.path.join(output.uri, DRIFT_FILE), "w") as f:
            f.write(json.dumps(drift, indent=2))
        logging.info("DriftCheck: %s", summary_line(drift))
        if drift["exceeded"]:
            raise DriftError(
                f"the training split drifted from the served model's ({drift['served_version']}): "
                f"{'; '.join(drift['exceeded'])} (--max-drift). Check the corpus; to train on it anyway, "
                f"raise those limits or leave --max-drift out. All measures: {summary_line(drift)}"
            )


class ServedProfileDriver(base_driver.BaseDriver):
    """Local runner only: the served version and its profile enter the cache key (see the module docstring)."""

    def run(self, execution_info) -> driver_output_pb2.DriverOutput:
        output = driver_output_pb2.DriverOutput()
        output.exec_properties["served_state"].string_value = served_state(
            execution_info.exec_properties["serving_dir"]
        )
        return output


class DriftCheck(base_component.BaseComponent):
    SPEC_CLASS = DriftCheckSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
    DRIVER_CLASS = ServedProfileDriver

    def __init__(
        self, examples: types.BaseChannel, serving_dir: str, settings: corpus_profile.DriftConfig, code_version: str
    ):
        super().__init__(
            spec=DriftCheckSpec(
                examples=examples,
                serving_dir=serving_dir,
                custom_config=settings_json(settings),
                code_version=code_version,
                served_state="",
                drift=types.Channel(type=standard_artifacts.ExampleAnomalies),
            )
        )
