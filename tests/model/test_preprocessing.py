"""The standardization and the Transform graph (preprocessing_fn run by tf.Transform on Beam)."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
import tensorflow as tf

from models import preprocessing


def strings(t):
    return [s.decode() for s in t.numpy().tolist()]


def test_standardize_is_the_tutorials():
    out = preprocessing.standardize(tf.constant(["Great MOVIE!<br />Loved it...", "it's (really) 10/10"]))
    assert strings(out) == ["great movie loved it", "its really 1010"]


def test_tokenize_unigrams_and_bigrams():
    text = tf.constant(["The cat, the HAT."])
    assert preprocessing.tokenize(text).to_list() == [[b"the", b"cat", b"the", b"hat"]]
    assert preprocessing.tokenize(text, ngrams=2).to_list() == [
        [b"the", b"cat", b"the", b"hat", b"the cat", b"cat the", b"the hat"]
    ]


def analyze_and_transform(config, train=None):
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    train = train or [{"text": ["b b b a a c"], "label": [1]}, {"text": ["B! a <br />b"], "label": [0]}]
    spec = {"text": tf.io.FixedLenFeature([1], tf.string), "label": tf.io.FixedLenFeature([1], tf.int64)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))

    def fn(inputs):
        return preprocessing.preprocessing_fn(inputs, config)

    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp, force_tf_compat_v1=False):
        (data, _), _ = (train, metadata) | tft_beam.AnalyzeAndTransformDataset(fn)
    return data


def test_hashed_bigrams_follow_the_unigram_ids():
    config = {"vocab_size": 4, "max_len": 12, "ngrams": 2, "ngram_buckets": 7}
    first, second = (list(row["token_ids"]) for row in analyze_and_transform(config))
    # 6 unigrams (b b b a a c -> 2 2 2 3 3 1), then 5 bigrams hashed into ids 4..10, then padding.
    assert first[:6] == [2, 2, 2, 3, 3, 1]
    assert all(4 <= i < 11 for i in first[6:11]) and first[11] == 0
    assert first[6] == first[7]  # "b b" twice: the same hash
    bb = tf.strings.to_hash_bucket_fast(["b b"], 7).numpy()[0] + 4
    assert first[6] == bb


def test_the_whole_document_keeps_every_id_of_a_5000_word_document():
    """max_len 0: nothing is cut. A 5,000-word document's row holds its 5,000 unigram ids and its 4,999 bigram
    ids; the last bigram ("w4998 end") is the row's last id."""
    words = [f"w{i % 50}" for i in range(4_999)] + ["end"]
    config = {"vocab_size": 60, "max_len": 0, "ngrams": 2, "ngram_buckets": 1000}
    rows = analyze_and_transform(config, [{"text": [" ".join(words)], "label": [1]}, {"text": [""], "label": [0]}])
    # Transform writes a ragged output as its values (and row lengths for an inner dimension).
    (key,) = [k for k in rows[0] if k.startswith("token_ids")]
    long_row, empty_row = (list(row[key]) for row in rows)
    assert len(long_row) == 5_000 + 4_999 and empty_row == []
    last_bigram = tf.strings.to_hash_bucket_fast([f"{words[-2]} end"], 1000).numpy()[0] + 60
    assert long_row[-1] == last_bigram and 0 not in long_row  # no padding either


@pytest.fixture(scope="module")
def transformed():
    """preprocessing_fn analysed and applied by tf.Transform on a tiny dataset."""
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    train = [{"text": ["b b b a a c"], "label": [1]}, {"text": ["B! a <br />b"], "label": [0]}]
    spec = {"text": tf.io.FixedLenFeature([1], tf.string), "label": tf.io.FixedLenFeature([1], tf.int64)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    config = {"vocab_size": 4, "max_len": 5, "ngrams": 1, "ngram_buckets": 0}  # padding, OOV and 2 tokens

    def fn(inputs):
        return preprocessing.preprocessing_fn(inputs, config)

    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp, force_tf_compat_v1=False):
        (data, _), _ = (train, metadata) | tft_beam.AnalyzeAndTransformDataset(fn)
    return data


def test_ids_padding_oov_and_frequency_order(transformed):
    # Counts in the training data: b=5, a=3, c=1. vocab_size 4 keeps b, a.
    # b -> 2, a -> 3, c and anything else -> 1 (OOV), padding 0.
    first, second = (list(row["token_ids"]) for row in transformed)
    assert first == [2, 2, 2, 3, 3]  # truncated to max_len 5 ('c' cut off)
    assert second == [2, 3, 2, 0, 0]  # 'B!' standardizes to 'b'; padded
    assert [int(np.asarray(row["label"]).reshape(-1)[0]) for row in transformed] == [1, 0]
