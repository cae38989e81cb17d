"""The one pipeline factory every runner (local, Kubeflow) builds from.

DirectoryExampleGen -> DriftCheck (vs. the served model's training profile) -> StatisticsGen -> ImportSchemaGen
  -> StrictExampleValidator -> Transform -> Trainer -> ServedModelBaseline -> Evaluator (vs. the served model)
  -> Pusher [-> RunRetention, on Kubeflow]
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from ml_metadata.proto import metadata_store_pb2

# TFX's classes from their own modules, not `tfx.v1`: tfx.v1 also imports its Google Cloud extensions
# (google.cloud.aiplatform), which no run here uses (bench/NOTES.md, "Start-up without tfx.v1").
from tfx.components import BulkInferrer, Pusher, StatisticsGen, Trainer
from tfx.dsl.components.common.importer import Importer
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import bulk_inferrer_pb2, pusher_pb2, trainer_pb2, transform_pb2
from tfx.types import standard_artifacts

from components.atomic_pusher import AtomicPusher
from components.curated_schema_gen import CuratedSchemaGen
from components.drift_check import DriftCheck
from components.evaluator.component import ServedBaselineEvaluator
from components.example_gen import corpus_layout
from components.example_gen.directory_example_gen import DirectoryExampleGen
from components.example_gen.settings import IngestConfig, IngestSettings
from components.project_root import project_relative
from components.retention_policy import RetentionPolicy
from components.run_retention import RunRetention
from components.served_model_baseline import ServedModelBaseline
from components.single_inspection_transform import SingleInspectionTransform
from components.strict_example_validator import StrictExampleValidator
from pipeline import code_version, configs
from pipeline import component_ids as ids
from pipeline.run_request import RunRequest

PREPROCESSING_FN = "models.preprocessing.preprocessing_fn"
RUN_FN = "models.trainer.run_fn"
# Each component's entry module: its fingerprint (code_version.fingerprint) covers every project module the entry
# imports, transitively, and goes into the component's cache key.
EXAMPLE_GEN_CODE = "components/example_gen/directory_example_gen.py"
DRIFT_CHECK_CODE = "components/drift_check.py"
TRANSFORM_CODE = "models/preprocessing.py"
TRANSFORM_EXECUTOR_CODE = "components/single_inspection_transform.py"
EVALUATOR_CODE = "components/evaluator/component.py"
TRAINER_CODE = "models/trainer.py"
EVALUATION_RECORDS = "evaluation_records"  # under the pipeline root


def ingest_settings(ingest: IngestConfig, layout: corpus_layout.Layout) -> IngestSettings:
    """What DirectoryExampleGen receives: `ingest` by its own field names, the layout, and its code's fingerprint."""
    return IngestSettings.of(ingest, layout, code_version.fingerprint(EXAMPLE_GEN_CODE))


