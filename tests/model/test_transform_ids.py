"""The Transform graph analysed by tf.Transform on Beam: ids, padding, OOV and n-gram ids of the tutorial's layout.

Each Beam run costs 12 s or more: four here, two in tests/model/test_transform_weights.py; all six are in the slow
tier (`make test` runs them, `make test-fast` does not: with two of them it took 116-126 s, over its 90 s). The
graph functions alone, on tensors: tests/model/test_preprocessing.py (fast tier)."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
import tensorflow as tf

from models import preprocessing, ragged

# The tutorial recipe's tokens and layout: every occurrence, no weights.
TUTORIAL_LAYOUT = {"tokenizer": "tutorial", "weighting": "none"}


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


@pytest.mark.slow  # a Beam run of its own (12.6 s)
def test_hashed_bigrams_follow_the_unigram_ids():
    config = {**TUTORIAL_LAYOUT, "vocab_size": 4, "max_len": 12, "ngrams": 2, "ngram_buckets": 7}
    first, second = (list(row["token_ids"]) for row in analyze_and_transform(config))
    # 6 unigrams (b b b a a c -> 2 2 2 3 3 1), then 5 bigrams hashed into ids 4..10, then padding.
    assert first[:6] == [2, 2, 2, 3, 3, 1]
    assert all(4 <= i < 11 for i in first[6:11]) and first[11] == 0
    assert first[6] == first[7]  # "b b" twice: the same hash
    bb = tf.strings.to_hash_bucket_fast(["b b"], 7).numpy()[0] + 4
    assert first[6] == bb


@pytest.mark.slow  # a Beam run of its own
@pytest.mark.parametrize("max_len", [0, 14])
def test_words_told_by_their_ids_are_the_terms_without_a_space(max_len):
    """The exported model counts words (and unknown ones) by id when n-grams are hashed: the same counts as the
    test on each term's text, on Transform's own output, with ragged rows and with padded ones."""
    from models.export import unknown_words
    from models.recipe import TransformConfig

    config = {"vocab_size": 4, "max_len": max_len, "ngrams": 2, "ngram_buckets": 7}
    rows = analyze_and_transform(config)
    to_tensor = tf.ragged.constant if max_len == 0 else tf.constant
    # Ragged outputs come back as `<key>$ragged_values`, one row each.
    values = lambda row, key: list(row[key] if max_len else row[f"{key}$ragged_values"])  # noqa: E731
    transformed = {key: to_tensor([values(row, key) for row in rows]) for key in ("token_ids", "token_texts")}
    by_ids = unknown_words(transformed, TransformConfig(**config))
    by_texts = unknown_words(transformed, TransformConfig(**{**config, "ngram_buckets": 0}))
    assert {k: v.numpy().tolist() for k, v in by_ids.items()} == {k: v.numpy().tolist() for k, v in by_texts.items()}
    assert by_ids["word_count"].numpy().tolist() == [3, 3]  # distinct terms (tfidf): b a c; b ! a


@pytest.fixture(scope="module")
def transformed():
    """preprocessing_fn analysed and applied by tf.Transform on a tiny dataset."""
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    train = [{"text": ["b b b a a c"], "label": [1]}, {"text": ["B! a <br />b"], "label": [0]}]
    spec = {"text": tf.io.FixedLenFeature([1], tf.string), "label": tf.io.FixedLenFeature([1], tf.int64)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    config = {**TUTORIAL_LAYOUT, "vocab_size": 4, "max_len": 5, "ngrams": 1, "ngram_buckets": 0}  # pad, OOV, 2 tokens

    def fn(inputs):
        return preprocessing.preprocessing_fn(inputs, config)

    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp, force_tf_compat_v1=False):
        (data, _), _ = (train, metadata) | tft_beam.AnalyzeAndTransformDataset(fn)
    return data


@pytest.mark.slow  # the fixture is a Beam run of its own (17-27 s with make test-fast's other tests)
def test_ids_padding_oov_and_frequency_order(transformed):
    # Counts in the training data: b=5, a=3, c=1. vocab_size 4 keeps b, a.
    # b -> 2, a -> 3, c and anything else -> 1 (OOV), padding 0.
    first, second = (list(row["token_ids"]) for row in transformed)
    assert first == [2, 2, 2, 3, 3]  # truncated to max_len 5 ('c' cut off)
    assert second == [2, 3, 2, 0, 0]  # 'B!' standardizes to 'b'; padded
    assert [int(np.asarray(row["label"]).reshape(-1)[0]) for row in transformed] == [1, 0]


@pytest.mark.slow  # a Beam run of its own per weighting
@pytest.mark.parametrize("weighting", ["tfidf", "none"])
def test_the_vocabulary_is_tf_transforms_frequency_vocabulary_over_many_batches(weighting, tmp_path):
    """The pipeline's vocabulary (models/vocabulary.py, through preprocessing_fn) is the file an unweighted
    `tft.vocabulary` writes: the same counts added across batches, ties in the same order, the same threshold
    (tfidf: a word in one document only is left out). Batches of 3 documents split every count."""
    import random

    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    rng = random.Random(0)
    words = [f"w{i}" for i in range(12)]
    train = [{"text": [" ".join(rng.choices(words, k=rng.randint(1, 8)))], "label": [0]} for _ in range(40)]
    train.append({"text": ["once once once twice"], "label": [1]})  # "once": three occurrences in one document
    train.append({"text": ["twice"], "label": [0]})
    spec = {"text": tf.io.FixedLenFeature([1], tf.string), "label": tf.io.FixedLenFeature([1], tf.int64)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    config = {**TUTORIAL_LAYOUT, "weighting": weighting, "vocab_size": 20, "max_len": 8, "ngrams": 1}
    config["ngram_buckets"] = 0
    tfidf = weighting == "tfidf"

    def fn(inputs):
        outputs = preprocessing.preprocessing_fn(inputs, config)
        terms = preprocessing.tokens(preprocessing._dense_text(inputs["text"]), "tutorial")
        tft.vocabulary(
            ragged.distinct(terms)[0] if tfidf else terms,
            top_k=config["vocab_size"] - preprocessing._RESERVED_IDS,
            frequency_threshold=preprocessing.MIN_DOCUMENT_FREQUENCY if tfidf else None,
            vocab_filename="reference",
        )
        return outputs

    with tft_beam.Context(temp_dir=str(tmp_path / "tmp"), desired_batch_size=3, force_tf_compat_v1=False):
        transform_fn = (train, metadata) | tft_beam.AnalyzeDataset(fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "out"))
    assets = tmp_path / "out" / "transform_fn" / "assets"
    vocabulary = (assets / preprocessing.VOCAB_NAME).read_text().split()
    assert vocabulary == (assets / "reference").read_text().split()
    assert "twice" in vocabulary and ("once" in vocabulary) != tfidf


@pytest.mark.slow  # a Beam run of its own
def test_frequency_vocabulary_writes_the_file_tft_vocabulary_writes(tmp_path):
    """models/vocabulary.py against tf.Transform's own analyzer, in one run over batches of 3 documents: a top_k that
    cuts through tied counts, a threshold, float weights with the counts stored, and a threshold nothing passes
    (tf.Transform's placeholder token). Terms with a line break inside, which a text file cannot hold, are left
    out by both."""
    import random

    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    from models.vocabulary import frequency_vocabulary

    rng = random.Random(1)
    words = [f"w{i}" for i in range(30)] + ["é", "c++", "<b>", "two\nlines", "cr\r"]
    train = [{"text": [" ".join(rng.choices(words, k=rng.randint(1, 9)))]} for _ in range(50)]
    metadata = dataset_metadata.DatasetMetadata(
        schema_utils.schema_from_feature_spec({"text": tf.io.FixedLenFeature([1], tf.string)})
    )
    cases = {
        "ties": {"top_k": 7},
        "threshold": {"frequency_threshold": 12},
        "weighted": {"store_frequency": True},
        "empty": {"frequency_threshold": 10_000},
    }

    def fn(inputs):
        terms = tf.strings.split(tf.reshape(inputs["text"], [-1]), sep=" ").flat_values
        for name, kwargs in cases.items():
            if name == "weighted":
                kwargs = {**kwargs, "weights": tf.cast(tf.strings.length(terms, unit="UTF8_CHAR"), tf.float32) * 0.3}
            frequency_vocabulary(terms, vocab_filename=f"ours_{name}", **kwargs)
            tft.vocabulary(terms, vocab_filename=f"tft_{name}", **kwargs)
        return {"length": tf.cast(tf.strings.length(tf.reshape(inputs["text"], [-1])), tf.int64)}

    with tft_beam.Context(temp_dir=str(tmp_path / "tmp"), desired_batch_size=3, force_tf_compat_v1=False):
        transform_fn = (train, metadata) | tft_beam.AnalyzeDataset(fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "out"))
    assets = tmp_path / "out" / "transform_fn" / "assets"
    for name in cases:
        assert (assets / f"ours_{name}").read_bytes() == (assets / f"tft_{name}").read_bytes(), name
    assert len((assets / "ours_ties").read_bytes().splitlines()) == 7
    assert len((assets / "ours_empty").read_bytes().splitlines()) == 1
