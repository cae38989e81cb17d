"""Look at an evaluated model: TFMA slices, run history and lineage, as tables, JSON or an HTML report.

    python -m pipeline.inspect slices  --name imdb [--run RUN_ID] [--slice-by label] [--json]
    python -m pipeline.inspect report  --name imdb --html report.html
    python -m pipeline.inspect runs    --name imdb [--json]
    python -m pipeline.inspect lineage --model runs/imdb/serving[/1764000000] [--json]

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
from typing import Dict, List, Optional

from models.features import REPORT_FILE
from pipeline import component_ids as ids
from pipeline import configs, quiet, run_summary


class InspectError(RuntimeError):
    pass


# ------------------------------------------------------------------ finding things in ML Metadata

def _executions_of_run(store, run_id: str) -> Dict[str, object]:
    ctx = store.get_context_by_type_and_name("pipeline_run", run_id)
    if ctx is None:
        raise InspectError(f"no run '{run_id}' in this metadata store")
    return {run_summary.node_name(store, e): e for e in store.get_executions_by_context(ctx.id)}


def find_evaluation(store, pipeline_name: Optional[str], run_id: Optional[str]):
    """(run id, Evaluator execution, evaluation artifact, blessing artifact) of the chosen run."""
    from ml_metadata.proto import metadata_store_pb2

    ok = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
    runs = [run_id] if run_id else [c.name for c in sorted(
        store.get_contexts_by_type("pipeline_run"), key=lambda c: (c.create_time_since_epoch, c.id), reverse=True)]
    for rid in runs:
        evaluator = _executions_of_run(store, rid).get(ids.EVALUATOR)
        if evaluator is not None and evaluator.last_known_state in ok:
            outputs = run_summary.output_artifacts(store, evaluator.id)
            evaluation = next((a for a in outputs if a.type == "ModelEvaluation"), None)
            blessing = next((a for a in outputs if a.type == "ModelBlessing"), None)
            if evaluation is not None:
                return rid, evaluator, evaluation, blessing
        if run_id:
            raise InspectError(f"run '{run_id}' has no completed evaluation")
    raise InspectError("no run with a completed evaluation in this metadata store; run run_local.py first")


def open_store(args: argparse.Namespace):
    path = Path(args.metadata) if args.metadata else Path(args.work_dir) / args.name / "metadata.sqlite"
    if not path.is_file():
        raise InspectError(f"no ML Metadata store at {path}; pass --metadata FILE or --work-dir/--name "
                           "of a run_local.py run")
    return run_summary.sqlite_store(str(path))


# ------------------------------------------------------------------ slices

def _threshold_metrics(eval_uri: str) -> Dict[str, List[str]]:
    """{slice name: [metric names with a threshold]} from the evaluation's own config."""
    from tensorflow_model_analysis.writers import eval_config_writer

    config = eval_config_writer.load_eval_run(eval_uri)[0]
    out: Dict[str, List[str]] = {}
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            for per_slice in metric.per_slice_thresholds:
                for slicing in per_slice.slicing_specs:
                    name = ", ".join(slicing.feature_keys) or "overall"
                    out.setdefault(name, []).append(_metric_short_name(metric.class_name))
            if metric.HasField("threshold"):
                out.setdefault("*", []).append(_metric_short_name(metric.class_name))
    return out


