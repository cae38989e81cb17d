"""DirectoryExampleGen: a TFX ExampleGen for corpora of one folder per class.

Output splits `train`, `eval` and `test`, each from its own folder or a stable
hash split of the training folder, as `corpus_layout.Layout` says (`ROOT/train/`,
`test/`, `val/`, or class folders directly under the root). The Examples
artifact also holds

    class_names.json         the class list; label i is class_names[i]
    ingestion_report.json    the layout, documents per split and class, every
                             skipped file with its reason, every file decoded
                             with a fallback, the duplicate groups and label
                             conflicts (components/example_gen/ingestion_report.py)

and carries `class_names` and `layout` as custom properties, so every later step and the
served model use the same label mapping. Each source folder is listed and read
once; see `components/example_gen/listing.py` and `corpus.py` for what happens to files that are not
clean documents. The records of every folder wait, in memory or the runner's shuffle,
for the split plan that the whole corpus's fingerprints decide
(`components/example_gen/split_plan.py`): the train folder's cut, the label conflicts
dropped, and each record's `seen_in_train`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
from typing import Any

import apache_beam as beam
from tfx.components.example_gen import base_example_gen_executor, driver, input_processor
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components.example_gen import corpus_layout, fingerprint_workers, folder_fingerprint, listing, split_plan
from components.example_gen.example_io import (
    BATCHES_PER_SHARD,
    FINGERPRINTS,
    PARTS_DIR,
    STAGED,
    read_folder_batches,
    set_formats,
    write_side_outputs,
    write_split_files,
)
from components.example_gen.ingestion_report import (
    DUPLICATES,
    build_report,
    check_label_conflicts,
    check_nothing_empty,
    log_report,
)
from components.example_gen.settings import IngestSettings
from models.features import CLASS_NAMES_FILE, REPORT_FILE


def _folder_of(split_pattern: str) -> str:
    return split_pattern.split("/", 1)[0]


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
def _ReadCorpusFolder(pipeline: beam.Pipeline, exec_properties: dict[str, Any], split_pattern: str):
    """Lists and reads one split folder; returns {split name: records, 'skipped'/'fallback'/'counts': lines}."""
    settings = IngestSettings.from_exec_properties(exec_properties)
    root = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    folder = _folder_of(split_pattern)
    classes = settings.check_layout(root)
    cuts = settings.cuts_for(folder)
    docs, skipped = listing.scan_split_folder(
        root, folder, classes, cuts, settings.max_file_bytes, settings.exclude_dirs
    )
    listed = {d.label for d in docs}
    for label, name in enumerate(classes):
        if label not in listed:
            raise corpus_layout.CorpusError(
                f"class folder {os.path.join(root, folder, name)} has no documents "
                f"({sum(1 for s in skipped if s.path.startswith(corpus_layout.class_folder(folder, name)))} "
                "files skipped); "
                "add documents or remove the folder"
            )
    logging.info("DirectoryExampleGen: %s/: %d files to read, %d skipped by listing", folder, len(docs), len(skipped))
    lister = functools.partial(
        listing.scan_split_folder, root, folder, classes, cuts, settings.max_file_bytes, settings.exclude_dirs
    )
    read = read_folder_batches(
        pipeline,
        "",
        lister,
        docs,
        os.path.join(root, folder),
        [],
        settings.read_batch_size,
        settings.max_file_bytes,
        staged=True,
    )
    listing_skips = pipeline | "ListingSkips" >> beam.Create(
        [json.dumps(dataclasses.asdict(s)) for s in skipped], reshuffle=False
    )
    return {
        STAGED: read[STAGED],
        FINGERPRINTS: read[FINGERPRINTS],
        "fallback": read.fallback,
        "skipped": (read.skipped, listing_skips) | "AllSkips" >> beam.Flatten(),
    }


def _plan(packed: list[bytes], cuts, classes: list[str], settings: IngestSettings) -> split_plan.Plan:
    prints = fingerprint_workers.unpack(packed)
    return split_plan.plan_splits(prints, cuts, classes, settings.on_label_conflict, settings.near_duplicate_threshold)


class _Route(beam.DoFn):
    """A staged batch to its splits' (shard, (batch index, records)), and their counts, by the plan."""

    def process(self, staged, plan: split_plan.Plan):
        for tag, value in split_plan.route_batch(staged, plan):
            yield beam.pvalue.TaggedOutput(tag, value if tag == "counts" else (value[0] // BATCHES_PER_SHARD, value))


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Reads each source folder once, whole batches of records to their split's files; writes the ingestion report."""

    _parts_dir: str | None = None

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _ReadCorpusFolder

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]):
        """{split name: (shard, (batch index, records))}; the side outputs are written to the parts folder."""
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        split_names = [s.name for s in input_config.splits]
        folders = list(dict.fromkeys(_folder_of(s.pattern) for s in input_config.splits))

        read_folder = self.GetInputSourceToExamplePTransform()
        outputs = [pipeline | f"ReadFolder[{f}]" >> read_folder(exec_properties, f"{f}/*/*") for f in folders]

        # The split plan needs every document's fingerprint: the records wait for it (split_plan.py).
        settings = IngestSettings.from_exec_properties(exec_properties)
        classes = settings.check_layout(exec_properties[standard_component_specs.INPUT_BASE_KEY])
        cut = [settings.cuts_for(f) for f in folders if len(settings.cuts_for(f)) > 1]
        plan = (
            [o[FINGERPRINTS] for o in outputs]
            | "AllFingerprints" >> beam.Flatten(pipeline=pipeline)
            | "Gather" >> beam.combiners.ToList()
            | "Plan" >> beam.Map(_plan, cut[0] if cut else None, classes, settings)
        )
        routed = (
            [o[STAGED] for o in outputs]
            | "AllBatches" >> beam.Flatten(pipeline=pipeline)
            | "Route" >> beam.ParDo(_Route(), beam.pvalue.AsSingleton(plan)).with_outputs("counts", *split_names)
        )
        sides = {kind: [o[kind] for o in outputs] for kind in ("skipped", "fallback")}
        sides["counts"] = [routed.counts]
        sides[DUPLICATES] = [plan | "Report" >> beam.Map(lambda p: json.dumps(p.report))]
        write_side_outputs(pipeline, sides, self._parts_dir)
        return {name: routed[name] for name in split_names}

    def _write_examples(self, output_dict, exec_properties) -> None:
        """TFX's ExampleGen Do, with whole batches written per shard instead of one Beam element per record."""
        input_config, output_config = example_gen_pb2.Input(), example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        examples.split_names = artifact_utils.encode_split_names(
            example_gen_utils.generate_output_split_names(input_config, output_config)
        )
        with self._make_beam_pipeline() as pipeline:
            for split, batches in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
                write_split_files(batches, artifact_utils.get_split_uri([examples], split), f"[{split}]")
        set_formats(examples)

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        self._parts_dir = os.path.join(examples.uri, PARTS_DIR)
        self._write_examples(output_dict, exec_properties)

        settings = IngestSettings.from_exec_properties(exec_properties)
        root = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        classes = settings.check_layout(root)
        split_names = artifact_utils.decode_split_names(examples.split_names)
        report = build_report(root, settings.describe_layout(), classes, split_names, self._parts_dir)
        fileio.rmtree(self._parts_dir)

        with fileio.open(os.path.join(examples.uri, REPORT_FILE), "w") as f:
            f.write(json.dumps(report, indent=2, ensure_ascii=False))
        with fileio.open(os.path.join(examples.uri, CLASS_NAMES_FILE), "w") as f:
            f.write(json.dumps(classes))
        examples.set_string_custom_property("class_names", json.dumps(classes))
        examples.set_string_custom_property("layout", report["layout"])
        examples.set_int_custom_property("num_documents", report["documents"])
        examples.set_int_custom_property("num_skipped", len(report["skipped"]))
        log_report(report)
        check_label_conflicts(report)
        check_nothing_empty(report, settings.source_folder)


