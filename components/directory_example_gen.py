"""DirectoryExampleGen: a TFX ExampleGen for corpora of one folder per class.

Output splits `train`, `eval` and `test`, each from its own folder or a stable
hash split of the training folder, as `corpus.Layout` says (`ROOT/train/`,
`test/`, `val/`, or class folders directly under the root). The Examples
artifact also holds

    class_names.json         the class list; label i is class_names[i]
    ingestion_report.json    the layout, documents per split and class, every
                             skipped file with its reason, every file decoded
                             with a fallback

and carries `class_names` and `layout` as custom properties, so every later step and the
served model use the same label mapping. Each source folder is listed and read
once; see `components/corpus.py` for what happens to files that are not clean
documents.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import json
import logging
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

import apache_beam as beam
import tensorflow as tf
from google.protobuf import any_pb2, json_format, struct_pb2
from tfx.components.example_gen import base_example_gen_executor, driver, input_processor, write_split
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.util import examples_utils
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components import corpus
from models.features import CLASS_NAMES_FILE, REPORT_FILE

PARTS_DIR = "_ingestion_parts"  # the side outputs' files while an ExampleGen runs


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    """What the executor needs from configs.IngestConfig, carried as custom_config."""

    # The corpus.Layout, flat (a custom config is a JSON struct).
    train_dir: str
    test_dir: Optional[str]  # None: test is a hash split of the training folder
    eval_dir: Optional[str]  # None: eval is a hash split of the training folder
    eval_percent: int
    test_percent: int
    exclude_dirs: List[str]
    max_file_bytes: int
    read_batch_size: int
    # Fingerprint of the ingestion code: part of the cache key, so examples
    # written by older code are not served from the cache.
    code_version: str = ""

    @classmethod
    def from_exec_properties(cls, exec_properties: Dict[str, Any]) -> "IngestSettings":
        custom = example_gen_pb2.CustomConfig()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY], custom)
        struct = struct_pb2.Struct()
        custom.custom_config.Unpack(struct)
        values = json_format.MessageToDict(struct)
        for key in ("eval_percent", "test_percent", "max_file_bytes", "read_batch_size"):
            values[key] = int(values[key])  # Struct numbers come back as floats
        return cls(**values)

    def to_custom_config(self) -> example_gen_pb2.CustomConfig:
        struct = struct_pb2.Struct()
        struct.update(dataclasses.asdict(self))
        packed = any_pb2.Any()
        packed.Pack(struct)
        return example_gen_pb2.CustomConfig(custom_config=packed)

    @property
    def layout(self) -> corpus.Layout:
        return corpus.Layout(self.train_dir, self.eval_dir, self.test_dir)

    def source_folder(self, split: str) -> str:
        return self.layout.source_folder(split)

    def cuts_for(self, folder: str):
        return self.layout.cuts_for(folder, self.eval_percent, self.test_percent)

    def describe_layout(self) -> str:
        return self.layout.describe(self.eval_percent, self.test_percent)

    def check_layout(self, root: str) -> List[str]:
        """The class names; CorpusError when the corpus's layout is no longer the one the pipeline was built for."""
        found, classes = corpus.detect_layout(root, self.eval_dir, self.exclude_dirs)
        if found != self.layout:
            raise corpus.CorpusError(
                f"{root}: the pipeline was built for {self.describe_layout()}, but the folder now has "
                f"{found.describe(self.eval_percent, self.test_percent)}; build the pipeline again "
                "(Kubeflow: compile with the layout flags that match the corpus)")
        return classes


def _folder_of(split_pattern: str) -> str:
    return split_pattern.split("/", 1)[0]


SIDE_OUTPUTS = ("skipped", "fallback", "counts")
SHARD_PREFIX = "data_tfrecord"  # TFX's own name for a split's files
# A split's file holds the records of this many read batches at most (500 files each by default: 4 million
# documents), so a corpus of any size is written by several workers and no file grows without bound.
BATCHES_PER_SHARD = 8192


