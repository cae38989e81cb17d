"""Apply the retention policy to a run folder now, the way each run applies it when it ends.

    python -m tools.retire --name imdb [--keep-runs 5] [--keep-versions 3] [--dry-run]

What goes and what never does: pipeline/retention.py. Takes the run lock, so
it never removes anything of a run that is writing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.retention_policy import RetentionPolicy
from pipeline import configs, quiet, run_lock, run_request


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tools.retire", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--name", required=True, help="run name under --work-dir (run_local.py's --name)")
    p.add_argument(
        "--work-dir",
        type=Path,
        default=configs.DEFAULT_WORK_DIR,
        help="run_local.py's work folder (default: %(default)s)",
    )
    run_request.add_knob_flags(p, RetentionPolicy)
    p.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    quiet.add_flag(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet.setup(args.verbose)
    paths = configs.RunPaths(args.work_dir, args.name)
    try:
        policy = run_request.given(args, RetentionPolicy)
        if not paths.metadata.is_file():
            raise ValueError(f"{paths.metadata}: no ML Metadata there; check --work-dir and --name")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from pipeline import retention

    pipeline_name = f"{configs.PIPELINE_NAME}-{args.name}"
    try:
        with run_lock.hold(run_lock.lock_files(paths.pipeline_root, paths.metadata), 0.0, on_wait=lambda _: None):
            store = retention.writable_store(str(paths.metadata))
            plan = retention.plan(store, pipeline_name, str(paths.serving), policy)
            if not args.dry_run:
                retention.apply(store, str(paths.serving), plan)
    except run_lock.LockBusy as err:
        print(f"error: {err}", file=sys.stderr)
        return run_lock.EXIT_BUSY
    for uri in [a.uri for a in plan.artifacts] + [str(paths.serving / v) for v in plan.versions]:
        print(("would remove " if args.dry_run else "removed ") + uri)
    print(retention.describe(plan.to_json(), dry_run=args.dry_run))
    return 0


if __name__ == "__main__":
    quiet.exit_with(main)