def create_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    serving_dir: str,
    num_classes: int,
    request: RunRequest,
    layout: corpus_layout.Layout | None = None,
    metadata_connection_config: metadata_store_pb2.ConnectionConfig | None = None,
    enable_cache: bool = True,
    until: str = "push",
    train_devices: Sequence[str] | None = None,
    schema_file_at_runtime: str | None = None,
    retention_step: RetentionPolicy | None = None,
) -> tfx_pipeline.Pipeline:
    """The whole pipeline; `until="validation"` builds the data half alone.

    Every orchestrator gets the same nodes: no Resolver (the Kubeflow Pipelines
    backend refuses them); the no-regression baseline is the served model
    (ServedModelBaseline). The Pusher is AtomicPusher for a local serving
    folder, TFX's Pusher for a URI (gs://, s3://), where a rename is not atomic.
    `layout` is the corpus's (corpus_layout.detect_layout; default train/ and test/); ExampleGen checks it
    again when it runs.
    `schema_file_at_runtime` is where the components find the schema (in the
    image) when that differs from `request.schema_file`, the copy read here for
    its fingerprint.
    `retention_step`: the policy for a last step that applies it to the bucket (RunRetention: Kubeflow, whose ML
    Metadata the project cannot reach); the local runner applies it itself after the run (pipeline/cli.py).
    """
    ingest, transform, train, evaluation = request.ingest, request.transform, request.train, request.evaluation
    schema_file = str(request.schema_file)
    example_gen = DirectoryExampleGen(
        input_base=data_root, settings=ingest_settings(ingest, layout or corpus_layout.TRAIN_AND_TEST)
    ).with_id(ids.EXAMPLE_GEN)
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"]).with_id(ids.STATISTICS_GEN)
    schema_gen = CuratedSchemaGen(
        schema_file=schema_file_at_runtime or project_relative(request.schema_file), content_from=schema_file
    ).with_id(ids.SCHEMA_GEN)
    example_validator = StrictExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    ).with_id(ids.EXAMPLE_VALIDATOR)
    components: list = [example_gen, statistics_gen, schema_gen, example_validator]

    if until == "push":
        # What decides Transform's graph, by the fields' own names (materialize decides only what it writes).
        transform_settings = {k: v for k, v in dataclasses.asdict(transform).items() if k != "materialize"}
        transform_component = SingleInspectionTransform(
            examples=example_gen.outputs["examples"],
            schema=schema_gen.outputs["schema"],
            preprocessing_fn=PREPROCESSING_FN,
            # The vocabulary is computed on the training split only.
            splits_config=transform_pb2.SplitsConfig(
                analyze=["train"], transform=["train", "eval", "test"] if transform.materialize else []
            ),
            materialize=transform.materialize,
            # StatisticsGen has the pre-transform statistics; TFDV's post-transform pass over every id of
            # every document and the analyzer cache (for incremental analysis, which no run here feeds
            # back) cost time for outputs nothing reads (bench/NOTES.md: Transform's profile).
            disable_statistics=True,
            disable_analyzer_cache=True,
            custom_config={
                **transform_settings,
                "code_version": code_version.fingerprint(TRANSFORM_CODE, TRANSFORM_EXECUTOR_CODE),
            },
        ).with_id(ids.TRANSFORM)
        # Drift against the served model's training split: measured, and with --max-drift a stop.
        drift_check = DriftCheck(
            examples=example_gen.outputs["examples"],
            serving_dir=serving_dir,
            settings=request.drift,  # unchanged, as the Evaluator's
            code_version=code_version.fingerprint(DRIFT_CHECK_CODE),
        ).with_id(ids.DRIFT_CHECK)
        # Bad data never reaches Transform: it waits for the validator's verdict and the drift check.
        transform_component.add_upstream_node(example_validator)
        transform_component.add_upstream_node(drift_check)

        trainer = Trainer(
            run_fn=RUN_FN,
            # Raw examples: the class list sits beside them; the Transform
            # graph is applied in the Trainer's input pipeline.
            examples=example_gen.outputs["examples"],
            transform_graph=transform_component.outputs["transform_graph"],
            schema=schema_gen.outputs["schema"],
            train_args=trainer_pb2.TrainArgs(splits=["train"]),
            eval_args=trainer_pb2.EvalArgs(splits=["eval"]),
            custom_config={
                **dataclasses.asdict(train),
                "transform": transform_settings,  # Transform's settings, unchanged (models/trainer.TrainSettings)
                "devices": list(train_devices) if train_devices else None,
                "code_version": code_version.fingerprint(TRAINER_CODE),
            },
        ).with_id(ids.TRAINER)
        baseline = ServedModelBaseline(model=trainer.outputs["model"], serving_dir=serving_dir).with_id(ids.BASELINE)
        evaluator = ServedBaselineEvaluator(
            examples=example_gen.outputs["examples"],
            model=trainer.outputs["model"],
            baseline_model=baseline.outputs["baseline_model"],
            example_splits=["test"],
            num_classes=num_classes,
            settings=evaluation,  # unchanged: the executor builds TFMA's config from it (models/evaluation.py)
            # Blessed models' figures, so that a served baseline is not evaluated twice on the same examples.
            metrics_store=os.path.join(pipeline_root, EVALUATION_RECORDS),
            code_version=code_version.fingerprint(EVALUATOR_CODE),
        ).with_id(ids.EVALUATOR)
        local = "://" not in serving_dir
        pusher = (AtomicPusher if local else Pusher)(
            model=trainer.outputs["model"],
            model_blessing=evaluator.outputs["blessing"],
            push_destination=pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_dir)
            ),
        ).with_id(ids.LOCAL_PUSHER if local else ids.OBJECT_STORE_PUSHER)
        components += [drift_check, transform_component, trainer, baseline, evaluator, pusher]
        if retention_step is not None:
            components.append(
                RunRetention(
                    examples=example_gen.outputs["examples"],
                    transform_graph=transform_component.outputs["transform_graph"],
                    model=trainer.outputs["model"],
                    model_run=trainer.outputs["model_run"],
                    pushed_model=pusher.outputs["pushed_model"],
                    runs_folder=f"{pipeline_root.rstrip('/')}/{pipeline_name}",  # KFP: <root>/<pipeline>/<run id>
                    serving_dir=serving_dir,
                    settings=retention_step,
                ).with_id(ids.RUN_RETENTION)
            )

    return tfx_pipeline.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(request.beam_args),
    )


def create_inference_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    model_uri: str,
    blessing_uri: str,
    ingest: IngestConfig,
    metadata_connection_config: metadata_store_pb2.ConnectionConfig | None = None,
    beam_args: Sequence[str] = configs.DEFAULT_BEAM_ARGS,
) -> tfx_pipeline.Pipeline:
    """Labels the text files under `data_root` with a trained, blessed model: TFX's BulkInferrer.

    The model and its blessing are the training pipeline's own artifacts
    (`model_uri`, `blessing_uri` as ML Metadata holds them): the importers find
    them there instead of registering copies, so the inference's lineage leads
    back to the run that trained the model. No cache: the folder is read as it
    is now.
    """
    from components.example_gen.unlabelled_example_gen import UnlabelledExampleGen

    examples = UnlabelledExampleGen(
        input_base=data_root, max_file_bytes=ingest.max_file_bytes, read_batch_size=ingest.read_batch_size
    ).with_id(ids.UNLABELLED_EXAMPLE_GEN)
    model = Importer(source_uri=model_uri, artifact_type=standard_artifacts.Model, reimport=False).with_id(
        ids.BLESSED_MODEL
    )
    blessing = Importer(
        source_uri=blessing_uri, artifact_type=standard_artifacts.ModelBlessing, reimport=False
    ).with_id(ids.MODEL_BLESSING)
    inferrer = BulkInferrer(
        examples=examples.outputs["examples"],
        model=model.outputs["result"],
        model_blessing=blessing.outputs["result"],
        data_spec=bulk_inferrer_pb2.DataSpec(),
        # Serialized tf.Examples in, the Transform graph inside (no skew with training); numbers out.
        model_spec=bulk_inferrer_pb2.ModelSpec(model_signature_name=["score_examples"]),
    ).with_id(ids.BULK_INFERRER)
    return tfx_pipeline.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[examples, model, blessing, inferrer],
        enable_cache=False,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_args),
    )