def _metric_short_name(class_name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def slices_table(store, pipeline_name: Optional[str] = None, run_id: Optional[str] = None,
                 slice_by: Optional[str] = None) -> Dict:
    rid, evaluator, evaluation, blessing = find_evaluation(store, pipeline_name, run_id)
    examples = run_summary.input_artifacts(store, evaluator.id).get("examples", [])
    class_names = json.loads(run_summary.custom_property(examples[0], "class_names") or "[]") if examples else []
    metrics = run_summary.evaluation_metrics(evaluation.uri, class_names)
    failures = run_summary.validation_failures(evaluation.uri, class_names)
    gated = _threshold_metrics(evaluation.uri)
    rows = []
    for name, values in sorted(metrics.items(), key=lambda kv: (kv[0] != "overall", kv[0])):
        feature, _, value = name.partition("=") if name != "overall" else (None, "", None)
        if slice_by and feature != slice_by:
            continue
        entry: Dict = {"slice": name, "feature": feature, "value": value,
                       "example_count": values.get("example_count"), "metrics": {}}
        for metric, v in values.items():
            if "(" in metric:
                continue
            row = {"value": v}
            if f"{metric} (baseline)" in values:
                row["baseline"] = values[f"{metric} (baseline)"]
                row["diff"] = values.get(f"{metric} (diff)")
            if metric in gated.get(name, []) + gated.get("*", []):
                failed = any(line.startswith(f"{name}: {metric} ") for line in failures)
                row["threshold"] = "fail" if failed else "pass"
            entry["metrics"][metric] = row
        rows.append(entry)
    if slice_by and not rows:
        known = sorted({n.split("=")[0] for n in metrics if n != "overall"})
        raise InspectError(f"no slices by '{slice_by}'; slicing features of this evaluation: {', '.join(known)}")
    return {"run_id": rid, "evaluation_uri": evaluation.uri,
            "blessed": bool(run_summary.custom_property(blessing, "blessed")) if blessing is not None else None,
            "failures": failures, "slices": rows}


def format_slices(table: Dict) -> str:
    lines = [f"run {table['run_id']}  evaluation {table['evaluation_uri']}",
             f"blessed: {'yes' if table['blessed'] else 'no'}"] + [f"  failed: {f}" for f in table["failures"]]
    header = f"{'slice':<24} {'examples':>9}  {'metric':<34} {'value':>9} {'baseline':>9} {'diff':>9}  threshold"
    lines += ["", header, "-" * len(header)]
    for s in table["slices"]:
        count = s["example_count"]
        for i, (metric, m) in enumerate(sorted(s["metrics"].items())):
            lines.append(
                f"{s['slice'] if i == 0 else '':<24} {(f'{count:.0f}' if count is not None and i == 0 else ''):>9}  "
                f"{metric:<34} {fmt(m['value'], count=metric in COUNT_METRICS):>9} "
                f"{fmt(m.get('baseline'), count=metric in COUNT_METRICS):>9} "
                f"{fmt(m.get('diff'), True, count=metric in COUNT_METRICS):>9}  "
                f"{m.get('threshold', '')}")
    return "\n".join(lines)


COUNT_METRICS = ("example_count", "weighted_example_count")


def fmt(v, signed=False, count=False) -> str:
    if v is None:
        return "-"
    if count:
        return f"{v:+.0f}" if signed else f"{v:.0f}"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


# ------------------------------------------------------------------ runs

def runs_table(store) -> List[Dict]:
    from models.evaluation import ACCURACY_METRICS  # imports TFMA

    rows = []
    for ctx in sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: (c.create_time_since_epoch, c.id)):
        execs = _executions_of_run(store, ctx.name)
        row: Dict = {"run_id": ctx.name, "kind": "training", "pipeline": None, "dataset": None,
                     "test_accuracy": None, "blessed": None, "pushed_version": None, "labelled": None,
                     "states": {n: run_summary._STATES.get(e.last_known_state, "?") for n, e in execs.items()}}
        pipes = [c.name for c in store.get_parent_contexts_by_context(ctx.id) if c.type == "pipeline"]
        row["pipeline"] = pipes[0] if pipes else None
        gen = execs.get(ids.EXAMPLE_GEN)
        if gen is not None:
            row["dataset"] = run_summary.custom_property(gen, "input_base")
        if ids.BULK_INFERRER in execs or ids.UNLABELLED_EXAMPLE_GEN in execs:
            row["kind"] = "inference"
            folder_gen = execs.get(ids.UNLABELLED_EXAMPLE_GEN)
            if folder_gen is not None:
                row["dataset"] = run_summary.custom_property(folder_gen, "input_base")
                examples = run_summary.output_artifacts(store, folder_gen.id)
                row["labelled"] = run_summary.custom_property(examples[0], "num_documents") if examples else None
        if ids.EVALUATOR in execs:
            for a in run_summary.output_artifacts(store, execs[ids.EVALUATOR].id):
                if a.type == "ModelEvaluation":
                    overall = run_summary.evaluation_metrics(a.uri).get("overall", {})
                    row["test_accuracy"] = next((overall[m] for m in ACCURACY_METRICS if m in overall), None)
                elif a.type == "ModelBlessing":
                    row["blessed"] = bool(run_summary.custom_property(a, "blessed"))
        pusher = next((execs[p] for p in ids.PUSHERS if p in execs), None)
        if pusher is not None:
            for a in run_summary.output_artifacts(store, pusher.id):
                if run_summary.custom_property(a, "pushed"):
                    row["pushed_version"] = run_summary.custom_property(a, "pushed_version")
        rows.append(row)
    return rows


