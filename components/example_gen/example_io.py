"""Reading a corpus's files and writing Examples with Beam, shared by both ExampleGens of this project.

DirectoryExampleGen (labelled class folders) and UnlabelledExampleGen (a folder
to label) read a listed folder in batches of files and write each split as
gzipped TFRecord files in listing order; the files skipped, decoded with a
fallback and counted travel as side outputs, written under PARTS_DIR while the
component runs and read back into its ingestion report.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

import apache_beam as beam
import tensorflow as tf
from apache_beam.transforms.window import GlobalWindows
from tfx.components.example_gen import write_split
from tfx.components.util import examples_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2

from components.example_gen import corpus, corpus_layout, listing
from components.example_gen.fingerprint_workers import FingerprintWorkers

PARTS_DIR = "_ingestion_parts"  # the side outputs' files while an ExampleGen runs


SIDE_OUTPUTS = ("skipped", "fallback", "counts")
STAGED = "staged"  # a read batch whose records wait for the split plan (components/example_gen/split_plan.py)
# A read batch's fingerprints, packed (fingerprint_workers.fingerprint_batch): each document's content key and
# MinHash signature (components/example_gen/fingerprints.py), for the split plan.
FINGERPRINTS = "fingerprints"
SHARD_PREFIX = "data_tfrecord"  # TFX's own name for a split's files
# A split's file holds the records of this many read batches at most (500 files each by default: 4 million
# documents), so a corpus of any size is written by several workers and no file grows without bound.
BATCHES_PER_SHARD = 8192
# A folder of fewer read batches is fingerprinted in the reading process (example_gen/fingerprint_workers.py).
MIN_BATCHES_FOR_WORKERS = 8


def _read_batch(
    index: int, batch: list[listing.Document], max_file_bytes: int, fingerprints: FingerprintWorkers | None
):
    """One batch of files: per output split, (shard, (batch index, serialized examples)); skips and counts too.

    Whole batches travel, not records: Beam's cost is per element, and a
    batch's records stay in listing order, so the files come out identical on
    any runner (see _write_shard). Staged (with `fingerprints`): the batch goes
    out whole as STAGED, (index, [(path, label, record)]), its documents' texts
    go to the fingerprint workers, and the fingerprints they have finished go out,
    for components/example_gen/split_plan.py to route once the whole corpus is read.
    """
    staged = fingerprints is not None
    records: dict[str, list[bytes]] = collections.defaultdict(list)
    items, texts = [], []
    for item in corpus.read_documents(batch, max_file_bytes):
        if item[0] == "example":
            _, split, label, record, text, rel = item
            if staged:
                items.append((rel, label, record))
                texts.append((rel, split, label, text))
            else:
                records[split].append((label, record))
        elif item[0] == "skipped":
            yield beam.pvalue.TaggedOutput("skipped", json.dumps(dataclasses.asdict(item[1])))
        else:
            yield beam.pvalue.TaggedOutput("fallback", json.dumps({"path": item[1], "encoding": item[2]}))
    if staged:
        yield beam.pvalue.TaggedOutput(STAGED, (index, items))
        for packed in fingerprints.submit(texts):
            yield beam.pvalue.TaggedOutput(FINGERPRINTS, packed)
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


def _listing_digest(docs: list[listing.Document]) -> str:
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

    def __init__(
        self,
        lister: Callable[[], tuple[list[listing.Document], Any]],
        folder: str,
        digest: str,
        batch_size: int,
        max_file_bytes: int,
        progress: Callable[[int, int, int], None] | None = None,
        staged: bool = False,
    ):
        self._lister, self._folder, self._digest, self._staged = lister, folder, digest, staged
        self._batch_size, self._max_file_bytes, self._progress = batch_size, max_file_bytes, progress
        self._batches: list[list[listing.Document]] = []
        self._fingerprints: FingerprintWorkers | None = None  # made in setup: pipes do not pickle
        self._done = 0  # files read by this instance (one per worker)

    def setup(self):
        docs, _ = self._lister()
        if _listing_digest(docs) != self._digest:
            raise corpus_layout.CorpusError(
                f"{self._folder} changed while the run was reading it "
                f"(files added, removed or renamed); run again once it is stable"
            )
        size = self._batch_size
        self._batches = [docs[i : i + size] for i in range(0, len(docs), size)]
        if self._staged:
            # A worker costs about 0.5 s to start and 500 fingerprints about 0.16 s: few batches stay inline.
            self._fingerprints = FingerprintWorkers(None if len(self._batches) >= MIN_BATCHES_FOR_WORKERS else 0)

    def process(self, index: int):
        yield from _read_batch(index, self._batches[index], self._max_file_bytes, self._fingerprints)
        if self._progress:
            before, self._done = self._done, self._done + len(self._batches[index])
            self._progress(before, self._done, sum(map(len, self._batches)))

    def finish_bundle(self):
        """The fingerprints still with the workers: a bundle's batches all have their fingerprints out at its end."""
        if self._fingerprints is not None:
            for packed in self._fingerprints.drain():
                yield beam.pvalue.TaggedOutput(FINGERPRINTS, GlobalWindows.windowed_value(packed))

    def teardown(self):
        if self._fingerprints is not None:
            self._fingerprints.close()


