"""Command line of `run_local.py`: resolve the corpus, build the pipeline, run it, summarise."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional

from pipeline import configs, datasets, run_summary


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="run_local.py", description=__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", choices=sorted(configs.DATASETS), help="a known corpus, acquired and cached")
    src.add_argument("--data-dir", type=Path, help="a corpus folder holding train/<class>/<file> (and test/)")
    p.add_argument("--name", help="run name: pipeline name suffix and folder under --work-dir "
                                  "(default: the dataset name or the data folder's name)")
    p.add_argument("--work-dir", type=Path, default=configs.DEFAULT_WORK_DIR,
                   help="where pipeline roots and metadata live (default: %(default)s)")
    p.add_argument("--pipeline-root", type=Path, help="default: WORK_DIR/NAME/pipeline_root")
    p.add_argument("--metadata", type=Path, help="SQLite ML Metadata file (default: WORK_DIR/NAME/metadata.sqlite)")
    p.add_argument("--mirror", help=f"directory or URL prefix holding the archives (default: ${datasets.MIRROR_ENV})")
    p.add_argument("--data-cache", type=Path, default=None,
                   help=f"where acquired corpora are cached (default: {configs.DEFAULT_DATA_CACHE})")
    p.add_argument("--schema", help="curated schema name under schemas/ or a schema.pbtxt path "
                                    "(default: the dataset's, 'generic' for --data-dir)")
    p.add_argument("--exclude-dir", action="append", default=None,
                   help="folder of train/ that is not a class (repeatable; IMDB: unsup)")
    p.add_argument("--eval-percent", type=int, default=configs.IngestConfig.eval_percent)
    p.add_argument("--max-file-bytes", type=int, default=configs.IngestConfig.max_file_bytes)
    p.add_argument("--beam-arg", action="append", default=None,
                   help="a Beam pipeline arg, repeatable, e.g. --beam-arg=--runner=PortableRunner")
    p.add_argument("--until", choices=("validation", "push"), default="push",
                   help="'validation': stop after ExampleValidator (check the data only)")
    p.add_argument("--no-cache", action="store_true", help="re-run every component")
    p.add_argument("--summary", type=Path, help="also write the run summary as JSON here")
    p.add_argument("-v", "--verbose", action="store_true", help="show TFX and Beam logs")
    return p.parse_args(argv)


def resolve_corpus(args: argparse.Namespace):
    """Returns (corpus root, run name, schema file, exclude dirs)."""
    if args.dataset:
        spec = configs.DATASETS[args.dataset]
        root = datasets.acquire(args.dataset, mirror=args.mirror, cache_dir=args.data_cache)
        name, schema, exclude = args.name or spec.name, args.schema or spec.schema, spec.exclude_dirs
    else:
        root = args.data_dir.expanduser().resolve()
        name, schema, exclude = args.name or root.name, args.schema or "generic", ()
    if args.exclude_dir is not None:
        exclude = tuple(args.exclude_dir)
    schema_file = Path(schema) if schema.endswith(".pbtxt") else configs.schema_path(schema)
    if not schema_file.is_file():
        raise FileNotFoundError(f"--schema {schema}: no such file")
    return Path(root).resolve(), name, schema_file.resolve(), exclude


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    _quiet_logs(args.verbose)
    from components import corpus  # noqa: WPS433 (imports TensorFlow: after the log settings)

    try:
        root, name, schema_file, exclude = resolve_corpus(args)
        ingest = configs.IngestConfig(exclude_dirs=exclude, eval_percent=args.eval_percent,
                                      max_file_bytes=args.max_file_bytes)
        ingest.validate()
        # Fail before any component starts when the layout itself is wrong.
        classes = corpus.discover_classes(root, ingest.train_dir, ingest.exclude_dirs)
        has_test = (root / ingest.test_dir).is_dir()
        if has_test:
            corpus.check_same_classes(root, ingest.train_dir, ingest.test_dir, classes, ingest.exclude_dirs)
    except (datasets.AcquisitionError, corpus.CorpusError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    run_dir = args.work_dir / name
    pipeline_root = (args.pipeline_root or run_dir / "pipeline_root").resolve()
    metadata_path = (args.metadata or run_dir / "metadata.sqlite").resolve()
    metadata_path.parent.mkdir(parents=True, exist_ok=True)
    pipeline_name = f"{configs.PIPELINE_NAME}-{name}"
    print(f"corpus {root}: classes {classes}{'' if has_test else ' (no test/ folder: test is a hash split)'}")

    from tfx import v1 as tfx  # noqa: WPS433
    from pipeline.pipeline import create_pipeline  # noqa: WPS433

    pipeline = create_pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=str(pipeline_root),
        data_root=str(root),
        schema_file=str(schema_file),
        ingest=ingest,
        has_test_dir=has_test,
        beam_pipeline_args=args.beam_arg if args.beam_arg is not None else configs.DEFAULT_BEAM_ARGS,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(str(metadata_path)),
        enable_cache=not args.no_cache,
        until=args.until,
    )
    started = time.monotonic()
    failure = None
    try:
        tfx.orchestration.LocalDagRunner().run(pipeline)
    except Exception as err:  # noqa: BLE001 - any component failure ends here, with its message
        failure = f"{type(err).__name__}: {err}"
    wall = time.monotonic() - started

    summary = build_summary(str(metadata_path), pipeline_name, wall, failure)
    print_summary(summary)
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(summary, indent=2))
    return 1 if failure else 0


def build_summary(metadata_path: str, pipeline_name: str, wall: float, failure: Optional[str]) -> Dict:
    store = run_summary.sqlite_store(metadata_path)
    run_id = run_summary.latest_run_id(store, pipeline_name)
    rows = run_summary.component_executions(store, run_id) if run_id else []
    summary: Dict = {"pipeline": pipeline_name, "run_id": run_id, "wall_seconds": round(wall, 2),
                     "components": rows, "failure": failure}
    for row in rows:
        if row["component"] == "DirectoryExampleGen" and row["state"] in ("ran", "cached"):
            for artifact in run_summary.output_artifacts(store, row["execution_id"]):
                report = os.path.join(artifact.uri, "ingestion_report.json")
                if os.path.isfile(report):
                    with open(report) as f:
                        data = json.load(f)
                    summary["ingestion"] = {
                        "examples_uri": artifact.uri,
                        "class_names": data["class_names"],
                        "documents": data["documents"],
                        "splits": data["splits"],
                        "skipped": len(data["skipped"]),
                        "decoded_with_fallback": len(data["decoded_with_fallback"]),
                        "report": report,
                    }
    return summary


def print_summary(summary: Dict) -> None:
    print()
    print(f"pipeline {summary['pipeline']}  run {summary['run_id']}  wall {summary['wall_seconds']:.1f} s")
    if summary["components"]:
        print(run_summary.format_table(summary["components"]))
    ingestion = summary.get("ingestion")
    if ingestion:
        print(f"ingested {ingestion['documents']} documents, {ingestion['skipped']} files skipped, "
              f"{ingestion['decoded_with_fallback']} decoded with a fallback (report: {ingestion['report']})")
        for split, per_class in ingestion["splits"].items():
            print(f"  {split:<5} " + "  ".join(f"{c}={n}" for c, n in per_class.items()))
    if summary["failure"]:
        print(f"\nFAILED: {summary['failure']}", file=sys.stderr)


def _quiet_logs(verbose: bool) -> None:
    if not verbose:  # google-cloud and TF deprecation notices drown the summary
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1" if verbose else "2")
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    try:
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.WARNING)
    except ImportError:
        pass
