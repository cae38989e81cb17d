"""Look at an evaluated model: TFMA slices, run history and lineage, as tables, JSON or an HTML report.

    python -m tools.inspect slices  --name imdb [--run RUN_ID] [--slice-by label] [--json]
    python -m tools.inspect report  --name imdb --html report.html
    python -m tools.inspect runs    --name imdb [--json]
    python -m tools.inspect lineage --model runs/imdb/serving[/1764000000] [--json]

A run is found in ML Metadata: --metadata FILE, or --work-dir/--name as
run_local.py lays them out (runs/NAME/metadata.sqlite). The latest run with an
evaluation is used unless --run names one. `lineage --model` takes a serving
folder (its newest version) or one version's folder; a work folder that was
moved or copied is still found (by the version's name, since ML Metadata keeps
the absolute paths of the run that pushed it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.features import TEST_ACCURACY_PROPERTY
from pipeline import component_ids as ids
from pipeline import configs, output_files, quiet
from pipeline.recorded import mlmd, tfma_results
from tools.evaluations import COUNT_METRICS, InspectError, executions_of_run, fmt, open_store, slices_table
from tools.lineage import format_lineage, lineage
from tools.predictions import NOT_WRITTEN, PREDICTIONS_PROPERTY


def format_slices(table: dict) -> str:
    lines = [
        f"run {table['run_id']}  evaluation {table['evaluation_uri']}",
        f"blessed: {'yes' if table['blessed'] else 'no'}",
    ] + [f"  failed: {f}" for f in table["failures"]]
    header = f"{'slice':<24} {'examples':>9}  {'metric':<34} {'value':>9} {'baseline':>9} {'diff':>9}  threshold"
    lines += ["", header, "-" * len(header)]
    for s in table["slices"]:
        count = s["example_count"]
        name = s["slice"] if s.get("value_name") in (None, s["value"]) else f"{s['slice']} ({s['value_name']})"
        for i, (metric, m) in enumerate(sorted(s["metrics"].items())):
            lines.append(
                f"{name if i == 0 else '':<24} {(f'{count:.0f}' if count is not None and i == 0 else ''):>9}  "
                f"{metric:<34} {fmt(m['value'], count=metric in COUNT_METRICS):>9} "
                f"{fmt(m.get('baseline'), count=metric in COUNT_METRICS):>9} "
                f"{fmt(m.get('diff'), True, count=metric in COUNT_METRICS):>9}  "
                f"{m.get('threshold', '')}"
            )
    return "\n".join(lines)


# ------------------------------------------------------------------ runs


def runs_table(store) -> list[dict]:
    rows = []
    for ctx in sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: (c.create_time_since_epoch, c.id)):
        execs = executions_of_run(store, ctx.name)
        row: dict = {
            "run_id": ctx.name,
            "kind": "training",
            "pipeline": None,
            "dataset": None,
            "test_accuracy": None,
            "blessed": None,
            "pushed_version": None,
            "labelled": None,
            "states": {n: mlmd.STATES.get(e.last_known_state, "?") for n, e in execs.items()},
            # pipeline/retention.py removed its bulky artifacts (examples, models); its evaluation stays
            "retired": any(a.state == a.DELETED for e in execs.values() for a in mlmd.output_artifacts(store, e.id)),
        }
        pipes = [c.name for c in store.get_parent_contexts_by_context(ctx.id) if c.type == "pipeline"]
        row["pipeline"] = pipes[0] if pipes else None
        gen = execs.get(ids.EXAMPLE_GEN)
        if gen is not None:
            row["dataset"] = mlmd.custom_property(gen, "input_base")
        if ids.BULK_INFERRER in execs or ids.UNLABELLED_EXAMPLE_GEN in execs:
            row["kind"] = "inference"
            folder_gen = execs.get(ids.UNLABELLED_EXAMPLE_GEN)
            if folder_gen is not None:
                row["dataset"] = mlmd.custom_property(folder_gen, "input_base")
                examples = mlmd.output_artifacts(store, folder_gen.id)
                row["labelled"] = mlmd.custom_property(examples[0], "num_documents") if examples else None
            inferrer = execs.get(ids.BULK_INFERRER)
            row["predictions"] = mlmd.custom_property(inferrer, PREDICTIONS_PROPERTY) if inferrer else None
        if ids.EVALUATOR in execs:
            for a in mlmd.output_artifacts(store, execs[ids.EVALUATOR].id):
                if a.type == "ModelEvaluation":
                    row["test_accuracy"] = recorded_accuracy(a)
                elif a.type == "ModelBlessing":
                    row["blessed"] = bool(mlmd.custom_property(a, "blessed"))
        pusher = next((execs[p] for p in ids.PUSHERS if p in execs), None)
        if pusher is not None:
            for a in mlmd.output_artifacts(store, pusher.id):
                if mlmd.custom_property(a, "pushed"):
                    row["pushed_version"] = mlmd.custom_property(a, "pushed_version")
        rows.append(row)
    return rows


def recorded_accuracy(evaluation) -> float | None:
    """The overall test accuracy the Evaluator recorded on its artifact; read from TFMA's files (3 s of imports)
    for an evaluation made before it was recorded."""
    recorded = mlmd.custom_property(evaluation, TEST_ACCURACY_PROPERTY)
    if recorded is not None:
        return float(recorded)
    from models.evaluation import ACCURACY_METRICS  # imports TFMA

    overall = tfma_results.evaluation_metrics(evaluation.uri).get("overall", {})
    return next((overall[m] for m in ACCURACY_METRICS if m in overall), None)


def format_runs(rows: list[dict]) -> str:
    """Training runs: corpus, test accuracy, blessing, push; inference runs: the folder and how many files
    were labelled."""
    lines = [f"{'run':<28} {'kind':<9} {'corpus or folder':<44} {'test acc':>8}  {'blessed':<7} pushed"]
    for r in rows:
        folder = str(r["dataset"] or "-")[-44:]
        if r.get("kind") == "inference":
            failed = [n for n, state in r["states"].items() if state == "failed"]
            done = (
                f"labelled {r['labelled']} files"
                if r["labelled"] is not None
                else (f"failed: {', '.join(failed)}" if failed else "no files labelled")
            )
            if str(r.get("predictions") or "").startswith(NOT_WRITTEN):
                done = f"failed: predictions {r['predictions']}"
            lines.append(f"{r['run_id']:<28} {'inference':<9} {folder:<44} {done}")
            continue
        acc = f"{r['test_accuracy']:.4f}" if r["test_accuracy"] is not None else "-"
        blessed = {True: "yes", False: "no", None: "-"}[r["blessed"]]
        lines.append(
            f"{r['run_id']:<28} {'training':<9} {folder:<44} {acc:>8}  {blessed:<7} {r['pushed_version'] or '-'}"
            + ("  (retired)" if r.get("retired") else "")
            # A re-run whose Trainer was cached: its figures are an earlier run's model's, not a new one's.
            + ("  (model from the cache)" if r["states"].get(ids.TRAINER) == "cached" else "")
        )
    return "\n".join(lines)


# ------------------------------------------------------------------ command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Each sub-command takes its own flags only: a flag that does not apply is refused, not ignored."""
    p = argparse.ArgumentParser(
        prog="python -m tools.inspect", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--work-dir",
        type=Path,
        default=configs.DEFAULT_WORK_DIR,
        help="run_local.py's work folder (default: %(default)s)",
    )
    store.add_argument("--name", default="imdb", help="run name under --work-dir (default: %(default)s)")
    store.add_argument("--metadata", type=Path, help="ML Metadata SQLite file (overrides --work-dir/--name)")
    quiet.add_flag(store)
    run = argparse.ArgumentParser(add_help=False)
    run.add_argument("--run", help="pipeline run id (default: the latest run with an evaluation)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON")

    sub = p.add_subparsers(dest="command", required=True)
    commands = {}
    commands["slices"] = slices = sub.add_parser(
        "slices", parents=[store, run, as_json], help="every metric of every slice"
    )
    slices.add_argument("--slice-by", help="only the slices of this feature")
    commands["report"] = report = sub.add_parser("report", parents=[store, run], help="the self-contained HTML report")
    report.add_argument("--html", type=Path, required=True, help="write the report here")
    commands["runs"] = sub.add_parser("runs", parents=[store, as_json], help="the run history")
    commands["lineage"] = lineage_ = sub.add_parser(
        "lineage", parents=[store, as_json], help="a pushed model back to its corpus, and the folders it labelled"
    )
    lineage_.add_argument(
        "--model", type=Path, required=True, help="a serving folder (its newest version) or one pushed version's folder"
    )
    args, extra = p.parse_known_args(argv)
    if extra:  # named by the sub-command's own parser, whose usage lists the flags it takes
        commands[args.command].error(f"unrecognized arguments: {' '.join(extra)} (not a flag of {args.command})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet.setup(args.verbose)
    from tools.predict import PredictError, resolve_model_dir

    try:
        if args.command == "lineage":
            try:
                model_dir = resolve_model_dir(args.model.expanduser().resolve())
            except PredictError as err:
                raise InspectError(str(err)) from err
            if not args.metadata:  # run_local lays out runs/NAME/{serving,metadata.sqlite}
                guess = configs.RunPaths.of_serving_dir(model_dir.parent).metadata
                if guess.is_file():
                    args.metadata = guess
            info = lineage(open_store(args), str(model_dir))
            print(json.dumps(info, indent=2) if args.json else format_lineage(info))
        elif args.command == "runs":
            rows = runs_table(open_store(args))
            print(json.dumps(rows, indent=2) if args.json else format_runs(rows))
        elif args.command == "slices":
            table = slices_table(open_store(args), run_id=args.run, slice_by=args.slice_by)
            print(json.dumps(table, indent=2) if args.json else format_slices(table))
        else:
            try:
                output_files.check_writable(args.html, "--html", "report.html")
            except output_files.OutputPathError as err:
                raise InspectError(str(err)) from err
            store = open_store(args)
            from tools.report.page import html_report  # matplotlib: only for this command

            html = html_report(store, run_id=args.run, progress=quiet.terminal_progress())
            args.html.parent.mkdir(parents=True, exist_ok=True)
            args.html.write_text(html, encoding="utf-8")
            print(f"wrote {args.html}")
    except InspectError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    quiet.exit_with(main)
