"""Serving speed of two SavedModels on the same raw texts: batch throughput and single-text latency.

    python bench/serving.py --ours DIR --peer DIR --texts-from CORPUS/test [--n 1000]

ours: the pushed model's `predict_text` signature (Transform graph inside);
peer: the tutorial's export_model (TextVectorization inside), `serving_default`.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402


def load_texts(folder: Path, n: int):
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    step = max(1, len(files) // n)  # spread over the classes
    return [p.read_text(encoding="utf-8", errors="replace") for p in files[::step][:n]]


def measure(fn, texts, batch: int, latency_calls: int):
    fn(tf.constant(texts[:batch]))  # warm up: trace and allocate
    fn(tf.constant(texts[:1]))
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for i in range(0, len(texts), batch):
            fn(tf.constant(texts[i : i + batch]))
        best = min(best, time.perf_counter() - started)
    latencies = []
    for i in range(latency_calls):
        one = tf.constant([texts[i % len(texts)]])
        started = time.perf_counter()
        fn(one)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "texts_per_second": round(len(texts) / best, 1),
        "latency_ms_median": round(statistics.median(latencies), 3),
        "latency_ms_p99": round(latencies[int(0.99 * (len(latencies) - 1))], 3),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ours", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--texts-from", required=True, type=Path)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--latency-calls", type=int, default=300)
    args = p.parse_args()
    texts = load_texts(args.texts_from, args.n)
    ours = tf.saved_model.load(args.ours).signatures["predict_text"]
    peer = tf.saved_model.load(args.peer).signatures["serving_default"]
    result = {
        "texts": len(texts),
        "batch": args.batch,
        "ours": measure(lambda t: ours(text=t), texts, args.batch, args.latency_calls),
        "peer": measure(lambda t: peer(text=t), texts, args.batch, args.latency_calls),
    }
    result["throughput_ratio"] = round(result["ours"]["texts_per_second"] / result["peer"]["texts_per_second"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
