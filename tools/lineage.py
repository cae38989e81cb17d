"""`inspect lineage`: a served model back to its run, settings, examples, schema and corpus, and forward to the
folders it labelled (tools/infer.py)."""

from __future__ import annotations

import json
import os
import time

from models.features import REPORT_FILE
from pipeline import component_ids as ids
from pipeline.recorded import mlmd, tfma_results
from tools.evaluations import COUNT_METRICS, InspectError, fmt, read_json
from tools.predictions import PREDICTIONS_PROPERTY


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
    class_names = json.loads(mlmd.custom_property(examples, "class_names") or "[]")
    overall = tfma_results.evaluation_metrics(evaluation.uri, class_names).get("overall", {})  # by class name
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
            "class_names": class_names,
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
