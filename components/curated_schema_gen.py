"""ImportSchemaGen whose cache key includes the schema's content.

TFX caches ImportSchemaGen on its parameters, which hold the schema file's
*path*: after an edit of a curated schema, a cached run would go on with the
old schema. The sha256 of the file's content is added as a parameter, so an
edited schema is imported again (and validation and Transform re-run).
"""

from __future__ import annotations

import hashlib

from tfx import types
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter


class CuratedSchemaGenSpec(standard_component_specs.ImportSchemaGenSpec):
    PARAMETERS = {
        **standard_component_specs.ImportSchemaGenSpec.PARAMETERS,
        "schema_sha256": ExecutionParameter(type=str),
    }


def file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class CuratedSchemaGen(ImportSchemaGen):
    SPEC_CLASS = CuratedSchemaGenSpec

    def __init__(self, schema_file: str, content_from: str | None = None):
        """`content_from`: a local copy of the schema the fingerprint is read from, when
        `schema_file` is where the components will find it (inside a container image)."""
        spec = CuratedSchemaGenSpec(
            schema_file=schema_file,
            schema_sha256=file_sha256(content_from or schema_file),
            schema=types.Channel(type=standard_artifacts.Schema),
        )
        super(ImportSchemaGen, self).__init__(spec=spec)  # skip ImportSchemaGen's spec-building __init__
