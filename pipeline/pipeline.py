"""The one pipeline factory every runner (local, Kubeflow) builds from."""
from __future__ import annotations

from typing import List, Optional, Sequence

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx
from tfx.orchestration import pipeline as tfx_pipeline

from components.directory_example_gen import DirectoryExampleGen, IngestSettings
from components.strict_example_validator import StrictExampleValidator
from pipeline import configs


def ingest_settings(ingest: configs.IngestConfig, has_test_dir: bool) -> IngestSettings:
    ingest.validate()
    return IngestSettings(
        train_dir=ingest.train_dir,
        test_dir=ingest.test_dir if has_test_dir else None,
        eval_percent=ingest.eval_percent,
        test_percent=ingest.test_percent,
        exclude_dirs=list(ingest.exclude_dirs),
        max_file_bytes=ingest.max_file_bytes,
        read_batch_size=ingest.read_batch_size,
    )


def create_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    schema_file: str,
    ingest: configs.IngestConfig,
    has_test_dir: bool,
    beam_pipeline_args: Sequence[str] = configs.DEFAULT_BEAM_ARGS,
    metadata_connection_config: Optional[metadata_store_pb2.ConnectionConfig] = None,
    enable_cache: bool = True,
    until: str = "push",
) -> tfx_pipeline.Pipeline:
    """ExampleGen -> StatisticsGen -> ImportSchemaGen -> ExampleValidator (the data half).

    `until="validation"` builds the data half alone.
    """
    example_gen = DirectoryExampleGen(input_base=data_root, settings=ingest_settings(ingest, has_test_dir))
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=schema_file)
    example_validator = StrictExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])

    components: List = [example_gen, statistics_gen, schema_gen, example_validator]
    return tfx_pipeline.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args),
    )
