"""The Evaluator: TFX's component (spec, outputs) with a served baseline, recorded figures and cheaper slices.

What it does beyond TFX's executor, which it replaces for this project's
configuration (example splits; no module file):
* Its settings are the runners' EvaluationConfig, handed over unchanged as
  its custom config (by the fields' own names), with the number of classes;
  it builds TFMA's config from them (models/evaluation.make_eval_config).
* The baseline comes from ServedModelBaseline, whose output always exists (a
  Kubeflow task always provisions its outputs) but holds no model when nothing
  else is served. Such a baseline is ignored: TFMA evaluates the candidate
  alone and skips the change threshold, as TFX does for an empty channel.
* A baseline with a record (components/evaluator/record.py: its figures on
  the same examples, under the same config and code, recorded when it was
  blessed) is not evaluated again: TFMA evaluates the candidate alone, and the
  record is merged in, with TFMA's own validation over the merged figures. The
  output (metrics with baseline and diff, plots, validation, blessing) is what
  the two-model evaluation writes. Without a record, TFMA evaluates both.
* Every metric on the overall slice, counts and accuracy on the feature slices
  (components/evaluator/slices.py).
* Every blessed candidate's figures are recorded in `metrics_store`.
"""

from __future__ import annotations

import contextlib
import logging
import os

import apache_beam as beam
import numpy as np
import tensorflow_model_analysis as tfma
from tfx import types
from tfx.components.evaluator import constants
from tfx.components.util import tfxio_utils
from tfx.dsl.components.base import base_beam_component, base_beam_executor, executor_spec
from tfx.types import artifact_utils, standard_artifacts
from tfx.types import standard_component_specs as specs
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import io_utils, json_utils, path_utils

from components.evaluator import record as evaluation_record
from components.evaluator.slices import split_extractors_and_evaluators
from components.served_model_baseline import has_model
from models.evaluation import ACCURACY_METRICS, make_eval_config
from models.evaluation_settings import EvaluationConfig
from models.features import TEST_ACCURACY_PROPERTY
from models.recipe import settings_from_json, settings_json

METRICS_STORE_KEY = "metrics_store"
CODE_VERSION_KEY = "code_version"
# EvaluationConfig's fields as JSON, and the corpus's number of classes: what TFMA's config is built from.
CUSTOM_CONFIG_KEY = "custom_config"
NUM_CLASSES_KEY = "num_classes"
# Custom property of the evaluation: where the baseline's figures came from.
BASELINE_FIGURES_PROPERTY = "baseline_figures"
# Examples per model call, fixed instead of Beam's tuning up from 1: IMDB's evaluation 34.26 and 28.05 s tuned,
# 29.46 and 25.94 s fixed, the same metrics (bench/NOTES.md, "The Evaluator's batches").
EVAL_BATCH_SIZE = 1000


def batch_reprs_summarized() -> contextlib.AbstractContextManager:
    """numpy's print options under which the repr of an array of EVAL_BATCH_SIZE texts shows only its ends.

    Why: TFMA calls the serving signature with each batch as one positional tensor. A loaded signature takes
    keywords only, so TensorFlow's binding fails, formats the whole batch (1,000 reviews) into the error's
    text, and then calls the flat signature, which succeeds. IMDB's evaluation alone 18.68 and 18.88 s,
    summarized 17.48 and 17.83 s (bench/NOTES.md, "The serving signature's failed binding").
    """
    return np.printoptions(threshold=10)


def overall_accuracy(evaluation_uri: str) -> float | None:
    """The candidate's accuracy on the overall slice, as TFMA wrote it."""
    for metrics in tfma.load_metrics(evaluation_uri):
        if metrics.slice_key.single_slice_keys:
            continue
        for kv in metrics.metric_keys_and_values:
            key = kv.key
            if (
                key.name in ACCURACY_METRICS
                and not key.is_diff
                and key.model_name in ("", "candidate")
                and not key.HasField("sub_key")
            ):
                return kv.value.double_value.value
    return None