class _CorpusInputProcessor(input_processor.FileBasedInputProcessor):
    """The input fingerprint (ExampleGen's cache key) from every file of each source folder.

    TFX's default stats the files a split's pattern (`train/*/*`) globs: it
    misses files in nested folders, ignores renames and moves between class
    folders (same sizes and times), and fails the run on a link loop.
    """

    def resolve_span_and_version(self):
        folders = sorted({_folder_of(split.pattern) for split in self._splits})
        self._fingerprint = "; ".join(folder_fingerprint.fingerprint_folder(self._input_base_uri, f) for f in folders)
        return 0, None  # no spans or versions: the corpus is one snapshot


class CorpusDriver(driver.FileBasedDriver):
    def get_input_processor(self, splits, range_config=None, input_base_uri=None):
        return _CorpusInputProcessor(input_base_uri, splits, range_config)


class DirectoryExampleGen(FileBasedExampleGen):
    """ExampleGen for corpora of one folder per class (see module docstring)."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
    DRIVER_CLASS = CorpusDriver

    def __init__(self, input_base: str, settings: IngestSettings):
        # Input splits name where each output split comes from; the patterns
        # also drive the driver's input fingerprint, so a changed corpus
        # invalidates the cache. Splits that share a folder read it once.
        input_config = example_gen_pb2.Input(
            splits=[
                example_gen_pb2.Input.Split(name=split, pattern=f"{settings.source_folder(split)}/*/*")
                for split in (corpus_layout.TRAIN, corpus_layout.EVAL, corpus_layout.TEST)
            ]
        )
        super().__init__(input_base=input_base, input_config=input_config, custom_config=settings.to_custom_config())
