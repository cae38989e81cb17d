"""What `infer` writes and records: the BulkInferrer's prediction logs as rows, OUTPUT.jsonl and OUTPUT.csv, and
the predictions' path (or why they were not written) on the BulkInferrer's execution in ML Metadata."""

from __future__ import annotations

import csv
import glob
import json
import math
import os
from pathlib import Path

from pipeline import configs
from pipeline.recorded import mlmd

INFERENCE_PIPELINE_SUFFIX = "-inference"
SHOWN_SKIPS = 20  # skipped files listed one per line up to this many; all are in the ingestion report


class InferError(RuntimeError):
    """A request that cannot be served; the message says what to pass instead."""


def prediction_rows(inference_uri: str, class_names: list[str], version: str) -> list[dict]:
    """One row per PredictionLog under `inference_uri`, sorted by path."""
    import tensorflow as tf  # slow import
    from tensorflow_serving.apis import prediction_log_pb2

    from models.features import PATH_KEY

    files = sorted(glob.glob(os.path.join(inference_uri, "prediction_logs-*")))
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog.FromString(record).predict_log
        example = tf.train.Example.FromString(log.request.inputs["examples"].string_val[0])
        outputs = log.response.outputs
        probabilities = tf.make_ndarray(outputs["probabilities"]).reshape(-1).tolist()
        if not all(math.isfinite(p) for p in probabilities):
            raise InferError(
                f"model version {version} answers NaN (a model exported before the zero-token fix); "
                "train and push a new version with run_local.py"
            )
        rows.append(
            {
                "path": example.features.feature[PATH_KEY].bytes_list.value[0].decode("utf-8"),
                "class": class_names[int(tf.make_ndarray(log.response.outputs["class_id"]).reshape(-1)[0])],
                "probabilities": dict(zip(class_names, probabilities, strict=True)),
                **{
                    key: int(tf.make_ndarray(outputs[key]).reshape(-1)[0]) if key in outputs else None
                    for key in ("token_count", "oov_count", "word_count")
                },
                "model_version": version,
            }
        )
    return sorted(rows, key=lambda r: r["path"])


def prediction_files(prefix: Path) -> tuple[Path, Path]:
    """PREFIX.jsonl and PREFIX.csv."""
    return prefix.with_name(prefix.name + ".jsonl"), prefix.with_name(prefix.name + ".csv")


# BulkInferrer's execution property naming where its predictions went ("not written: <why>" when they were not):
# `inspect runs` and `lineage` show a labelling whose files were not written as such.
PREDICTIONS_PROPERTY = "predictions"
NOT_WRITTEN = "not written"


def record(metadata_path: Path, execution_id: int, predictions: str) -> None:
    store = mlmd.sqlite_store(str(metadata_path), writable=True)
    execution = store.get_executions_by_id([execution_id])[0]
    execution.custom_properties[PREDICTIONS_PROPERTY].string_value = predictions
    store.put_executions([execution])


def write_predictions(rows: list[dict], class_names: list[str], prefix: Path) -> tuple[Path, Path]:
    """PREFIX.jsonl (one object per file) and PREFIX.csv (path, class, one column per class, token_count,
    oov_count and word_count (the words outside the vocabulary, of all), model_version)."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    jsonl, table = prediction_files(prefix)
    with open(jsonl, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(table, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "path",
                "class",
                *(f"p_{c}" for c in class_names),
                "token_count",
                "oov_count",
                "word_count",
                "model_version",
            ]
        )
        for row in rows:
            writer.writerow(
                [
                    row["path"],
                    row["class"],
                    *(row["probabilities"][c] for c in class_names),
                    row["token_count"],
                    row["oov_count"],
                    row["word_count"],
                    row["model_version"],
                ]
            )
    return jsonl, table


def output_prefix(output: str | None, paths: configs.RunPaths, folder: Path) -> Path:
    """Where PREFIX.jsonl and PREFIX.csv go: --output, inside it when it is a folder (or ends with '/'),
    else under the run."""
    if output is None:
        return paths.predictions / folder.name
    path = Path(output).expanduser()
    if path.is_dir() or output.endswith(("/", os.sep)):
        return path / folder.name
    return path
