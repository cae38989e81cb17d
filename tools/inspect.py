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
import os
import sys
import time
from pathlib import Path

from models.features import REPORT_FILE, TEST_ACCURACY_PROPERTY
from pipeline import component_ids as ids
from pipeline import configs, mlmd, output_files, quiet, tfma_results
from tools.evaluations import COUNT_METRICS, InspectError, executions_of_run, fmt, open_store, read_json, slices_table
from tools.infer import NOT_WRITTEN, PREDICTIONS_PROPERTY


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


# ------------------------------------------------------------------ lineage


def lineage(store, model_dir: str) -> dict:
    """From a pushed model folder back to the corpus that made it."""
    from components.served_model_baseline import SERVED_VERSION_PROPERTY  # imports TFX

    model_dir = os.path.normpath(os.path.abspath(model_dir))
    pushed = pushed_artifacts(store, model_dir)
    push_exec = mlmd.producer(store, pushed[0].id)
    push_inputs = mlmd.input_artifacts(store, push_exec.id)
    model, blessing = push_inputs["model"][0], push_inputs["model_blessing"][0]

    trainer = mlmd.producer(store, model.id)
    trainer_inputs = mlmd.input_artifacts(store, trainer.id)
    train_config = json.loads(mlmd.custom_property(trainer, "custom_config") or "{}")
    examples = trainer_inputs["examples"][0]
    example_gen = mlmd.producer(store, examples.id)
    transform_graph = trainer_inputs["transform_graph"][0]
    transform = mlmd.producer(store, transform_graph.id)
    transform_config = json.loads(mlmd.custom_property(transform, "custom_config") or "{}")
    vocab_file = os.path.join(transform_graph.uri, "transform_fn", "assets", "tokens")
    vocab_entries = sum(1 for _ in open(vocab_file, "rb")) if os.path.isfile(vocab_file) else None
    schema = trainer_inputs["schema"][0]

    evaluator = mlmd.producer(store, blessing.id)
    evaluation = next(a for a in mlmd.output_artifacts(store, evaluator.id) if a.type == "ModelEvaluation")
    overall = tfma_results.evaluation_metrics(evaluation.uri).get("overall", {})
    baseline = mlmd.input_artifacts(store, evaluator.id).get("baseline_model", [])
    ingest = read_json(os.path.join(examples.uri, REPORT_FILE))
    return {
        "pushed_model": {
            "path": model_dir,
            "version": mlmd.custom_property(pushed[0], "pushed_version"),
            "pusher_execution": push_exec.id,
        },
        "corpus": {
            "path": mlmd.custom_property(example_gen, "input_base"),
            "fingerprint": mlmd.custom_property(examples, "input_fingerprint"),
            "class_names": json.loads(mlmd.custom_property(examples, "class_names") or "[]"),
            "documents": mlmd.custom_property(examples, "num_documents"),
            "skipped_files": mlmd.custom_property(examples, "num_skipped"),
            "splits": ingest.get("splits"),
            "examples_uri": examples.uri,
            "ingestion_code_version": _struct_value(mlmd.custom_property(example_gen, "custom_config"), "code_version"),
        },
        "schema": {"uri": schema.uri, "sha256": mlmd.custom_property(mlmd.producer(store, schema.id), "schema_sha256")},
        "transform": {
            "uri": transform_graph.uri,
            "vocabulary_size_configured": transform_config.get("vocab_size"),
            "vocabulary_entries": vocab_entries,
            "max_len": transform_config.get("max_len"),
            "ngrams": transform_config.get("ngrams"),
            "code_version": transform_config.get("code_version"),
        },
        "trainer": {
            "model_uri": model.uri,
            "settings": {k: v for k, v in train_config.items() if k not in ("code_version", "transform")},
            "code_version": train_config.get("code_version"),
            "execution": trainer.id,
        },
        "labelled": labelled_folders(store, model.id),
        "blessing": {
            "blessed": bool(mlmd.custom_property(blessing, "blessed")),
            "evaluation_uri": evaluation.uri,
            "evaluator_execution": evaluator.id,
            # The served version ServedModelBaseline copied ("" when nothing else was served).
            "baseline_model": (mlmd.custom_property(baseline[0], SERVED_VERSION_PROPERTY) or None)
            if baseline
            else None,
            "test_metrics": {k: v for k, v in overall.items() if "(" not in k},
        },
    }