def format_runs(rows: List[Dict]) -> str:
    """Training runs: corpus, test accuracy, blessing, push; inference runs: the folder and how many files
    were labelled."""
    lines = [f"{'run':<28} {'kind':<9} {'corpus or folder':<44} {'test acc':>8}  {'blessed':<7} pushed"]
    for r in rows:
        folder = str(r["dataset"] or "-")[-44:]
        if r.get("kind") == "inference":
            failed = [n for n, state in r["states"].items() if state == "failed"]
            done = f"labelled {r['labelled']} files" if r["labelled"] is not None else (
                f"failed: {', '.join(failed)}" if failed else "no files labelled")
            lines.append(f"{r['run_id']:<28} {'inference':<9} {folder:<44} {done}")
            continue
        acc = f"{r['test_accuracy']:.4f}" if r["test_accuracy"] is not None else "-"
        blessed = {True: "yes", False: "no", None: "-"}[r["blessed"]]
        lines.append(f"{r['run_id']:<28} {'training':<9} {folder:<44} {acc:>8}  {blessed:<7} "
                     f"{r['pushed_version'] or '-'}")
    return "\n".join(lines)


# ------------------------------------------------------------------ lineage

def lineage(store, model_dir: str) -> Dict:
    """From a pushed model folder back to the corpus that made it."""
    from components.served_model_baseline import SERVED_VERSION_PROPERTY  # imports TFX

    model_dir = os.path.normpath(os.path.abspath(model_dir))
    pushed = pushed_artifacts(store, model_dir)
    push_exec = run_summary.producer(store, pushed[0].id)
    push_inputs = run_summary.input_artifacts(store, push_exec.id)
    model, blessing = push_inputs["model"][0], push_inputs["model_blessing"][0]

    trainer = run_summary.producer(store, model.id)
    trainer_inputs = run_summary.input_artifacts(store, trainer.id)
    train_config = json.loads(run_summary.custom_property(trainer, "custom_config") or "{}")
    examples = trainer_inputs["examples"][0]
    example_gen = run_summary.producer(store, examples.id)
    transform_graph = trainer_inputs["transform_graph"][0]
    transform = run_summary.producer(store, transform_graph.id)
    transform_config = json.loads(run_summary.custom_property(transform, "custom_config") or "{}")
    vocab_file = os.path.join(transform_graph.uri, "transform_fn", "assets", "tokens")
    vocab_entries = sum(1 for _ in open(vocab_file, "rb")) if os.path.isfile(vocab_file) else None
    schema = trainer_inputs["schema"][0]

    evaluator = run_summary.producer(store, blessing.id)
    evaluation = next(a for a in run_summary.output_artifacts(store, evaluator.id) if a.type == "ModelEvaluation")
    overall = run_summary.evaluation_metrics(evaluation.uri).get("overall", {})
    baseline = run_summary.input_artifacts(store, evaluator.id).get("baseline_model", [])
    ingest = read_json(os.path.join(examples.uri, REPORT_FILE))
    return {
        "pushed_model": {"path": model_dir, "version": run_summary.custom_property(pushed[0], "pushed_version"),
                         "pusher_execution": push_exec.id},
        "corpus": {"path": run_summary.custom_property(example_gen, "input_base"), "fingerprint": run_summary.custom_property(examples, "input_fingerprint"),
                   "class_names": json.loads(run_summary.custom_property(examples, "class_names") or "[]"),
                   "documents": run_summary.custom_property(examples, "num_documents"), "skipped_files": run_summary.custom_property(examples, "num_skipped"),
                   "splits": ingest.get("splits"), "examples_uri": examples.uri,
                   "ingestion_code_version": _struct_value(run_summary.custom_property(example_gen, "custom_config"), "code_version")},
        "schema": {"uri": schema.uri, "sha256": run_summary.custom_property(run_summary.producer(store, schema.id), "schema_sha256")},
        "transform": {"uri": transform_graph.uri, "vocabulary_size_configured": transform_config.get("vocab_size"),
                      "vocabulary_entries": vocab_entries, "max_len": transform_config.get("max_len"),
                      "ngrams": transform_config.get("ngrams"), "code_version": transform_config.get("code_version")},
        "trainer": {"model_uri": model.uri, "settings": {k: v for k, v in train_config.items() if k != "code_version"},
                    "code_version": train_config.get("code_version"), "execution": trainer.id},
        "labelled": labelled_folders(store, model.id),
        "blessing": {"blessed": bool(run_summary.custom_property(blessing, "blessed")), "evaluation_uri": evaluation.uri,
                     "evaluator_execution": evaluator.id,
                     # The served version ServedModelBaseline copied ("" when nothing else was served).
                     "baseline_model": (run_summary.custom_property(baseline[0], SERVED_VERSION_PROPERTY) or None) if baseline else None,
                     "test_metrics": {k: v for k, v in overall.items() if "(" not in k}},
    }


