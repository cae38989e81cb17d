"""Suspect labels: the training files whose label out-of-fold predictions most contradict (confident learning).

    python -m tools.audit labels --name NAME [--folds 5] [--top 20] [-v]

It costs `folds` trainings, so it runs on request, never in the pipeline. The
run's latest Trainer execution gives everything: its examples (the train split
is audited, its eval split stops each fold's training early, as in the run),
its Transform graph, and its settings; each fold trains the recipe's model
with models/trainer.py's own code on the other folds and predicts the held-out
one. cleanlab's `find_label_issues` (confident learning: a maintained
implementation, not re-derived here) ranks the suspects by the probability the
model gives their label. The vocabulary is the run's, computed on the whole
train split: the held-out fold's words were seen, not its labels.

Written to WORK_DIR/NAME/audits/<time>/: `label_issues.csv` (rank, file,
label, suggested label, both probabilities) and `audit.json`; recorded in ML
Metadata as a LabelAudit execution whose input is the audited Examples
artifact (the HTML report of that run shows its top suspects).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time

from pipeline import component_ids as ids
from pipeline import configs, quiet
from pipeline.recorded import mlmd

AUDIT_TYPE, REPORT_TYPE = "LabelAudit", "LabelAuditReport"
ISSUES_FILE, AUDIT_FILE = "label_issues.csv", "audit.json"


class AuditError(ValueError):
    """The audit cannot run; the message says what to do."""


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m tools.audit", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    labels = sub.add_parser("labels", help="rank the training files whose label the out-of-fold predictions contradict")
    labels.add_argument("--name", required=True, help="the run's name (run_local.py --name)")
    labels.add_argument("--work-dir", type=os.path.abspath, default=str(configs.DEFAULT_WORK_DIR))
    labels.add_argument("--folds", type=int, default=5, help="trainings, each on all folds but one (default: 5)")
    labels.add_argument("--top", type=int, default=20, help="suspects printed (all are in the CSV; default: 20)")
    labels.add_argument("-v", "--verbose", action="store_true", help="TensorFlow's and TFX's logs too")
    args = p.parse_args(argv)
    if args.folds < 2:
        p.error(f"--folds must be at least 2, got {args.folds}")
    return args


def trained_inputs(metadata_path: str, pipeline_name: str):
    """(examples, transform graph, Trainer settings) of the run's latest Trainer execution."""
    if not os.path.isfile(metadata_path):
        raise AuditError(f"no run at {metadata_path}; train first: python run_local.py --name NAME ...")
    store = mlmd.sqlite_store(metadata_path)
    run_id = mlmd.latest_run_id(store, pipeline_name)
    rows = [r for r in mlmd.component_executions(store, run_id) if r["component"] == ids.TRAINER] if run_id else []
    if not rows or rows[0]["state"] not in ("ran", "cached"):
        raise AuditError(f"the latest run of {pipeline_name} trained nothing; run it to the end first")
    trainer = store.get_executions_by_id([rows[0]["execution_id"]])[0]
    inputs = mlmd.input_artifacts(store, trainer.id)
    settings = json.loads(mlmd.custom_property(trainer, "custom_config") or "{}")
    return inputs["examples"][0], inputs["transform_graph"][0], settings


