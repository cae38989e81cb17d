"""A training split's profile, kept beside the model it trained, and the drift of a new corpus against it.

The profile (`assets.extra/training_profile/` of every exported model, so a
pushed version carries it and no orchestrator needs ML Metadata to find it):

    statistics.pb   TFDV statistics of the class names and `word_count`
    profile.json    document count, token count, and the MAX_TOKENS most
                    frequent tokens with their counts (the tokens of
                    models/preprocessing.standardize)

`drift` compares a new corpus's profile with a served model's. Measures, each
0 for an identical corpus:

| measure       | what                                                     | by                            |
|---------------|----------------------------------------------------------|-------------------------------|
| label_linf    | the largest change of one class's share                  | TFDV's L-infinity comparator  |
| word_count_js | Jensen-Shannon divergence of document lengths            | TFDV's comparator             |
| token_js      | Jensen-Shannon divergence (base 2, 0 to 1) of token      | this module: TFDV has none    |
|               | frequencies over the served model's vocabulary plus one  | for a vocabulary of tokens    |
|               | out-of-vocabulary bucket                                 |                               |
| oov_rate      | the new corpus's share of tokens outside that vocabulary | this module                   |
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
import string

from models.recipe import knob

PROFILE_DIR = "training_profile"  # under a model's assets.extra/
STATISTICS_FILE = "statistics.pb"
PROFILE_FILE = "profile.json"
# More than any vocabulary a recipe asks for (20,000 by default), so every served token's count is kept.
MAX_TOKENS = 100_000
MEASURES = ("label_linf", "word_count_js", "token_js", "oov_rate")
SHOWN_DIFFERENCES = 20  # the tokens whose shares changed most, for the report's plot
_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")


def content_tokens(text: str) -> list[str]:
    """The tokens of models/preprocessing.standardize, in Python (a test checks that both agree)."""
    return _PUNCTUATION.sub("", text.lower().replace("<br />", " ")).split()


def profile_examples(patterns: list[str], class_names: list[str]) -> tuple[dict, object]:
    """(profile dict, TFDV DatasetFeatureStatisticsList) of the examples in `patterns` (gzipped TFRecord globs)."""
    import pandas as pd
    import tensorflow as tf
    import tensorflow_data_validation as tfdv

    from models.features import LABEL_KEY, TEXT_KEY, WORD_COUNT_KEY

    files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
    spec = {
        TEXT_KEY: tf.io.FixedLenFeature([], tf.string),
        LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
        WORD_COUNT_KEY: tf.io.FixedLenFeature([], tf.int64),
    }
    tokens: collections.Counter = collections.Counter()
    labels, lengths = [], []
    # Parsed a batch at a time: one record per step spent 3.5 of 6.5 s on IMDB's training split in tf.data's
    # per-element overhead.
    batches = (
        tf.data.TFRecordDataset(files, compression_type="GZIP")
        .batch(1024)
        .map(lambda records: tf.io.parse_example(records, spec))
    )
    for batch in batches.as_numpy_iterator():
        for text in batch[TEXT_KEY]:
            tokens.update(content_tokens(text.decode("utf-8")))
        labels += [class_names[i] for i in batch[LABEL_KEY]]
        lengths += batch[WORD_COUNT_KEY].tolist()
    frame = pd.DataFrame({LABEL_KEY: labels, WORD_COUNT_KEY: lengths})
    statistics = tfdv.generate_statistics_from_dataframe(frame)
    profile = {
        "documents": len(labels),
        "tokens_total": sum(tokens.values()),
        "token_counts": dict(sorted(tokens.most_common(MAX_TOKENS), key=lambda kv: (-kv[1], kv[0]))),
    }
    return profile, statistics


def write(folder: str, profile: dict, statistics) -> None:
    import tensorflow as tf

    tf.io.gfile.makedirs(folder)
    with tf.io.gfile.GFile(os.path.join(folder, PROFILE_FILE), "w") as f:
        f.write(json.dumps(profile))
    with tf.io.gfile.GFile(os.path.join(folder, STATISTICS_FILE), "wb") as f:
        f.write(statistics.SerializeToString())


def read(folder: str) -> tuple[dict, object] | None:
    """The profile written by `write`, or None where there is none (a model exported before profiles)."""
    import tensorflow as tf
    from tensorflow_metadata.proto.v0 import statistics_pb2

    path = os.path.join(folder, PROFILE_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        profile = json.load(f)
    statistics = statistics_pb2.DatasetFeatureStatisticsList()
    with tf.io.gfile.GFile(os.path.join(folder, STATISTICS_FILE), "rb") as f:
        statistics.ParseFromString(f.read())
    return profile, statistics


def _tfdv_measures(reference_statistics, statistics) -> dict[str, float]:
    """label_linf and word_count_js from TFDV's own drift comparators (thresholds of 1: measure, never flag)."""
    import tensorflow_data_validation as tfdv

    from models.features import LABEL_KEY, WORD_COUNT_KEY

    schema = tfdv.infer_schema(reference_statistics)
    tfdv.get_feature(schema, LABEL_KEY).drift_comparator.infinity_norm.threshold = 1.0
    tfdv.get_feature(schema, WORD_COUNT_KEY).drift_comparator.jensen_shannon_divergence.threshold = 1.0
    anomalies = tfdv.validate_statistics(statistics, schema, previous_statistics=reference_statistics)
    names = {LABEL_KEY: "label_linf", WORD_COUNT_KEY: "word_count_js"}
    return {
        names[info.path.step[0]]: float(info.drift_measurements[0].value)
        for info in anomalies.drift_skew_info
        if info.path.step and info.path.step[0] in names and info.drift_measurements
    }