def pushed_artifacts(store, model_dir: str) -> list:
    """The PushedModel artifacts of the version folder `model_dir`: by its path, else (a moved or copied work
    folder: ML Metadata keeps absolute paths) by its version's name, which is unique within a store."""
    pushed = [a for a in store.get_artifacts_by_type("PushedModel") if run_summary.custom_property(a, "pushed")]
    by_path = [a for a in pushed
               if os.path.normpath(run_summary.custom_property(a, "pushed_destination") or "") == model_dir]
    if by_path:
        return by_path
    version = os.path.basename(model_dir)
    by_version = [a for a in pushed if str(run_summary.custom_property(a, "pushed_version")) == version
                  and os.path.basename(os.path.normpath(run_summary.custom_property(a, "pushed_destination") or ""))
                  == version]
    if by_version and os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        return by_version
    versions = sorted(str(run_summary.custom_property(a, "pushed_version")) for a in pushed)
    raise InspectError(f"--model {model_dir}: not a model this metadata store pushed (its pushed versions: "
                       f"{', '.join(versions) or 'none'}); pass --model <serving dir>[/<version>] of the run "
                       "whose metadata this is, or --metadata FILE of the run that pushed it")


def labelled_folders(store, model_id: int) -> List[Dict]:
    """The folders BulkInferrer labelled with this model (python -m pipeline.infer), oldest first."""
    out = []
    for execution in run_summary.consumers(store, model_id):
        if run_summary.node_name(store, execution) != ids.BULK_INFERRER:
            continue
        examples = run_summary.input_artifacts(store, execution.id)["examples"][0]
        results = run_summary.output_artifacts(store, execution.id)
        out.append({"folder": run_summary.custom_property(run_summary.producer(store, examples.id), "input_base"),
                    "documents": run_summary.custom_property(examples, "num_documents"),
                    "skipped_files": run_summary.custom_property(examples, "num_skipped"),
                    "inference_result": results[0].uri if results else None,
                    "when": time.strftime("%Y-%m-%d %H:%M:%S",
                                          time.localtime(execution.create_time_since_epoch / 1000))})
    return out


def _struct_value(custom_config_json: Optional[str], key: str):
    """A value from ExampleGen's custom_config (a CustomConfig proto holding a Struct, as JSON)."""
    if not custom_config_json:
        return None
    data = json.loads(custom_config_json)
    inner = data.get("customConfig", data.get("custom_config", {}))
    return (inner.get("value") or inner).get(key) if isinstance(inner, dict) else None


def read_json(path: str) -> Dict:
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return {}