def pushed_artifacts(store, model_dir: str) -> list:
    """The PushedModel artifacts of the version folder `model_dir`: by its path, else (a moved or copied work
    folder: ML Metadata keeps absolute paths) by its version's name, which is unique within a store."""
    pushed = [a for a in store.get_artifacts_by_type("PushedModel") if mlmd.custom_property(a, "pushed")]
    by_path = [a for a in pushed if os.path.normpath(mlmd.custom_property(a, "pushed_destination") or "") == model_dir]
    if by_path:
        return by_path
    version = os.path.basename(model_dir)
    by_version = [
        a
        for a in pushed
        if str(mlmd.custom_property(a, "pushed_version")) == version
        and os.path.basename(os.path.normpath(mlmd.custom_property(a, "pushed_destination") or "")) == version
    ]
    if by_version and os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        return by_version
    versions = sorted(str(mlmd.custom_property(a, "pushed_version")) for a in pushed)
    raise InspectError(
        f"--model {model_dir}: not a model this metadata store pushed (its pushed versions: "
        f"{', '.join(versions) or 'none'}); pass --model <serving dir>[/<version>] of the run "
        "whose metadata this is, or --metadata FILE of the run that pushed it"
    )


def labelled_folders(store, model_id: int) -> list[dict]:
    """The folders BulkInferrer labelled with this model (python -m tools.infer), oldest first."""
    out = []
    for execution in mlmd.consumers(store, model_id):
        if mlmd.node_name(store, execution) != ids.BULK_INFERRER:
            continue
        examples = mlmd.input_artifacts(store, execution.id)["examples"][0]
        results = mlmd.output_artifacts(store, execution.id)
        out.append(
            {
                "folder": mlmd.custom_property(mlmd.producer(store, examples.id), "input_base"),
                "documents": mlmd.custom_property(examples, "num_documents"),
                "skipped_files": mlmd.custom_property(examples, "num_skipped"),
                "inference_result": results[0].uri if results else None,
                "predictions": mlmd.custom_property(execution, PREDICTIONS_PROPERTY),
                "when": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(execution.create_time_since_epoch / 1000)),
            }
        )
    return out


def _struct_value(custom_config_json: str | None, key: str):
    """A value from ExampleGen's custom_config (a CustomConfig proto holding a Struct, as JSON)."""
    if not custom_config_json:
        return None
    data = json.loads(custom_config_json)
    inner = data.get("customConfig", data.get("custom_config", {}))
    return (inner.get("value") or inner).get(key) if isinstance(inner, dict) else None


def format_lineage(info: dict) -> str:
    c, t, tr, b = info["corpus"], info["transform"], info["trainer"], info["blessing"]
    return "\n".join(
        [
            f"model    {info['pushed_model']['path']} (version {info['pushed_model']['version']})",
            f"  <- blessing: {'blessed' if b['blessed'] else 'NOT blessed'} by evaluation {b['evaluation_uri']}",
            "       test: "
            + ", ".join(f"{k}={fmt(v, count=k in COUNT_METRICS)}" for k, v in sorted(b["test_metrics"].items())),
            f"       baseline: {b['baseline_model'] or 'none (nothing else was served)'}",
            f"  <- trainer: {tr['model_uri']} (code {tr['code_version']})",
            "       settings: " + ", ".join(f"{k}={v}" for k, v in sorted(tr["settings"].items())),
            f"  <- transform: {t['uri']} (code {t['code_version']})",
            f"       vocabulary: {t['vocabulary_entries']} tokens in the file "
            f"(vocab_size {t['vocabulary_size_configured']} "
            f"with padding and OOV), max_len {t['max_len'] or '0 (the whole document)'}, ngrams {t['ngrams']}",
            f"  <- schema: {info['schema']['uri']} (sha256 {info['schema']['sha256']})",
            f"  <- examples: {c['examples_uri']} ({c['documents']} documents, {c['skipped_files']} files skipped, "
            f"classes {c['class_names']}, ingestion code {c['ingestion_code_version']})",
            f"  <- corpus: {c['path']}",
            f"       fingerprint: {c['fingerprint']}",
        ]
        + [
            f"  -> labelled {entry['folder']} at {entry['when']}: {entry['documents']} files "
            f"({entry['skipped_files']} skipped), prediction logs {entry['inference_result']}"
            + (f", predictions {entry['predictions']}" if entry.get("predictions") else "")
            for entry in info.get("labelled", [])
        ]
    )


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
            from tools.report import html_report  # matplotlib: only for this command

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