def _shares(profile: dict, vocabulary: list[str]) -> list[float]:
    counts = profile["token_counts"]
    in_vocabulary = [counts.get(t, 0) for t in vocabulary]
    total = max(profile["tokens_total"], 1)
    return [n / total for n in in_vocabulary] + [max(total - sum(in_vocabulary), 0) / total]


def jensen_shannon(p: list[float], q: list[float]) -> float:
    """Base 2, from 0 (equal) to 1 (disjoint)."""
    import numpy as np
    from scipy.spatial import distance

    value = distance.jensenshannon(np.asarray(p), np.asarray(q), base=2)
    return 0.0 if np.isnan(value) else float(value) ** 2


def drift(reference: tuple[dict, object], current: tuple[dict, object], vocabulary: list[str]) -> dict:
    """Every measure of MEASURES, the reference's own OOV rate, and the tokens whose shares moved most."""
    (ref_profile, ref_statistics), (profile, statistics) = reference, current
    p, q = _shares(ref_profile, vocabulary), _shares(profile, vocabulary)
    names = vocabulary + ["(out of vocabulary)"]
    moved = sorted(range(len(names)), key=lambda i: (-abs(q[i] - p[i]), names[i]))[:SHOWN_DIFFERENCES]
    return {
        **_tfdv_measures(ref_statistics, statistics),
        "token_js": jensen_shannon(p, q),
        "oov_rate": q[-1],
        "reference_oov_rate": p[-1],
        "documents": profile["documents"],
        "reference_documents": ref_profile["documents"],
        "largest_token_differences": [{"token": names[i], "reference": p[i], "current": q[i]} for i in moved],
    }


def parse_limits(text: str) -> dict[str, float]:
    """'token_js=0.1,oov_rate=0.05' -> {'token_js': 0.1, 'oov_rate': 0.05}; ValueError naming what is wrong."""
    limits: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in MEASURES:
            raise ValueError(f"--max-drift: unknown measure {name!r} in {text!r}; measures: {', '.join(MEASURES)}")
        try:
            limits[name] = float(value)
        except ValueError:
            raise ValueError(f"--max-drift: {part!r} needs a number, as in {name}=0.1") from None
        if not 0 <= limits[name] <= 1:
            raise ValueError(f"--max-drift: {name} is a number from 0 to 1, got {value}")
    return limits


def exceeded(measures: dict, limits: dict[str, float]) -> list[str]:
    """'token_js 0.3125 > 0.1' for each measure over its limit."""
    return [f"{name} {measures[name]:.4f} > {limit:g}" for name, limit in limits.items() if measures[name] > limit]


@dataclasses.dataclass(frozen=True)
class DriftConfig:
    """DriftCheck's settings (each a flag of both runners), handed to its executor unchanged as its custom
    config; beside their parser (parse_limits) so that the runners read them without loading the component."""

    # Off by default: a changed corpus is reported (the summary, the report), and stops a run only when asked.
    max_drift: str = knob(
        "",
        "stop before Transform when the train split drifted from the served model's: MEASURE=LIMIT,... "
        "(measures: label_linf, word_count_js, token_js, oov_rate)",
    )

    def validate(self) -> None:
        parse_limits(self.max_drift)  # a ValueError naming --max-drift and what is wrong
