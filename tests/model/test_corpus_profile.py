"""Training profiles and drift (models/corpus_profile.py): zero for the same corpus, large for a changed one."""

from __future__ import annotations

import random

import pytest
import tensorflow as tf

from components.example_gen.records import make_example
from models import corpus_profile

CLASSES = ["neg", "pos"]
WORDS = [f"word{i}" for i in range(300)]
NEW_WORDS = [f"novel{i}" for i in range(300)]


def write_split(path, docs) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path), tf.io.TFRecordOptions(compression_type="GZIP")) as out:
        for text, label in docs:
            out.write(make_example(text.encode(), label, "x.txt").SerializeToString())
    return str(path)


def corpus(seed: int, n: int = 200, pos_share: float = 0.5, words=WORDS):
    rng = random.Random(seed)
    return [(" ".join(rng.choice(words) for _ in range(rng.randint(20, 80))), int(i < n * pos_share)) for i in range(n)]


def profile_of(tmp_path, name, docs):
    return corpus_profile.profile_examples([write_split(tmp_path / name / "data.gz", docs)], CLASSES)


def test_the_python_tokens_are_the_pipelines_standardization():
    from models.preprocessing import standardize

    texts = ["Great MOVIE!<br />Loved it...", "it's (really) 10/10", "  a\tb \n c  ", "<br /><br />", "!!!"]
    tf_tokens = [row.numpy().decode().split() for row in standardize(tf.constant(texts))]
    assert [corpus_profile.content_tokens(t) for t in texts] == tf_tokens


def test_an_identical_corpus_drifts_by_nothing_and_a_written_profile_reads_back(tmp_path):
    reference = profile_of(tmp_path, "a", corpus(1))
    corpus_profile.write(str(tmp_path / "profile"), *reference)
    read = corpus_profile.read(str(tmp_path / "profile"))
    assert read[0] == reference[0] and read[1] == reference[1]
    vocabulary = list(reference[0]["token_counts"])[:100]
    measures = corpus_profile.drift(read, profile_of(tmp_path, "b", corpus(1)), vocabulary)
    assert {m: measures[m] for m in corpus_profile.MEASURES if m != "oov_rate"} == {
        "label_linf": 0.0,
        "word_count_js": 0.0,
        "token_js": 0.0,
    }
    assert measures["oov_rate"] == pytest.approx(measures["reference_oov_rate"])
    assert corpus_profile.read(str(tmp_path / "nothing")) is None


def test_a_new_class_balance_and_a_new_vocabulary_are_large_drifts(tmp_path):
    reference = profile_of(tmp_path, "a", corpus(1))
    vocabulary = list(reference[0]["token_counts"])
    other_sample = corpus_profile.drift(reference, profile_of(tmp_path, "b", corpus(2)), vocabulary)
    rebalanced = corpus_profile.drift(reference, profile_of(tmp_path, "c", corpus(1, pos_share=0.2)), vocabulary)
    assert rebalanced["label_linf"] == pytest.approx(0.3)  # pos 50% -> 20%
    assert other_sample["label_linf"] == 0.0 and other_sample["token_js"] < 0.02 and other_sample["oov_rate"] == 0
    half_new = [
        (t + " " + " ".join(random.Random(i).choices(NEW_WORDS, k=50)), y) for i, (t, y) in enumerate(corpus(3))
    ]
    renewed = corpus_profile.drift(reference, profile_of(tmp_path, "d", half_new), vocabulary)
    assert renewed["oov_rate"] > 0.4 and renewed["token_js"] > 0.2
    assert renewed["token_js"] > 10 * other_sample["token_js"]
    assert renewed["largest_token_differences"][0]["token"] == "(out of vocabulary)"
    assert corpus_profile.exceeded(renewed, {"token_js": 0.1, "label_linf": 0.1}) == [
        f"token_js {renewed['token_js']:.4f} > 0.1"
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("tokens_js=0.1", "unknown measure 'tokens_js'"),
        ("token_js=high", "'token_js=high' needs a number"),
        ("oov_rate=2", "oov_rate is a number from 0 to 1"),
    ],
)
def test_max_drift_limits_are_checked(text, message):
    assert corpus_profile.parse_limits("token_js=0.1, label_linf=0.05") == {"token_js": 0.1, "label_linf": 0.05}
    assert corpus_profile.parse_limits("") == {}
    with pytest.raises(ValueError, match=message):
        corpus_profile.parse_limits(text)
