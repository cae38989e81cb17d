"""ImportSchemaGen whose cache key holds the schema's content, not where this clone lives.

TFX caches ImportSchemaGen on its parameters, which hold the schema file's
*path*: after an edit of a curated schema, a cached run would go on with the
old schema. The sha256 of the file's content is added as a parameter, so an
edited schema is imported again (and validation and Transform re-run).

A schema inside the project (the curated ones) is named relative to the
project root, which the executor resolves in its own clone: with an absolute
path, the same corpus run from a second clone, or after the folder moved,
imported the schema again as a new artifact, and Transform, the Trainer and
the Evaluator re-ran on it (IMDB: 129.3 s where the cached run takes about
16 s). The image's copy of the project resolves it the same way.
"""

from __future__ import annotations

import hashlib

from tfx import types
from tfx.components.schema_gen.import_schema_gen import executor as import_schema_executor
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter

from components import project_root


class CuratedSchemaGenSpec(standard_component_specs.ImportSchemaGenSpec):
    PARAMETERS = {
        **standard_component_specs.ImportSchemaGenSpec.PARAMETERS,
        "schema_sha256": ExecutionParameter(type=str),
    }


def file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Executor(import_schema_executor.Executor):
    """TFX's ImportSchemaGen executor, with a project-relative schema file resolved in this clone."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        schema_file = exec_properties[standard_component_specs.SCHEMA_FILE_KEY]
        resolved = {**exec_properties, standard_component_specs.SCHEMA_FILE_KEY: project_root.resolve(schema_file)}
        super().Do(input_dict, output_dict, resolved)


class CuratedSchemaGen(ImportSchemaGen):
    SPEC_CLASS = CuratedSchemaGenSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, schema_file: str, content_from: str | None = None):
        """`schema_file`: a path relative to the project root (project_root.project_relative) or absolute.
        `content_from`: the local file the fingerprint is read from (default: `schema_file` in this clone),
        when `schema_file` is where the components will find it (inside a container image)."""
        spec = CuratedSchemaGenSpec(
            schema_file=schema_file,
            schema_sha256=file_sha256(content_from or project_root.resolve(schema_file)),
            schema=types.Channel(type=standard_artifacts.Schema),
        )
        super(ImportSchemaGen, self).__init__(spec=spec)  # skip ImportSchemaGen's spec-building __init__