def format_lineage(info: Dict) -> str:
    c, t, tr, b = info["corpus"], info["transform"], info["trainer"], info["blessing"]
    return "\n".join([
        f"model    {info['pushed_model']['path']} (version {info['pushed_model']['version']})",
        f"  <- blessing: {'blessed' if b['blessed'] else 'NOT blessed'} by evaluation {b['evaluation_uri']}",
        "       test: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(b["test_metrics"].items())),
        f"       baseline: {b['baseline_model'] or 'none (nothing else was served)'}",
        f"  <- trainer: {tr['model_uri']} (code {tr['code_version']})",
        "       settings: " + ", ".join(f"{k}={v}" for k, v in sorted(tr["settings"].items())),
        f"  <- transform: {t['uri']} (code {t['code_version']})",
        f"       vocabulary: {t['vocabulary_entries']} tokens in the file (vocab_size {t['vocabulary_size_configured']} "
        f"with padding and OOV), max_len {t['max_len']}, ngrams {t['ngrams']}",
        f"  <- schema: {info['schema']['uri']} (sha256 {info['schema']['sha256']})",
        f"  <- examples: {c['examples_uri']} ({c['documents']} documents, {c['skipped_files']} files skipped, "
        f"classes {c['class_names']}, ingestion code {c['ingestion_code_version']})",
        f"  <- corpus: {c['path']}",
        f"       fingerprint: {c['fingerprint']}",
    ] + [f"  -> labelled {entry['folder']} at {entry['when']}: {entry['documents']} files "
         f"({entry['skipped_files']} skipped), prediction logs {entry['inference_result']}"
         for entry in info.get("labelled", [])])


# ------------------------------------------------------------------ command line

def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Each sub-command takes its own flags only: a flag that does not apply is refused, not ignored."""
    p = argparse.ArgumentParser(prog="python -m pipeline.inspect", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--work-dir", type=Path, default=configs.DEFAULT_WORK_DIR,
                       help="run_local.py's work folder (default: %(default)s)")
    store.add_argument("--name", default="imdb", help="run name under --work-dir (default: %(default)s)")
    store.add_argument("--metadata", type=Path, help="ML Metadata SQLite file (overrides --work-dir/--name)")
    quiet.add_flag(store)
    run = argparse.ArgumentParser(add_help=False)
    run.add_argument("--run", help="pipeline run id (default: the latest run with an evaluation)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON")

    sub = p.add_subparsers(dest="command", required=True)
    commands = {}
    commands["slices"] = slices = sub.add_parser("slices", parents=[store, run, as_json],
                                                 help="every metric of every slice")
    slices.add_argument("--slice-by", help="only the slices of this feature")
    commands["report"] = report = sub.add_parser("report", parents=[store, run], help="the self-contained HTML report")
    report.add_argument("--html", type=Path, required=True, help="write the report here")
    commands["runs"] = sub.add_parser("runs", parents=[store, as_json], help="the run history")
    commands["lineage"] = lineage_ = sub.add_parser(
        "lineage", parents=[store, as_json], help="a pushed model back to its corpus, and the folders it labelled")
    lineage_.add_argument("--model", type=Path, required=True,
                          help="a serving folder (its newest version) or one pushed version's folder")
    args, extra = p.parse_known_args(argv)
    if extra:  # named by the sub-command's own parser, whose usage lists the flags it takes
        commands[args.command].error(f"unrecognized arguments: {' '.join(extra)} (not a flag of {args.command})")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    quiet.setup(args.verbose)
    from pipeline.predict import PredictError, resolve_model_dir

    try:
        if args.command == "lineage":
            try:
                model_dir = resolve_model_dir(args.model.expanduser().resolve())
            except PredictError as err:
                raise InspectError(str(err))
            if not args.metadata:  # run_local lays out runs/NAME/{serving,metadata.sqlite}
                guess = model_dir.parent.parent / "metadata.sqlite"
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
            check_writable(args.html)
            store = open_store(args)
            from pipeline.report import html_report  # matplotlib: only for this command

            args.html.write_text(html_report(store, run_id=args.run), encoding="utf-8")
            print(f"wrote {args.html}")
    except InspectError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def check_writable(path: Path) -> None:
    """Refuses, before any work, a destination that cannot take the report."""
    if path.is_dir():
        raise InspectError(f"--html {path}: a folder; pass a file name, e.g. {path / 'report.html'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InspectError(f"--html {path}: cannot create its folder ({err.strerror or err})")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InspectError(f"--html {path}: not writable; pass a path you can write")


if __name__ == "__main__":
    sys.exit(main())