def _read_batch(index: int, batch: List[corpus.Document], max_file_bytes: int):
    """One batch of files: per output split, (shard, (batch index, serialized examples)); skips and counts too.

    Whole batches travel, not records: Beam's cost is per element, and a
    batch's records stay in listing order, so the files come out identical on
    any runner (see _write_shard).
    """
    records: Dict[str, List[bytes]] = collections.defaultdict(list)
    for item in corpus.read_documents(batch, max_file_bytes):
        if item[0] == "example":
            _, split, label, record = item
            records[split].append((label, record))
        elif item[0] == "skipped":
            yield beam.pvalue.TaggedOutput("skipped", json.dumps(dataclasses.asdict(item[1])))
        else:
            yield beam.pvalue.TaggedOutput("fallback", json.dumps({"path": item[1], "encoding": item[2]}))
    for split, labelled in sorted(records.items()):
        counts = collections.Counter(label for label, _ in labelled)
        for label, n in sorted(counts.items()):
            yield beam.pvalue.TaggedOutput("counts", f"{split}\t{label}\t{n}")
        yield beam.pvalue.TaggedOutput(split, (index // BATCHES_PER_SHARD, (index, [r for _, r in labelled])))


def _write_shard(shard_and_batches, split_uri: str) -> None:
    """One output file of a split: its batches' records in listing order (gzipped TFRecord, TFX's file name)."""
    shard, batches = shard_and_batches
    path = os.path.join(split_uri, f"{SHARD_PREFIX}-{shard:05d}.gz")
    # Level 1: five times faster than zlib's default 6 on IMDB's records, files 17% larger (bench/NOTES.md).
    with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type="GZIP", compression_level=1)) as out:
        for _, records in sorted(batches, key=lambda b: b[0]):
            for record in records:
                out.write(record)


def _listing_digest(docs: List[corpus.Document]) -> str:
    return hashlib.sha256("\n".join(f"{d.rel}\t{d.label}\t{d.split}" for d in docs).encode()).hexdigest()


class ReadBatches(beam.DoFn):
    """Reads a folder's batches of files by index.

    The listing is redone in `setup` (`lister`, a picklable call of a corpus
    scan: sorted, so the same batches) instead of travelling inside the
    pipeline: Beam pickles and bz2-compresses every transform's data, seconds
    for 50,000 paths. A folder that changed since the pipeline was built fails
    the run. `progress`, when given, is called after each batch with the files
    this worker had read before it, has read now, and the folder's total.
    """

    def __init__(self, lister: Callable[[], Tuple[List[corpus.Document], Any]], folder: str, digest: str,
                 batch_size: int, max_file_bytes: int, progress: Optional[Callable[[int, int, int], None]] = None):
        self._lister, self._folder, self._digest = lister, folder, digest
        self._batch_size, self._max_file_bytes, self._progress = batch_size, max_file_bytes, progress
        self._batches: List[List[corpus.Document]] = []
        self._done = 0  # files read by this instance (one per worker)

    def setup(self):
        docs, _ = self._lister()
        if _listing_digest(docs) != self._digest:
            raise corpus.CorpusError(
                f"{self._folder} changed while the run was reading it "
                f"(files added, removed or renamed); run again once it is stable")
        size = self._batch_size
        self._batches = [docs[i:i + size] for i in range(0, len(docs), size)]

    def process(self, index: int):
        yield from _read_batch(index, self._batches[index], self._max_file_bytes)
        if self._progress:
            before, self._done = self._done, self._done + len(self._batches[index])
            self._progress(before, self._done, sum(map(len, self._batches)))


