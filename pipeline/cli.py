"""Command line of `run_local.py`: resolve the corpus, build the pipeline, run it, summarise."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

from components.retention_policy import RetentionPolicy
from pipeline import configs, executor_process, quiet, run_lock, run_request, run_summary, startup, temp_folder
from pipeline.corpora import datasets, downloads

DESCRIPTION = """Train, check, gate and push a text classifier from a folder of labelled text (one folder per class),
with TFX on this machine. Examples:
  run_local.py --dataset imdb
  run_local.py --data-dir ~/corpora/tickets --recipe tutorial
  run_local.py --data-dir ~/corpora/tickets --until validation     # check the data only"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="run_local.py", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    corpus = p.add_argument_group("corpus (one of --dataset and --data-dir)")
    src = corpus.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", choices=sorted(configs.DATASETS), help="a known corpus, acquired and cached")
    src.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="a corpus folder holding train/<class>/<file> (and test/)"
    )
    corpus.add_argument(
        "--mirror",
        metavar="DIR_OR_URL",
        help=f"directory or URL prefix holding the archives (default: ${downloads.MIRROR_ENV})",
    )
    corpus.add_argument(
        "--data-cache",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"where acquired corpora are cached (default: {configs.DEFAULT_DATA_CACHE})",
    )
    places = p.add_argument_group("where the run lives")
    places.add_argument(
        "--name",
        help="run name: pipeline name suffix and folder under --work-dir "
        "(default: the dataset name or the data folder's name)",
    )
    places.add_argument(
        "--work-dir",
        type=Path,
        default=configs.DEFAULT_WORK_DIR,
        metavar="DIR",
        help="where pipeline roots and metadata live (default: %(default)s)",
    )
    places.add_argument("--pipeline-root", type=Path, metavar="DIR", help="default: WORK_DIR/NAME/pipeline_root")
    places.add_argument(
        "--metadata", type=Path, metavar="FILE", help="SQLite ML Metadata file (default: WORK_DIR/NAME/metadata.sqlite)"
    )
    places.add_argument(
        "--serving-dir",
        type=Path,
        metavar="DIR",
        help="where blessed models are pushed (default: WORK_DIR/NAME/serving)",
    )
    run_request.add_flags(p)
    run_request.add_knob_flags(p, RetentionPolicy)
    running = p.add_argument_group("running")
    running.add_argument(
        "--until",
        choices=("validation", "push"),
        default="push",
        help="'validation': stop after ExampleValidator (check the data only) (default: %(default)s)",
    )
    running.add_argument("--no-cache", action="store_true", help="re-run every component")
    running.add_argument(
        "--wait-for-lock",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another run holds this pipeline root, wait up to this long for it "
        f"(default: stop at once, exit {run_lock.EXIT_BUSY})",
    )
    running.add_argument("--summary", type=Path, metavar="FILE", help="also write the run summary as JSON here")
    quiet.add_flag(running)
    return p.parse_args(argv)


def resolve_corpus(args: argparse.Namespace) -> tuple[Path, str, configs.DatasetSpec | None]:
    """Returns (corpus root, run name, the known dataset or None); acquires a known dataset."""
    if args.dataset:
        spec = configs.DATASETS[args.dataset]
        root = datasets.acquire(args.dataset, mirror=args.mirror, cache_dir=args.data_cache)
        return Path(root).resolve(), args.name or spec.name, spec
    root = args.data_dir.expanduser().resolve()
    return root, args.name or root.name, None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet.setup(args.verbose)
    with startup.imports_without_gc():
        from components.example_gen import corpus, corpus_layout  # corpus imports TensorFlow: after the log settings

    try:
        root, name, dataset = resolve_corpus(args)
        request = run_request.resolve(args, dataset)
        policy = run_request.given(args, RetentionPolicy)
        ingest = request.ingest
        # Fail before any component starts when the layout itself is wrong.
        layout, classes = corpus_layout.detect_layout(root, ingest.eval_dir, ingest.exclude_dirs)
        for folder in layout.folders():
            corpus_layout.check_classes_have_files(root, folder, classes)
        corpus.check_every_split_gets_each_class(
            root, layout, classes, ingest.eval_percent, ingest.test_percent, ingest.max_file_bytes, ingest.exclude_dirs
        )
    except (downloads.AcquisitionError, corpus_layout.CorpusError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    paths = configs.RunPaths(args.work_dir, name)
    pipeline_root = (args.pipeline_root or paths.pipeline_root).resolve()
    metadata_path = (args.metadata or paths.metadata).resolve()
    serving_dir = (args.serving_dir or paths.serving).resolve()
    metadata_path.parent.mkdir(parents=True, exist_ok=True)
    pipeline_name = f"{configs.PIPELINE_NAME}-{name}"
    print(f"corpus {root}: classes {classes}; {layout.describe(ingest.eval_percent, ingest.test_percent)}")
    for line in run_request.notices(request):
        print(line, file=sys.stderr)

    with startup.imports_without_gc():
        from tfx.orchestration import metadata
        from tfx.orchestration.local.local_dag_runner import LocalDagRunner

        from pipeline.pipeline import create_pipeline

    pipeline = create_pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=str(pipeline_root),
        data_root=str(root),
        serving_dir=str(serving_dir),
        num_classes=len(classes),
        request=request,
        layout=layout,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(str(metadata_path)),
        enable_cache=not args.no_cache,
        until=args.until,
    )
    try:
        with run_lock.hold(
            run_lock.lock_files(pipeline_root, metadata_path),
            args.wait_for_lock,
            on_wait=lambda line: print(line, file=sys.stderr, flush=True),
        ):
            started = time.monotonic()
            failure = None
            try:
                executor_process.install()
                with temp_folder.run_folder():  # the libraries' temp files, removed when the run ends
                    LocalDagRunner().run(pipeline)
            except Exception as err:  # noqa: BLE001 - any component failure ends here, with its message
                failure = f"{type(err).__name__}: {err}"
                if args.verbose:  # the whole chain of causes (Beam wraps a component's error in its own)
                    traceback.print_exc()
            wall = time.monotonic() - started
            summary = run_summary.build_summary(str(metadata_path), pipeline_name, wall, failure, classes)
            from pipeline import retention  # under the lock: no run of this root is writing

            try:
                retired = retention.retire(str(metadata_path), pipeline_name, str(serving_dir), policy)
                summary["retention"] = retired.to_json()
            except Exception as err:  # noqa: BLE001 - the run's result stands; the next run retries
                summary["retention"] = {"error": f"{type(err).__name__}: {err}"}
    except run_lock.LockBusy as err:
        print(f"error: {err}", file=sys.stderr)
        return run_lock.EXIT_BUSY

    run_summary.print_summary(summary)
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(summary, indent=2))
    return 1 if failure else 0
