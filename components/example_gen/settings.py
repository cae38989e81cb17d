"""Ingestion's settings: IngestConfig, the knobs of DirectoryExampleGen (flags of both runners, derived from the
fields: pipeline/run_request.py), and IngestSettings, the same fields by the same names plus the layout the runner
found and the code's fingerprint, which is what the executor receives as its custom config. A field added to
IngestConfig reaches the executor with no other edit (tests/code/test_structure.py)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from components.example_gen import corpus_layout
from components.example_gen.corpus_layout import ON_LABEL_CONFLICT
from models.recipe import knob

if TYPE_CHECKING:
    from tfx.proto import example_gen_pb2


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    """How DirectoryExampleGen turns a corpus of class folders into examples (components/example_gen/corpus.py)."""

    # The validation folder beside train/, when its name is not one that is
    # found without asking (val, valid, validation, dev).
    eval_dir: str | None = None
    # Hash splits key on each duplicate group's content (components/example_gen/split_plan.py): stable across runs,
    # machines, listing order and renames, and no document has a twin in another split.
    eval_percent: int = knob(20, "percent of train/ held out as eval when there is no validation folder")
    test_percent: int = knob(20, "percent of train/ held out as test when there is no test folder")
    exclude_dirs: tuple[str, ...] = ()
    # A 50 MB "review" is a mistake, not a document.
    max_file_bytes: int = knob(1 << 20, "larger files are skipped and reported")
    # Files are handed to Beam in batches to keep per-element overhead low.
    read_batch_size: int = 500
    # Drop: the pipeline cannot tell which label is right (components/example_gen/split_plan.py says why).
    on_label_conflict: str = knob("drop", "documents with one text under two labels", choices=ON_LABEL_CONFLICT)
    # Near duplicates share a split, so that no test document has a near twin in train
    # (components/example_gen/duplicates.py); near groups that take a large share of a class are templates and
    # are split like distinct texts.
    near_duplicate_threshold: float = knob(
        0.8, "Jaccard similarity of word 5-grams at which two documents share a split (0.5-1; 0 turns it off)"
    )

    def validate(self) -> None:
        if self.on_label_conflict not in ON_LABEL_CONFLICT:
            raise ValueError(
                f"--on-label-conflict (IngestConfig.on_label_conflict) must be one of {', '.join(ON_LABEL_CONFLICT)}, "
                f"got {self.on_label_conflict!r}"
            )
        if self.near_duplicate_threshold != 0 and not 0.5 <= self.near_duplicate_threshold <= 1:
            raise ValueError(
                "--near-duplicate-threshold (IngestConfig.near_duplicate_threshold) must be between 0.5 and 1, "
                f"or 0 to turn near duplicates off, got {self.near_duplicate_threshold}"
            )
        for name in ("eval_percent", "test_percent"):
            value = getattr(self, name)
            if not 0 < value < 100:
                raise ValueError(f"IngestConfig.{name} must be between 1 and 99, got {value}")
        if self.eval_percent + self.test_percent >= 100:
            raise ValueError(
                "IngestConfig.eval_percent + test_percent must leave room for training, "
                f"got {self.eval_percent} + {self.test_percent}"
            )
        if self.max_file_bytes <= 0:
            raise ValueError(
                f"--max-file-bytes (IngestConfig.max_file_bytes) must be at least 1, got {self.max_file_bytes}"
            )
        if self.eval_dir is not None and (not self.eval_dir or "/" in self.eval_dir or self.eval_dir in (".", "..")):
            raise ValueError(
                f"--eval-dir (IngestConfig.eval_dir) is the name of a folder beside train/, got {self.eval_dir!r}"
            )


@dataclasses.dataclass(frozen=True)
class IngestSettings(IngestConfig):
    """IngestConfig as the executor receives it (custom_config): every field by its own name, `eval_dir` the
    validation folder the runner found (or None: a hash split), and the corpus_layout.Layout's other folders."""

    train_dir: str = corpus_layout.TRAIN_DIR
    test_dir: str | None = corpus_layout.TEST_DIR  # None: test is a hash split of the training folder
    # Fingerprint of the ingestion code: part of the cache key, so examples
    # written by older code are not served from the cache.
    code_version: str = ""

    @classmethod
    def of(cls, ingest: IngestConfig, layout: corpus_layout.Layout, code_version: str) -> IngestSettings:
        ingest.validate()
        values = {**dataclasses.asdict(ingest), "eval_dir": layout.eval_dir}
        return cls(**values, train_dir=layout.train_dir, test_dir=layout.test_dir, code_version=code_version)

    @classmethod
    def from_exec_properties(cls, exec_properties: dict[str, Any]) -> IngestSettings:
        from google.protobuf import json_format, struct_pb2  # TFX's protos: not for the runners' flag parsing
        from tfx.proto import example_gen_pb2
        from tfx.types import standard_component_specs
        from tfx.utils import proto_utils

        custom = example_gen_pb2.CustomConfig()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY], custom)
        struct = struct_pb2.Struct()
        custom.custom_config.Unpack(struct)
        values = json_format.MessageToDict(struct)
        for field in dataclasses.fields(cls):  # a Struct holds floats and lists
            if field.name in values and values[field.name] is not None:
                if field.type == "int":
                    values[field.name] = int(values[field.name])
                elif field.type.startswith("tuple"):
                    values[field.name] = tuple(values[field.name])
        return cls(**values)

    def to_custom_config(self) -> example_gen_pb2.CustomConfig:
        from google.protobuf import any_pb2, struct_pb2
        from tfx.proto import example_gen_pb2

        struct = struct_pb2.Struct()
        struct.update({k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()})
        packed = any_pb2.Any()
        packed.Pack(struct)
        return example_gen_pb2.CustomConfig(custom_config=packed)

    @property
    def layout(self) -> corpus_layout.Layout:
        return corpus_layout.Layout(self.train_dir, self.eval_dir, self.test_dir)

    def source_folder(self, split: str) -> str:
        return self.layout.source_folder(split)

    def cuts_for(self, folder: str):
        return self.layout.cuts_for(folder, self.eval_percent, self.test_percent)

    def describe_layout(self) -> str:
        return self.layout.describe(self.eval_percent, self.test_percent)

    def check_layout(self, root: str) -> list[str]:
        """The class names; CorpusError when the corpus's layout is no longer the one the pipeline was built for."""
        found, classes = corpus_layout.detect_layout(root, self.eval_dir, self.exclude_dirs)
        if found != self.layout:
            raise corpus_layout.CorpusError(
                f"{root}: the pipeline was built for {self.describe_layout()}, but the folder now has "
                f"{found.describe(self.eval_percent, self.test_percent)}; build the pipeline again "
                "(Kubeflow: compile with the layout flags that match the corpus)"
            )
        return classes
