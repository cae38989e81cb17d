"""Label a folder of text files with a trained model: TFX's BulkInferrer, recorded in ML Metadata.

    python -m tools.infer --name imdb --data-dir ~/new-reviews
    python -m tools.infer --name imdb --data-dir ~/new-reviews --version 1764000000 --output labels

The model is the one the serving folder serves (the latest pushed, hence
blessed, version of run_local.py's run NAME), or the pushed version named by
--version. Every file under --data-dir, at any depth, is read with the
training corpus's file policy; each file not read is reported with its
reason. Writes OUTPUT.jsonl and OUTPUT.csv (default OUTPUT:
runs/NAME/predictions/<folder name>): one row per file read, sorted by path,
with the predicted class, each class's probability, the number of tokens
the model averaged (0: a text with no tokens, answered from the model's bias
alone, see models/model.py) and the model version. An --output that is a
folder (or ends with '/') gets <folder name>.jsonl and .csv inside it.
`python -m tools.inspect lineage --model <serving dir>/<version>` lists
the folders a model labelled.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

from components.example_gen.settings import IngestConfig
from pipeline import component_ids as ids
from pipeline import configs, executor_process, output_files, quiet, run_lock, temp_folder
from pipeline.recorded import mlmd
from tools.predictions import (
    NOT_WRITTEN,
    InferError,
    output_prefix,
    prediction_files,
    prediction_rows,
    record,
    write_predictions,
)

INFERENCE_PIPELINE_SUFFIX = "-inference"
SHOWN_SKIPS = 20  # skipped files listed one per line up to this many; all are in the ingestion report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tools.infer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data-dir", type=Path, required=True, help="the folder of text files to label (any depth)")
    p.add_argument("--work-dir", type=Path, default=configs.DEFAULT_WORK_DIR, help="default: %(default)s")
    p.add_argument("--name", default="imdb", help="the training run's name under --work-dir (default: %(default)s)")
    p.add_argument("--version", help="a pushed version (a folder name under the serving folder; default: the newest)")
    p.add_argument(
        "--output",
        help="prefix of the .jsonl and .csv written, or a folder to write them in "
        "(default: WORK_DIR/NAME/predictions/<folder name>)",
    )
    p.add_argument(
        "--max-file-bytes",
        type=int,
        default=IngestConfig.max_file_bytes,
        help="larger files are skipped and reported (default: %(default)s)",
    )
    quiet.add_flag(p)
    return p.parse_args(argv)


def pushed_model(store, version: str | None) -> tuple[object, object, object]:
    """(PushedModel, Model, ModelBlessing) artifacts of the newest push, or of `version`."""
    pushed = [a for a in store.get_artifacts_by_type("PushedModel") if mlmd.custom_property(a, "pushed")]
    versions = sorted(str(mlmd.custom_property(a, "pushed_version")) for a in pushed)
    if version is not None:
        pushed = [a for a in pushed if str(mlmd.custom_property(a, "pushed_version")) == version]
        if not pushed:
            raise InferError(
                f"--version {version}: this run pushed no such version; pushed versions: "
                f"{', '.join(versions) or 'none'}"
            )
    if not pushed:
        raise InferError("this run has pushed no model yet; train one first (run_local.py)")
    chosen = max(pushed, key=lambda a: (int(mlmd.custom_property(a, "pushed_version") or 0), a.id))
    inputs = mlmd.input_artifacts(store, mlmd.producer(store, chosen.id).id)
    return chosen, inputs["model"][0], inputs["model_blessing"][0]


def accounting(rows: list[dict], report: dict, class_names: list[str]) -> list[str]:
    """What became of every file under the folder: labelled (by class), not labelled (by reason), decoded
    with a fallback, without tokens; the skipped files one per line (up to SHOWN_SKIPS)."""
    from components.example_gen.example_io import count_reasons

    skipped, fallback = report.get("skipped", []), report.get("decoded_with_fallback", [])
    counts = ", ".join(f"{c} {sum(r['class'] == c for r in rows)}" for c in class_names)
    lines = [f"labelled {len(rows)} of {len(rows) + len(skipped)} files: {counts}"]
    if skipped:
        lines.append(f"{_files(len(skipped))} not labelled ({count_reasons(skipped)}):")
        lines += [f"  {s['path']}: {s['reason']}" for s in skipped[:SHOWN_SKIPS]]
        if len(skipped) > SHOWN_SKIPS:
            lines.append(f"  ... and {len(skipped) - SHOWN_SKIPS} more (all in {report['uri']})")
    if fallback:
        encodings = collections.Counter(f["encoding"] for f in fallback)
        lines.append(
            f"{_files(len(fallback))} {'was' if len(fallback) == 1 else 'were'} not UTF-8 and decoded as "
            + ", ".join(f"{e} ({n})" for e, n in sorted(encodings.items()))
            + ": "
            + ", ".join(f["path"] for f in fallback[:SHOWN_SKIPS])
            + (", ..." if len(fallback) > SHOWN_SKIPS else "")
        )
    empty = [r["path"] for r in rows if r.get("token_count") == 0]
    if empty:
        lines.append(
            f"{_files(len(empty))} had no tokens and {'was' if len(empty) == 1 else 'were'} answered from the model's "
            "bias alone: " + ", ".join(empty[:SHOWN_SKIPS]) + (", ..." if len(empty) > SHOWN_SKIPS else "")
        )
    return lines


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet.setup(args.verbose)
    folder = args.data_dir.expanduser().resolve()
    paths = configs.RunPaths(args.work_dir, args.name)
    metadata_path, pipeline_root = paths.metadata.resolve(), paths.pipeline_root.resolve()
    try:
        if not folder.is_dir():
            what = "a file, not a folder" if folder.exists() else "no such folder"
            raise InferError(f"--data-dir {args.data_dir}: {what}; pass the folder of text files to label")
        ingest = IngestConfig(max_file_bytes=args.max_file_bytes)
        ingest.validate()
        prefix = output_prefix(args.output, paths, folder)
        for path in prediction_files(prefix):
            output_files.check_writable(path, "--output", "labels")
        if not metadata_path.is_file():
            raise InferError(
                f"{metadata_path} does not exist: no run named '{args.name}' under {args.work_dir}; "
                "pass the --work-dir and --name of a run_local.py run"
            )
        pushed, model, blessing = pushed_model(mlmd.sqlite_store(str(metadata_path)), args.version)
        _check_something_to_label(folder, args)
    except (InferError, ValueError) as err:  # OutputPathError, StoreError and the settings' are ValueErrors
        print(f"error: {err}", file=sys.stderr)
        return 2
    version = str(mlmd.custom_property(pushed, "pushed_version"))
    from models.features import CLASS_NAMES_FILE

    class_names = json.loads(Path(model.uri, "Format-Serving", "assets.extra", CLASS_NAMES_FILE).read_text())

    from tfx.orchestration import metadata  # slow import, after the checks
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from models.features import REPORT_FILE
    from pipeline.pipeline import create_inference_pipeline

    pipeline_name = f"{configs.PIPELINE_NAME}-{args.name}{INFERENCE_PIPELINE_SUFFIX}"
    pipeline = create_inference_pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=str(pipeline_root),
        data_root=str(folder),
        model_uri=model.uri,
        blessing_uri=blessing.uri,
        ingest=ingest,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(str(metadata_path)),
    )
    print(f"labelling {folder} with model version {version} ({model.uri}), classes {class_names}", file=sys.stderr)
    started = time.monotonic()
    try:
        with run_lock.hold(
            run_lock.lock_files(pipeline_root, metadata_path),
            0.0,
            on_wait=lambda line: print(line, file=sys.stderr, flush=True),
        ):
            executor_process.install()
            with temp_folder.run_folder():
                LocalDagRunner().run(pipeline)
    except run_lock.LockBusy as err:
        print(f"error: {err}", file=sys.stderr)
        return run_lock.EXIT_BUSY
    except Exception as err:  # noqa: BLE001 - a component's failure ends here, with its message
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    store = mlmd.sqlite_store(str(metadata_path))
    done = {r["component"]: r for r in mlmd.component_executions(store, mlmd.latest_run_id(store, pipeline_name))}
    examples = mlmd.output_artifacts(store, done[ids.UNLABELLED_EXAMPLE_GEN]["execution_id"])[0]
    inference = mlmd.output_artifacts(store, done[ids.BULK_INFERRER]["execution_id"])[0]
    print("writing predictions", file=sys.stderr, flush=True)
    try:
        rows = prediction_rows(inference.uri, class_names, version)
    except InferError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        jsonl, table = write_predictions(rows, class_names, prefix)
    except OSError as err:  # checked before the run; the disk can still fill or the folder go away
        record(metadata_path, done[ids.BULK_INFERRER]["execution_id"], f"{NOT_WRITTEN}: {err}")
        print(f"error: writing predictions to {prefix}: {err}", file=sys.stderr)
        return 1
    record(metadata_path, done[ids.BULK_INFERRER]["execution_id"], str(jsonl))
    report_file = os.path.join(examples.uri, REPORT_FILE)
    with open(report_file) as f:
        report = {**json.load(f), "uri": report_file}
    print("\n".join(accounting(rows, report, class_names)))
    print(f"model version {version}, {time.monotonic() - started:.1f} s\nwrote {jsonl}\nwrote {table}")
    return 0


def _check_something_to_label(folder: Path, args: argparse.Namespace) -> None:
    """Refuses, before any component starts, a folder that holds no file to read (the listing alone)."""
    from components.example_gen import listing
    from components.example_gen.example_io import count_reasons

    docs, skipped = listing.scan_unlabelled(folder, args.max_file_bytes)
    if not docs:
        reasons = count_reasons([{"path": s.path, "reason": s.reason} for s in skipped])
        raise InferError(
            f"--data-dir {args.data_dir}: no file to label"
            + (f" ({len(skipped)} not read: {reasons})" if skipped else " (the folder is empty)")
            + "; pass a folder of text files"
        )


if __name__ == "__main__":
    quiet.exit_with(main)
