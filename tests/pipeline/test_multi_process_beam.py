"""The Beam stages write the same bytes on Beam's multi-process runner as in one process.

Examples (DirectoryExampleGen) and the vocabulary (Transform): the shared cold
run (conftest's tiny_run, in process, batches of 500 files) against each
executor run on the direct runner's multi-process mode with two workers and
batches of 7 files (so that the workers' scheduling could reorder them).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from google.protobuf import message
from tfx import types
from tfx import v1 as tfx
from tfx.components.transform import executor as transform_executor
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from models import recipe
from pipeline import configs
from pipeline.pipeline import PREPROCESSING_FN
from tests.data.test_directory_example_gen import run_example_gen
from tests.helpers import outputs_of, read_records, vocabulary_files

MULTI_PROCESS = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]


def _json_properties(component) -> dict:
    return {
        k: proto_utils.proto_to_json(v) if isinstance(v, message.Message) else v
        for k, v in component.exec_properties.items()
    }


def run_transform(examples: types.Artifact, out: Path, beam_args=None) -> str:
    """Transform's executor with the pipeline's preprocessing_fn and default settings; returns the graph's URI."""
    settings = {k: v for k, v in dataclasses.asdict(recipe.TransformConfig()).items() if k != "materialize"}
    component = tfx.components.Transform(
        examples=types.Channel(type=standard_artifacts.Examples),
        schema=types.Channel(type=standard_artifacts.Schema),
        preprocessing_fn=PREPROCESSING_FN,
        materialize=False,
        custom_config=settings,
        splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=[]),
    )
    schema = standard_artifacts.Schema()
    schema.uri = str(out / "schema")
    (out / "schema").mkdir(parents=True)
    shutil.copy(configs.SCHEMAS_DIR / "imdb" / "schema.pbtxt", out / "schema" / "schema.pbtxt")
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(out / "transform_graph")
    context = transform_executor.Executor.Context(beam_pipeline_args=beam_args, tmp_dir=str(out / "tmp"), unique_id="1")
    transform_executor.Executor(context).Do(
        {"examples": [examples], "schema": [schema]}, {"transform_graph": [graph]}, _json_properties(component)
    )
    return graph.uri


def test_examples_and_vocabulary_are_byte_identical_on_the_multi_process_runner(tiny_run, tmp_path):
    single = outputs_of(tiny_run.metadata, tiny_run.summary["run_id"])
    multi = run_example_gen(tiny_run.root, tmp_path / "multi", read_batch_size=7, beam_args=MULTI_PROCESS)
    for split in ("train", "eval", "test"):
        files = [
            sorted((Path(uri) / f"Split-{split}").iterdir())
            for uri in (single["DirectoryExampleGen"]["Examples"], multi.uri)
        ]
        assert [p.name for p in files[0]] == [p.name for p in files[1]] == ["data_tfrecord-00000.gz"]
        assert files[0][0].read_bytes() == files[1][0].read_bytes(), split
        assert len(read_records(str(files[0][0]))) > 0

    vocabulary = vocabulary_files(single["Transform"]["TransformGraph"])
    assert vocabulary and vocabulary == vocabulary_files(run_transform(multi, tmp_path / "t", beam_args=MULTI_PROCESS))
