"""Where an evaluation is and what it says: the run's Evaluator in ML Metadata, and every slice's metrics with
the baseline, the diff and the thresholds. `inspect` prints them; the HTML report draws them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.features import LABEL_KEY
from pipeline import component_ids as ids
from pipeline import configs
from pipeline.recorded import mlmd, tfma_results


class InspectError(RuntimeError):
    pass


def executions_of_run(store, run_id: str) -> dict[str, object]:
    ctx = store.get_context_by_type_and_name("pipeline_run", run_id)
    if ctx is None:
        raise InspectError(f"no run '{run_id}' in this metadata store")
    return {mlmd.node_name(store, e): e for e in store.get_executions_by_context(ctx.id)}


def find_evaluation(store, pipeline_name: str | None, run_id: str | None):
    """(run id, Evaluator execution, evaluation artifact, blessing artifact) of the chosen run."""
    from ml_metadata.proto import metadata_store_pb2

    ok = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
    runs = (
        [run_id]
        if run_id
        else [
            c.name
            for c in sorted(
                store.get_contexts_by_type("pipeline_run"),
                key=lambda c: (c.create_time_since_epoch, c.id),
                reverse=True,
            )
        ]
    )
    for rid in runs:
        evaluator = executions_of_run(store, rid).get(ids.EVALUATOR)
        if evaluator is not None and evaluator.last_known_state in ok:
            outputs = mlmd.output_artifacts(store, evaluator.id)
            evaluation = next((a for a in outputs if a.type == "ModelEvaluation"), None)
            blessing = next((a for a in outputs if a.type == "ModelBlessing"), None)
            if evaluation is not None:
                return rid, evaluator, evaluation, blessing
        if run_id:
            raise InspectError(f"run '{run_id}' has no completed evaluation")
    raise InspectError("no run with a completed evaluation in this metadata store; run run_local.py first")


def shown_path(path) -> str:
    """A path as a page shows it: the home folder as ~ (a report is shared; whose machine made it is not its
    content)."""
    text, home = str(path), str(Path.home())
    return "~" + text[len(home) :] if home not in ("", "/") and (text == home or text.startswith(home + "/")) else text


def slice_label(feature: str | None, value: str, class_names: list[str]) -> str:
    """A slice value as a reader knows it: the label slice by class name (TFMA's slice is the label's index)."""
    if feature == LABEL_KEY and value.isdigit() and int(value) < len(class_names):
        return class_names[int(value)]
    return value


def slice_order(name: str) -> tuple:
    """overall first, then by feature, numbers by value (rating=2 before rating=10), other values by text."""
    if name == "overall":
        return (0, "", 0, 0.0, "")
    feature, _, value = name.partition("=")
    try:
        return (1, feature, 0, float(value), "")
    except ValueError:
        return (1, feature, 1, 0.0, value)


def open_store(args: argparse.Namespace):
    path = Path(args.metadata) if args.metadata else configs.RunPaths(args.work_dir, args.name).metadata
    if not path.is_file():
        raise InspectError(
            f"no ML Metadata store at {path}; pass --metadata FILE or --work-dir/--name of a run_local.py run"
        )
    try:
        return mlmd.sqlite_store(str(path))
    except mlmd.StoreError as err:
        raise InspectError(str(err)) from err


def _threshold_metrics(eval_uri: str) -> dict[str, list[str]]:
    """{slice name: [metric names with a threshold]} from the evaluation's own config."""
    from tensorflow_model_analysis.writers import eval_config_writer

    from models.evaluation import written_name

    config = eval_config_writer.load_eval_run(eval_uri)[0]
    out: dict[str, list[str]] = {}
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            for per_slice in metric.per_slice_thresholds:
                for slicing in per_slice.slicing_specs:
                    name = ", ".join(slicing.feature_keys) or "overall"
                    out.setdefault(name, []).append(written_name(metric))
            if metric.HasField("threshold"):
                out.setdefault("*", []).append(written_name(metric))
    return out


def slices_table(
    store, pipeline_name: str | None = None, run_id: str | None = None, slice_by: str | None = None
) -> dict:
    rid, evaluator, evaluation, blessing = find_evaluation(store, pipeline_name, run_id)
    examples = mlmd.input_artifacts(store, evaluator.id).get("examples", [])
    class_names = json.loads(mlmd.custom_property(examples[0], "class_names") or "[]") if examples else []
    metrics = tfma_results.evaluation_metrics(evaluation.uri, class_names)
    failures = tfma_results.validation_failures(evaluation.uri, class_names)
    gated = _threshold_metrics(evaluation.uri)
    rows = []
    for name, values in sorted(metrics.items(), key=lambda kv: slice_order(kv[0])):
        feature, _, value = name.partition("=") if name != "overall" else (None, "", None)
        if slice_by and feature != slice_by:
            continue
        entry: dict = {
            "slice": name,
            "feature": feature,
            "value": value,
            "value_name": slice_label(feature, value, class_names) if feature else None,
            "example_count": values.get("example_count"),
            "metrics": {},
        }
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
    return {
        "run_id": rid,
        "evaluation_uri": evaluation.uri,
        "blessed": bool(mlmd.custom_property(blessing, "blessed")) if blessing is not None else None,
        "failures": failures,
        "slices": rows,
    }


COUNT_METRICS = ("example_count", "weighted_example_count")


def fmt(v, signed=False, count=False) -> str:
    if v is None:
        return "-"
    if count:
        return f"{v:+.0f}" if signed else f"{v:.0f}"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return {}