def split_records(examples_uri: str, split: str) -> list[bytes]:
    import tensorflow as tf

    files = sorted(tf.io.gfile.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    return list(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())


def out_of_fold_probabilities(records, examples_uri, transform_uri, settings, num_classes, folds, progress):
    """[n, num_classes] probabilities, each row from the model that did not train on it."""
    import numpy as np
    import tensorflow as tf
    import tensorflow_transform as tft
    import tf_keras

    from models import model as model_lib
    from models import trainer

    train_settings = trainer.TrainSettings.from_custom_config(settings)
    tft_output = tft.TFTransformOutput(transform_uri)
    fold_of = np.random.default_rng(train_settings.seed).permutation(len(records)) % folds
    eval_files = [os.path.join(examples_uri, "Split-eval", "*")]
    probabilities = np.zeros((len(records), num_classes), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(folds):
            paths = {}
            for part, keep in (("train", fold_of != k), ("held_out", fold_of == k)):
                paths[part] = os.path.join(tmp, f"{part}-{k}.gz")
                with tf.io.TFRecordWriter(paths[part], tf.io.TFRecordOptions(compression_type="GZIP")) as out:
                    for record in (r for r, m in zip(records, keep, strict=True) if m):
                        out.write(record)
            tf_keras.utils.set_random_seed(train_settings.seed + k)
            train_ds = trainer.make_dataset([paths["train"]], tft_output, train_settings, shuffle=True)
            eval_ds = trainer.make_dataset(eval_files, tft_output, train_settings, shuffle=False)
            model = trainer.train_model(train_settings, num_classes, train_ds, eval_ds, verbose=0)
            held_out = trainer.make_dataset([paths["held_out"]], tft_output, train_settings, shuffle=False)
            logits = model.predict(held_out.map(lambda ids_, _: ids_), verbose=0)
            probabilities[fold_of == k] = model_lib.probabilities(tf.constant(logits), num_classes).numpy()
            held = int((fold_of == k).sum())
            progress(f"  fold {k + 1} of {folds}: trained on {len(records) - held:,}, predicted {held:,}")
    return probabilities


def files_by_text(corpus_root: str, train_folder: str, class_names: list[str], max_file_bytes: int) -> dict:
    """{text as ingested: file (relative to the root)} for the training folder, read as ingestion reads it."""
    from components.example_gen import corpus, listing

    docs, _ = listing.scan_split_folder(corpus_root, train_folder, class_names, [("train", 100)], max_file_bytes)
    found: dict[bytes, str] = {}
    for item in corpus.read_documents(docs, max_file_bytes):
        if item[0] == "example":
            found.setdefault(item[4].encode("utf-8"), item[5])
    return found


def record(metadata_path: str, examples, audit_dir: str, summary: dict) -> int:
    """A LabelAudit execution in ML Metadata: input the audited Examples, output the audit's folder."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb

    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    store = metadata_store.MetadataStore(config)
    execution_type = store.put_execution_type(pb.ExecutionType(name=AUDIT_TYPE), can_add_fields=True)
    artifact_type = store.put_artifact_type(pb.ArtifactType(name=REPORT_TYPE), can_add_fields=True)
    report = pb.Artifact(type_id=artifact_type, uri=audit_dir, state=pb.Artifact.LIVE)
    execution = pb.Execution(type_id=execution_type, last_known_state=pb.Execution.COMPLETE)
    for target in (report, execution):
        for key in ("folds", "documents", "suspects"):
            target.custom_properties[key].int_value = summary[key]
    events = [
        (pb.Event(artifact_id=examples.id, type=pb.Event.INPUT), examples),
        (pb.Event(type=pb.Event.OUTPUT), report),
    ]
    for event, _ in events:
        event.path.steps.add().key = "examples" if event.type == pb.Event.INPUT else "label_audit"
    execution_id, _, _ = store.put_execution(execution, [(a, e) for e, a in events], contexts=[])
    return execution_id


def audit_labels(args) -> int:
    import numpy as np
    import tensorflow as tf
    from cleanlab.filter import find_label_issues

    from components.example_gen.settings import IngestSettings
    from models.features import CLASS_NAMES_FILE, LABEL_KEY, TEXT_KEY

    paths = configs.RunPaths(args.work_dir, args.name)
    pipeline_name = f"{configs.PIPELINE_NAME}-{args.name}"
    examples, transform_graph, settings = trained_inputs(str(paths.metadata), pipeline_name)
    with open(os.path.join(examples.uri, CLASS_NAMES_FILE)) as f:
        class_names = json.load(f)
    records = split_records(examples.uri, "train")
    parsed = [tf.train.Example.FromString(r).features.feature for r in records]
    texts = [p[TEXT_KEY].bytes_list.value[0] for p in parsed]
    labels = np.array([p[LABEL_KEY].int64_list.value[0] for p in parsed])
    if min(np.bincount(labels, minlength=len(class_names))) < args.folds:
        raise AuditError(f"a class has fewer training documents than --folds {args.folds}; lower --folds")
    print(f"auditing {len(records):,} training documents of {args.name}: {args.folds} trainings", file=sys.stderr)
    started = time.time()
    probabilities = out_of_fold_probabilities(
        records,
        examples.uri,
        transform_graph.uri,
        settings,
        len(class_names),
        args.folds,
        lambda line: print(line, file=sys.stderr, flush=True),
    )
    ranked = find_label_issues(labels, probabilities, return_indices_ranked_by="self_confidence")

    store = mlmd.sqlite_store(str(paths.metadata))
    example_gen = mlmd.producer(store, examples.id)
    ingest = IngestSettings.from_exec_properties({"custom_config": mlmd.custom_property(example_gen, "custom_config")})
    root = mlmd.custom_property(example_gen, "input_base")
    files = files_by_text(root, ingest.train_dir, class_names, ingest.max_file_bytes)

    audit_dir = os.path.join(paths.run_dir, "audits", time.strftime("%Y%m%dT%H%M%S"))
    os.makedirs(audit_dir, exist_ok=True)
    rows = []
    for rank, i in enumerate(ranked, 1):
        suggested = int(np.argmax(probabilities[i]))
        rows.append(
            {
                "rank": rank,
                "file": files.get(texts[i], "(file not found: the corpus changed since the run)"),
                "label": class_names[labels[i]],
                "suggested": class_names[suggested],
                "label_probability": round(float(probabilities[i][labels[i]]), 4),
                "suggested_probability": round(float(probabilities[i][suggested]), 4),
            }
        )
    with open(os.path.join(audit_dir, ISSUES_FILE), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["rank", "file"])
        writer.writeheader()
        writer.writerows(rows)
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    summary = {
        "folds": args.folds,
        "documents": len(records),
        "suspects": len(rows),
        "out_of_fold_accuracy": round(accuracy, 4),
        "seconds": round(time.time() - started, 1),
        "examples_uri": examples.uri,
        "method": "cleanlab.filter.find_label_issues, ranked by self-confidence",
    }
    with open(os.path.join(audit_dir, AUDIT_FILE), "w") as f:
        json.dump(summary, f, indent=2)
    record(str(paths.metadata), examples, audit_dir, summary)
    print(
        f"{len(rows):,} suspect labels of {len(records):,} training documents "
        f"(out-of-fold accuracy {accuracy:.4f}, {summary['seconds']:.0f} s); all in {audit_dir}/{ISSUES_FILE}"
    )
    for row in rows[: args.top]:
        print(
            f"  {row['rank']:>4}  {row['file']}  labelled {row['label']} ({row['label_probability']:.3f}), "
            f"the model says {row['suggested']} ({row['suggested_probability']:.3f})"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet.setup(args.verbose)
    try:
        return audit_labels(args)
    except AuditError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    quiet.exit_with(main)