NO_BASELINE, EVALUATED, RECORDED = "none", "evaluated", "recorded"


def settings_of(exec_properties) -> EvaluationConfig:
    """The runners' EvaluationConfig, as the Evaluator received it (its fields by their own names)."""
    return settings_from_json(EvaluationConfig, exec_properties[CUSTOM_CONFIG_KEY])


def eval_config_of(exec_properties) -> tfma.EvalConfig:
    """TFMA's config from the Evaluator's exec properties (an execution's, read back from ML Metadata, too)."""
    return make_eval_config(int(exec_properties[NUM_CLASSES_KEY]), settings_of(exec_properties))


def _split_uris(input_dict, exec_properties) -> list[str]:
    splits = json_utils.loads(exec_properties.get(specs.EXAMPLE_SPLITS_KEY, "null")) or ["eval"]
    return [uri for split in splits for uri in artifact_utils.get_split_uris(input_dict[specs.EXAMPLES_KEY], split)]


def _bless(
    blessing: types.Artifact, ok: bool, candidate: types.Artifact, baseline: types.Artifact | None, exec_properties
) -> None:
    """The verdict as TFX's executor records it: a BLESSED or NOT_BLESSED file and the same properties."""
    blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, candidate.uri)
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, candidate.id)
    if baseline is not None:
        blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY, baseline.uri)
        blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY, baseline.id)
    if "current_component_id" in exec_properties:
        blessing.set_string_custom_property("component_id", exec_properties["current_component_id"])
    name = constants.BLESSED_FILE_NAME if ok else constants.NOT_BLESSED_FILE_NAME
    io_utils.write_string_file(os.path.join(blessing.uri, name), "")
    blessing.set_int_custom_property(
        constants.ARTIFACT_PROPERTY_BLESSED_KEY, constants.BLESSED_VALUE if ok else constants.NOT_BLESSED_VALUE
    )


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        store: str | None = exec_properties.get(METRICS_STORE_KEY) or None
        candidate = artifact_utils.get_single_instance(input_dict[specs.MODEL_KEY])
        baseline = (input_dict.get(specs.BASELINE_MODEL_KEY) or [None])[0]
        if baseline is not None and not has_model(baseline):
            baseline = None
        evaluation = artifact_utils.get_single_instance(output_dict[specs.EVALUATION_KEY])
        split_uris = _split_uris(input_dict, exec_properties)
        raw_config = eval_config_of(exec_properties)

        examples_digest = evaluation_record.examples_digest(split_uris) if store else ""

        def record_key(model: types.Artifact) -> str:
            return evaluation_record.record_key(
                path_utils.serving_model_path(model.uri),
                examples_digest,
                raw_config,
                exec_properties.get(CODE_VERSION_KEY) or "",
            )

        recorded = evaluation_record.read(store, record_key(baseline)) if store and baseline is not None else None
        evaluated = [candidate] + ([baseline] if baseline is not None and recorded is None else [])
        if recorded is not None:
            logging.info(
                "Evaluator: the baseline's figures on these examples are recorded; evaluating the candidate alone"
            )
        self._evaluate(input_dict[specs.EXAMPLES_KEY], split_uris, evaluated, raw_config, evaluation.uri)
        if recorded is None:
            validation = tfma.load_validation_result(evaluation.uri)
        else:
            with_baseline = tfma.utils.update_eval_config_with_defaults(
                raw_config, has_baseline=True, rubber_stamp=True
            )
            validation = evaluation_record.merge_into(
                evaluation.uri, recorded, with_baseline, path_utils.serving_model_path(baseline.uri)
            )
        _bless(
            artifact_utils.get_single_instance(output_dict[specs.BLESSING_KEY]),
            validation.validation_ok,
            candidate,
            baseline,
            exec_properties,
        )
        evaluation.set_string_custom_property(
            BASELINE_FIGURES_PROPERTY, NO_BASELINE if baseline is None else EVALUATED if recorded is None else RECORDED
        )
        accuracy = overall_accuracy(evaluation.uri)
        if accuracy is not None:
            evaluation.set_float_custom_property(TEST_ACCURACY_PROPERTY, accuracy)
        if store and validation.validation_ok:
            evaluation_record.write(
                store,
                record_key(candidate),
                evaluation.uri,
                evaluation_record.CANDIDATE if baseline is not None else "",
            )

    def _evaluate(
        self,
        examples: list[types.Artifact],
        split_uris: list[str],
        models: list[types.Artifact],
        raw_config: tfma.EvalConfig,
        output_dir: str,
    ) -> None:
        """TFMA over the split files with `models` (the candidate, then the baseline if any), as TFX runs it."""
        # rubber_stamp: a change threshold without a baseline is skipped, not failed (TFX's setting).
        config = tfma.utils.update_eval_config_with_defaults(
            raw_config, has_baseline=len(models) == 2, rubber_stamp=True
        )
        tfma.utils.verify_eval_config(config)
        shared = [
            tfma.default_eval_shared_model(
                eval_saved_model_path=path_utils.serving_model_path(models[-1 if spec.is_baseline else 0].uri),
                model_name=spec.name,
                eval_config=config,
            )
            for spec in config.model_specs
        ]
        shared_model = shared[0] if len(shared) == 1 else shared
        tfxio_factory = tfxio_utils.get_tfxio_factory_from_artifact(
            examples=examples,
            telemetry_descriptors=["Evaluator"],
            schema=None,
            raw_record_column_name=tfma.ARROW_INPUT_COLUMN,
        )
        extractors, evaluators = split_extractors_and_evaluators(config, shared_model)
        with batch_reprs_summarized(), self._make_beam_pipeline() as pipeline:
            data = [
                pipeline
                | f"Read[{i}]" >> tfxio_factory(io_utils.all_files_pattern(uri)).BeamSource(batch_size=EVAL_BATCH_SIZE)
                for i, uri in enumerate(split_uris)
            ]
            _ = (
                data
                | "FlattenExamples" >> beam.Flatten()
                | "ExtractEvaluateAndWriteResults"
                >> tfma.ExtractEvaluateAndWriteResults(
                    eval_shared_model=shared_model,
                    eval_config=config,
                    extractors=extractors,
                    evaluators=evaluators,
                    output_path=output_dir,
                )
            )
        logging.info("Evaluation complete. Results written to %s.", output_dir)