def read_folder_batches(
    pipeline: beam.Pipeline,
    label: str,
    lister,
    docs: list[listing.Document],
    folder: str,
    splits: list[str],
    batch_size: int,
    max_file_bytes: int,
    progress=None,
    staged: bool = False,
):
    """The PCollections of one folder's reading: each split's (shard, (batch index, records)) and the side outputs.

    `staged`: no split's records, but STAGED batches and their fingerprints (see _read_batch).
    """
    n_batches = -(-len(docs) // batch_size)
    return (
        pipeline
        | f"ListBatches{label}" >> beam.Create(range(n_batches), reshuffle=False)
        | f"ReadFiles{label}"
        >> beam.ParDo(
            ReadBatches(lister, folder, _listing_digest(docs), batch_size, max_file_bytes, progress, staged)
        ).with_outputs(*splits, *SIDE_OUTPUTS, *([STAGED, FINGERPRINTS] if staged else []))
    )


def write_split_files(batches, split_uri: str, label: str) -> None:
    """A split's (shard, (batch index, records)) to its gzipped TFRecord files."""
    fileio.makedirs(split_uri)
    _ = (
        batches
        | f"GroupShards{label}" >> beam.GroupByKey()
        | f"WriteShards{label}" >> beam.Map(_write_shard, split_uri)
    )


def set_formats(examples) -> None:
    """What write_split_files writes: tf.Examples in gzipped TFRecords, as the artifact's properties say."""
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    examples_utils.set_file_format(examples, write_split.to_file_format_str(example_gen_pb2.FORMAT_TFRECORDS_GZIP))


SIDE_OUTPUTS_FILE = "side_outputs"  # in the parts folder: every side output's lines, each after its kind and a tab


def write_side_outputs(pipeline: beam.Pipeline, outputs: dict[str, list], parts_dir: str) -> None:
    """Every side output, {kind: [PCollections of lines]}, to one text file in `parts_dir` (see read_side_outputs).

    One sink for all kinds: each of Beam's text sinks is several stages (write, then finalize), and four of them
    cost the ExampleGen about 0.5 s on IMDB (bench/NOTES.md, "ExampleGen's serial tail"). A line holds no
    newline (JSON, or tab-separated counts), so its kind is the text before its first tab.
    """
    tagged = [
        collection | f"Tag[{kind}][{i}]" >> beam.Map(lambda line, kind=kind: f"{kind}\t{line}")
        for kind, collections_of_kind in outputs.items()
        for i, collection in enumerate(collections_of_kind)
    ]
    # skip_if_empty: an empty file is a multipart upload of no parts on
    # s3://, which S3 (and MinIO) refuse; no file reads as no lines.
    (
        tagged
        | "AllSideOutputs" >> beam.Flatten(pipeline=pipeline)
        | "WriteSideOutputs"
        >> beam.io.WriteToText(os.path.join(parts_dir, SIDE_OUTPUTS_FILE), shard_name_template="", skip_if_empty=True)
    )


def read_side_outputs(parts_dir: str) -> dict[str, list[str]]:
    """{kind: its lines in the file's order} of what write_side_outputs wrote, the file read once (a kind with no
    line, or no file at all, reads as no lines)."""
    lines: dict[str, list[str]] = collections.defaultdict(list)
    path = os.path.join(parts_dir, SIDE_OUTPUTS_FILE)
    if fileio.exists(path):
        with fileio.open(path, "r") as f:
            for line in f.read().splitlines():
                kind, _, text = line.partition("\t")
                lines[kind].append(text)
    return lines


def count_reasons(skipped: list[dict[str, str]]) -> str:
    """'binary file (NUL bytes): 1; empty or whitespace-only: 2' for a list of skipped files."""
    counts = collections.Counter(s["reason"] for s in skipped)
    return "; ".join(f"{reason}: {n}" for reason, n in sorted(counts.items()))