def read_folder_batches(pipeline: beam.Pipeline, label: str, lister, docs: List[corpus.Document], folder: str,
                        splits: List[str], batch_size: int, max_file_bytes: int, progress=None):
    """The PCollections of one folder's reading: each split's (shard, (batch index, records)) and the side outputs."""
    n_batches = -(-len(docs) // batch_size)
    return (
        pipeline
        | f"ListBatches{label}" >> beam.Create(range(n_batches), reshuffle=False)
        | f"ReadFiles{label}" >> beam.ParDo(
            ReadBatches(lister, folder, _listing_digest(docs), batch_size, max_file_bytes, progress))
        .with_outputs(*splits, *SIDE_OUTPUTS)
    )


def write_split_files(batches, split_uri: str, label: str) -> None:
    """A split's (shard, (batch index, records)) to its gzipped TFRecord files."""
    fileio.makedirs(split_uri)
    _ = (batches | f"GroupShards{label}" >> beam.GroupByKey()
         | f"WriteShards{label}" >> beam.Map(_write_shard, split_uri))


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
def _ReadCorpusFolder(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_pattern: str):
    """Lists and reads one split folder; returns {split name: records, 'skipped'/'fallback'/'counts': lines}."""
    settings = IngestSettings.from_exec_properties(exec_properties)
    root = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    folder = _folder_of(split_pattern)
    classes = settings.check_layout(root)
    cuts = settings.cuts_for(folder)
    docs, skipped = corpus.scan_split_folder(root, folder, classes, cuts, settings.max_file_bytes,
                                             settings.exclude_dirs)
    listed = {d.label for d in docs}
    for label, name in enumerate(classes):
        if label not in listed:
            raise corpus.CorpusError(
                f"class folder {os.path.join(root, folder, name)} has no documents "
                f"({sum(1 for s in skipped if s.path.startswith(corpus.class_folder(folder, name)))} files skipped); "
                "add documents or remove the folder")
    logging.info("DirectoryExampleGen: %s/: %d files to read, %d skipped by listing", folder, len(docs), len(skipped))
    splits = [split for split, _ in cuts]
    lister = functools.partial(corpus.scan_split_folder, root, folder, classes, cuts, settings.max_file_bytes,
                               settings.exclude_dirs)
    read = read_folder_batches(pipeline, "", lister, docs, os.path.join(root, folder), splits,
                               settings.read_batch_size, settings.max_file_bytes)
    listing_skips = pipeline | "ListingSkips" >> beam.Create(
        [json.dumps(dataclasses.asdict(s)) for s in skipped], reshuffle=False)
    out = {split: read[split] for split in splits}
    out.update({kind: read[kind] for kind in SIDE_OUTPUTS})
    out["skipped"] = (read.skipped, listing_skips) | "AllSkips" >> beam.Flatten()
    return out


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Reads each source folder once, whole batches of records to their split's files; writes the ingestion report."""

    _parts_dir: Optional[str] = None

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _ReadCorpusFolder

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: Dict[str, Any]):
        """{split name: (shard, (batch index, records))}; the side outputs are written to the parts folder."""
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        split_names = [s.name for s in input_config.splits]
        folders = list(dict.fromkeys(_folder_of(s.pattern) for s in input_config.splits))

        read_folder = self.GetInputSourceToExamplePTransform()
        outputs = [pipeline | f"ReadFolder[{f}]" >> read_folder(exec_properties, f"{f}/*/*") for f in folders]

        write_side_outputs(pipeline, outputs, self._parts_dir)
        # Each split comes from one folder.
        return {name: next(o[name] for o in outputs if name in o) for name in split_names}

    def _write_examples(self, output_dict, exec_properties) -> None:
        """TFX's ExampleGen Do, with whole batches written per shard instead of one Beam element per record."""
        input_config, output_config = example_gen_pb2.Input(), example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        examples.split_names = artifact_utils.encode_split_names(
            example_gen_utils.generate_output_split_names(input_config, output_config))
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
        check_nothing_empty(report, settings)


def set_formats(examples) -> None:
    """What write_split_files writes: tf.Examples in gzipped TFRecords, as the artifact's properties say."""
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    examples_utils.set_file_format(examples, write_split.to_file_format_str(example_gen_pb2.FORMAT_TFRECORDS_GZIP))


def write_side_outputs(pipeline: beam.Pipeline, outputs: List[Dict[str, Any]], parts_dir: str) -> None:
    """Each side output of every folder's reading to one text file in `parts_dir` (see read_side_output)."""
    for kind in SIDE_OUTPUTS:
        # skip_if_empty: an empty file is a multipart upload of no parts on
        # s3://, which S3 (and MinIO) refuse; no file reads as no lines.
        ([o[kind] for o in outputs] | f"All[{kind}]" >> beam.Flatten(pipeline=pipeline)
         | f"Write[{kind}]" >> beam.io.WriteToText(os.path.join(parts_dir, kind), shard_name_template="",
                                                   skip_if_empty=True))