class EvaluatorSpec(specs.EvaluatorSpec):
    PARAMETERS = {
        # Not TFX's eval_config: the executor builds TFMA's config from the settings, so one would be ignored.
        **{k: v for k, v in specs.EvaluatorSpec.PARAMETERS.items() if k != specs.EVAL_CONFIG_KEY},
        CUSTOM_CONFIG_KEY: ExecutionParameter(type=str),
        NUM_CLASSES_KEY: ExecutionParameter(type=int),
        METRICS_STORE_KEY: ExecutionParameter(type=str, optional=True),
        # A fingerprint of the evaluation code: in the cache key and in the records' key.
        CODE_VERSION_KEY: ExecutionParameter(type=str, optional=True),
    }


class ServedBaselineEvaluator(base_beam_component.BaseBeamComponent):
    """TFX's Evaluator (its spec and outputs) with a served baseline, recorded figures and cheaper slices."""

    SPEC_CLASS = EvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(
        self,
        examples: types.BaseChannel,
        model: types.BaseChannel,
        baseline_model: types.BaseChannel,
        example_splits: list[str],
        num_classes: int,
        settings: EvaluationConfig,
        metrics_store: str,
        code_version: str,
    ):
        super().__init__(
            spec=EvaluatorSpec(
                examples=examples,
                model=model,
                baseline_model=baseline_model,
                example_splits=json_utils.dumps(example_splits),
                custom_config=settings_json(settings),
                num_classes=num_classes,
                metrics_store=metrics_store,
                code_version=code_version,
                evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
                blessing=types.Channel(type=standard_artifacts.ModelBlessing),
            )
        )
