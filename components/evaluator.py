"""TFX's Evaluator, with a baseline that may hold no model and is evaluated once.

* The baseline comes from ServedModelBaseline, whose output always exists (a
  Kubeflow task always provisions its outputs) but holds no model when nothing
  else is served. Such a baseline is dropped before TFX's executor runs: TFMA
  then evaluates the candidate alone and skips the change threshold, as TFX
  does for an empty baseline channel.
* A baseline with a record (components/evaluation_record.py: its metrics on
  the same examples, under the same config, recorded when it was blessed) is
  not evaluated again: TFMA evaluates the candidate alone, and the record is
  merged in, with TFMA's own validation over the merged figures. The output
  (metrics with baseline and diff, plots, validation, blessing) is what TFMA's
  two-model evaluation writes. Without a record, TFMA evaluates both models.
* Every blessed candidate's figures are recorded in `metrics_store`.
"""
from __future__ import annotations

import logging
import os
from typing import List, Optional

import tensorflow_model_analysis as tfma
from tfx import types
from tfx.components.evaluator import constants
from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs as specs
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import json_utils, path_utils, proto_utils

from components import evaluation_record
from components.served_model_baseline import has_model

BASELINE_KEY = specs.BASELINE_MODEL_KEY
METRICS_STORE_KEY = "metrics_store"
# Custom property of the evaluation: where the baseline's figures came from.
BASELINE_FIGURES_PROPERTY = "baseline_figures"
NO_BASELINE, EVALUATED, RECORDED = "none", "evaluated", "recorded"


def _eval_config(exec_properties, has_baseline: bool) -> tfma.EvalConfig:
    """The config as TFX's executor completes it (model names, change thresholds kept only with a baseline)."""
    config = proto_utils.json_to_proto(exec_properties[specs.EVAL_CONFIG_KEY], tfma.EvalConfig())
    return tfma.utils.update_eval_config_with_defaults(config, has_baseline=has_baseline, rubber_stamp=True)


def _split_dirs(input_dict, exec_properties) -> List[str]:
    splits = json_utils.loads(exec_properties.get(specs.EXAMPLE_SPLITS_KEY, "null")) or ["eval"]
    return [uri for split in splits for uri in artifact_utils.get_split_uris(input_dict[specs.EXAMPLES_KEY], split)]


def _record_key(model: types.Artifact, input_dict, exec_properties) -> str:
    raw_config = proto_utils.json_to_proto(exec_properties[specs.EVAL_CONFIG_KEY], tfma.EvalConfig())
    return evaluation_record.record_key(
        path_utils.serving_model_path(model.uri), _split_dirs(input_dict, exec_properties), raw_config)


def _set_blessing(blessing: types.Artifact, validation_ok: bool, baseline: types.Artifact) -> None:
    """Rewrites the verdict TFX's executor wrote for the candidate alone (its files and properties)."""
    for name in (constants.BLESSED_FILE_NAME, constants.NOT_BLESSED_FILE_NAME):
        path = os.path.join(blessing.uri, name)
        if fileio.exists(path):
            fileio.remove(path)
    name = constants.BLESSED_FILE_NAME if validation_ok else constants.NOT_BLESSED_FILE_NAME
    with fileio.open(os.path.join(blessing.uri, name), "w") as f:
        f.write("")
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY,
                                     constants.BLESSED_VALUE if validation_ok else constants.NOT_BLESSED_VALUE)
    blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY, baseline.uri)
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY, baseline.id)


class Executor(evaluator_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        store: Optional[str] = exec_properties.get(METRICS_STORE_KEY) or None
        exec_properties = {k: v for k, v in exec_properties.items() if k != METRICS_STORE_KEY}
        baseline = (input_dict.get(BASELINE_KEY) or [None])[0]
        if baseline is not None and not has_model(baseline):
            input_dict, baseline = {k: v for k, v in input_dict.items() if k != BASELINE_KEY}, None
        candidate = input_dict[specs.MODEL_KEY][0]
        evaluation_dir = artifact_utils.get_single_uri(output_dict[specs.EVALUATION_KEY])

        recorded = None
        if store and baseline is not None:
            recorded = evaluation_record.read(store, _record_key(baseline, input_dict, exec_properties))
        if recorded is None:
            super().Do(input_dict, output_dict, exec_properties)
            validation_ok = tfma.load_validation_result(evaluation_dir).validation_ok
        else:
            logging.info("Evaluator: the baseline's figures on these examples are recorded; "
                         "evaluating the candidate alone")
            super().Do({k: v for k, v in input_dict.items() if k != BASELINE_KEY}, output_dict, exec_properties)
            validation_ok = evaluation_record.merge_into(
                evaluation_dir, recorded, _eval_config(exec_properties, has_baseline=True),
                path_utils.serving_model_path(baseline.uri)).validation_ok
            _set_blessing(artifact_utils.get_single_instance(output_dict[specs.BLESSING_KEY]),
                          validation_ok, baseline)
        output_dict[specs.EVALUATION_KEY][0].set_string_custom_property(
            BASELINE_FIGURES_PROPERTY, NO_BASELINE if baseline is None else EVALUATED if recorded is None else RECORDED)
        if store and validation_ok:
            name = evaluation_record.CANDIDATE if baseline is not None else ""
            evaluation_record.write(store, _record_key(candidate, input_dict, exec_properties), evaluation_dir, name)


class EvaluatorSpec(specs.EvaluatorSpec):
    PARAMETERS = {**specs.EvaluatorSpec.PARAMETERS, METRICS_STORE_KEY: ExecutionParameter(type=str, optional=True)}


class ServedBaselineEvaluator(base_beam_component.BaseBeamComponent):
    """TFX's Evaluator (its spec, outputs and executor) with a served baseline and recorded evaluations."""

    SPEC_CLASS = EvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, examples: types.BaseChannel, model: types.BaseChannel, baseline_model: types.BaseChannel,
                 example_splits: List[str], eval_config: tfma.EvalConfig, metrics_store: str):
        super().__init__(spec=EvaluatorSpec(
            examples=examples, model=model, baseline_model=baseline_model,
            example_splits=json_utils.dumps(example_splits), eval_config=eval_config,
            metrics_store=metrics_store,
            evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing)))