def read_side_output(parts_dir: str, kind: str) -> List[str]:
    """The lines write_side_outputs wrote for `kind` (none when it wrote no file)."""
    path = os.path.join(parts_dir, kind)
    if not fileio.exists(path):
        return []
    with fileio.open(path, "r") as f:
        return [line for line in f.read().splitlines() if line]


def build_report(root: str, layout: str, classes: List[str], split_names: List[str],
                 parts_dir: str) -> Dict[str, Any]:
    counts = {}
    for line in read_side_output(parts_dir, "counts"):
        split, label, n = line.split("\t")
        counts[(split, int(label))] = counts.get((split, int(label)), 0) + int(n)
    skipped = sorted((json.loads(s) for s in read_side_output(parts_dir, "skipped")), key=lambda s: s["path"])
    fallback = sorted((json.loads(s) for s in read_side_output(parts_dir, "fallback")), key=lambda s: s["path"])
    return {
        "corpus_root": str(root),
        "layout": layout,
        "class_names": classes,
        "documents": sum(counts.values()),
        "splits": corpus.count_table(counts, classes, split_names),
        "skipped": skipped,
        "decoded_with_fallback": fallback,
    }


def log_report(report: Dict[str, Any]) -> None:
    logging.info("DirectoryExampleGen: %d documents, classes %s; %s", report["documents"], report["class_names"],
                 report["layout"])
    for split, per_class in report["splits"].items():
        logging.info("  %-5s %s", split, ", ".join(f"{c}={n}" for c, n in per_class.items()))
    if report["skipped"]:
        logging.warning("DirectoryExampleGen: %d files skipped (listed in %s): %s", len(report["skipped"]),
                        REPORT_FILE, count_reasons(report["skipped"]))
    if report["decoded_with_fallback"]:
        logging.warning("DirectoryExampleGen: %d files were not UTF-8 and were decoded with a fallback "
                        "(listed in %s)", len(report["decoded_with_fallback"]), REPORT_FILE)


def count_reasons(skipped: List[Dict[str, str]]) -> str:
    """'binary file (NUL bytes): 1; empty or whitespace-only: 2' for a list of skipped files."""
    counts = collections.Counter(s["reason"] for s in skipped)
    return "; ".join(f"{reason}: {n}" for reason, n in sorted(counts.items()))


def check_nothing_empty(report: Dict[str, Any], settings: IngestSettings) -> None:
    """Every split and every class in it needs documents.

    The message itself says which files were skipped and why: TFX removes the
    outputs of a failed execution, the report with them.
    """
    for split, per_class in report["splits"].items():
        empty = [c for c, n in per_class.items() if n == 0]
        if not empty:
            continue
        prefixes = tuple(corpus.class_folder(settings.source_folder(split), c) for c in empty)
        skipped = [s for s in report["skipped"] if s["path"].startswith(prefixes)]
        shown = count_reasons(skipped) or "none"
        examples = ", ".join(s["path"] for s in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        raise corpus.CorpusError(
            f"class(es) {empty} have no documents in split '{split}' of {report['corpus_root']}; "
            f"files skipped there: {shown}{f' ({examples})' if examples else ''}. "
            "Add readable documents to those class folders, or lower --eval-percent if the class is small")


class _CorpusInputProcessor(input_processor.FileBasedInputProcessor):
    """The input fingerprint (ExampleGen's cache key) from every file of each source folder.

    TFX's default stats the files a split's pattern (`train/*/*`) globs: it
    misses files in nested folders, ignores renames and moves between class
    folders (same sizes and times), and fails the run on a link loop.
    """

    def resolve_span_and_version(self):
        folders = sorted({_folder_of(split.pattern) for split in self._splits})
        self._fingerprint = "; ".join(corpus.fingerprint_folder(self._input_base_uri, f) for f in folders)
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
        input_config = example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name=split, pattern=f"{settings.source_folder(split)}/*/*")
            for split in (corpus.TRAIN, corpus.EVAL, corpus.TEST)
        ])
        super().__init__(input_base=input_base, input_config=input_config,
                         custom_config=settings.to_custom_config())

