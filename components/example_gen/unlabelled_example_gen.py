"""UnlabelledExampleGen: a folder of texts to label, at any depth, as one `unlabelled` split of Examples.

Each example holds `text` and `path` (the file's path relative to the folder),
plus the features DirectoryExampleGen computes; no label. The file policy is
the training corpus's (components/example_gen/listing.py and corpus.py): every file not read is listed,
with its reason, in the artifact's `ingestion_report.json`. Reading shows its
progress on stderr. The component always runs (no cache): a folder to label is
read as it is now.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_beam_component, base_beam_executor, executor_spec
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.example_gen import corpus_layout, listing
from components.example_gen.example_io import (
    PARTS_DIR,
    SIDE_OUTPUTS,
    count_reasons,
    read_folder_batches,
    read_side_outputs,
    set_formats,
    write_side_outputs,
    write_split_files,
)
from models.features import REPORT_FILE

PROGRESS_EVERY = 5000  # files


def print_progress(before: int, done: int, total: int) -> None:
    """Reading progress on stderr, every PROGRESS_EVERY files and at the end (picklable: Beam ships it)."""
    if done == total or before // PROGRESS_EVERY != done // PROGRESS_EVERY:
        print(f"  read {done:,} of {total:,} files", file=sys.stderr, flush=True)


class UnlabelledExampleGenSpec(types.ComponentSpec):
    PARAMETERS = {
        "input_base": ExecutionParameter(type=str),
        "max_file_bytes": ExecutionParameter(type=int),
        "read_batch_size": ExecutionParameter(type=int),
    }
    INPUTS: dict[str, ChannelParameter] = {}
    OUTPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples)}


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        root = exec_properties["input_base"]
        max_bytes, batch_size = int(exec_properties["max_file_bytes"]), int(exec_properties["read_batch_size"])
        docs, listing_skips = listing.scan_unlabelled(root, max_bytes)
        if not docs:
            raise corpus_layout.CorpusError(
                f"{root} holds no file to label ({len(listing_skips)} skipped: "
                f"{count_reasons([dataclasses.asdict(s) for s in listing_skips]) or 'none'})"
            )
        examples = artifact_utils.get_single_instance(output_dict["examples"])
        examples.split_names = artifact_utils.encode_split_names([listing.UNLABELLED])
        parts_dir = os.path.join(examples.uri, PARTS_DIR)
        print(
            f"  reading {len(docs):,} files under {root}"
            + (f" ({len(listing_skips):,} others not read: listed at the end)" if listing_skips else ""),
            file=sys.stderr,
            flush=True,
        )
        with self._make_beam_pipeline() as pipeline:
            lister = functools.partial(listing.scan_unlabelled, root, max_bytes)
            read = read_folder_batches(
                pipeline, "", lister, docs, root, [listing.UNLABELLED], batch_size, max_bytes, progress=print_progress
            )
            write_split_files(
                read[listing.UNLABELLED], artifact_utils.get_split_uri([examples], listing.UNLABELLED), ""
            )
            write_side_outputs(pipeline, {kind: [read[kind]] for kind in SIDE_OUTPUTS}, parts_dir)
        set_formats(examples)

        sides = read_side_outputs(parts_dir)
        read_skips = [json.loads(line) for line in sides["skipped"]]
        skipped = sorted([dataclasses.asdict(s) for s in listing_skips] + read_skips, key=lambda s: s["path"])
        counts = sides["counts"]
        report = {
            "folder": str(root),
            "documents": sum(int(line.split("\t")[2]) for line in counts),
            "skipped": skipped,
            "decoded_with_fallback": sorted((json.loads(line) for line in sides["fallback"]), key=lambda s: s["path"]),
        }
        fileio.rmtree(parts_dir)
        if not report["documents"]:
            raise corpus_layout.CorpusError(f"{root}: no file could be read as text ({count_reasons(skipped)})")
        with fileio.open(os.path.join(examples.uri, REPORT_FILE), "w") as f:
            f.write(json.dumps(report, indent=2, ensure_ascii=False))
        examples.set_int_custom_property("num_documents", report["documents"])
        examples.set_int_custom_property("num_skipped", len(skipped))


class UnlabelledExampleGen(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = UnlabelledExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, input_base: str, max_file_bytes: int, read_batch_size: int):
        super().__init__(
            spec=UnlabelledExampleGenSpec(
                input_base=input_base,
                max_file_bytes=max_file_bytes,
                read_batch_size=read_batch_size,
                examples=types.Channel(type=standard_artifacts.Examples),
            )
        )
