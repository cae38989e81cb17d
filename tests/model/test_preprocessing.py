"""The standardization and the Transform graph (preprocessing_fn run by tf.Transform on Beam)."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
import tensorflow as tf

from models import preprocessing


def strings(t):
    return [s.decode() for s in t.numpy().tolist()]


# The tutorial recipe's tokens and layout: every occurrence, no weights.
TUTORIAL_LAYOUT = {"tokenizer": "tutorial", "weighting": "none"}


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
    config = {**TUTORIAL_LAYOUT, "vocab_size": 4, "max_len": 12, "ngrams": 2, "ngram_buckets": 7}
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
    config = {**TUTORIAL_LAYOUT, "vocab_size": 60, "max_len": 0, "ngrams": 2, "ngram_buckets": 1000}
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
    config = {**TUTORIAL_LAYOUT, "vocab_size": 4, "max_len": 5, "ngrams": 1, "ngram_buckets": 0}  # pad, OOV, 2 tokens

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


def words(text: str) -> list[str]:
    return [w.decode() for w in preprocessing.words(tf.constant([text])).to_list()[0]]


def test_the_tutorial_standardization_is_pinned():
    """The `tutorial` recipe's tokens, byte for byte the seed's (its 0.87 depends on them)."""
    text = "I <b>loved</b> it!<br /><br />C++ & std::vector<int>... 10/10 “Great”; well-made, isn't it?"
    assert strings(preprocessing.standardize(tf.constant([text]))) == [
        "i blovedb it  c  stdvectorint 1010 “great” wellmade isnt it"
    ]


def test_punctuation_separates_words_and_code_tokens_survive():
    assert words("console.log(x); std::vector<int> end.Then well-made") == [
        "console", "log", "x", "std", "::", "vector", "<", "int", ">", "end", "then", "well", "made",
    ]  # fmt: skip
    assert words("C++ or C#? .NET, asp.net, #include <stdio.h>, a->b, x => y") == [
        "c++", "or", "c#", "?", ".net", "asp", ".net", "#include", "<", "stdio", "h", ">",
        "a", "->", "b", "x", "=>", "y",
    ]  # fmt: skip


def test_markup_goes_and_the_words_inside_it_stay():
    assert words("This movie was <b>great</b>!<br /><br />And <i>awful</i> &amp; <a href='x'>more</a>") == [
        "this", "movie", "was", "great", "!", "and", "awful", "more",
    ]  # fmt: skip


def test_each_character_of_a_script_written_without_spaces_is_a_token():
    assert words("今日は晴れ。สวัสดี ok") == ["今", "日", "は", "晴", "れ", "ส", "ว", "ั", "ส", "ด", "ี", "ok"]


@pytest.fixture(scope="module")
def default_rows():
    """The default Transform (tfidf, auto) on three English documents and a Japanese one: one Beam run."""
    train = [
        {"text": ["good good film. console.log"], "label": [1]},
        {"text": ["bad film console"], "label": [0]},
        {"text": ["good console"], "label": [1]},
        {"text": ["猫が座った ok"], "label": [0]},
    ]
    return analyze_and_transform({"vocab_size": 20, "ngram_buckets": 50}, train)


def test_tfidf_rows_hold_each_distinct_term_once_with_unit_norm(default_rows):
    texts = [t.decode() for t in default_rows[0]["token_texts$ragged_values"]]
    weights = dict(zip(texts, default_rows[0]["token_weights$ragged_values"], strict=True))
    assert texts == ["good", "film", "console", "log", "good good", "good film", "film console", "console log"]
    assert np.isclose(sum(w * w for w in weights.values()), 1.0)
    # In one training document only (log, and each bigram but none): weight 0, as the baseline's min_df 2.
    assert weights["log"] == 0 and weights["good good"] == 0
    # "good" twice in the document, in 2 of 4 documents: (1 + ln 2) x idf; "film" once, in 2 of 4 as well.
    assert np.isclose(weights["good"] / weights["film"], 1 + np.log(2))


def test_auto_gives_character_trigrams_to_the_documents_written_without_spaces(default_rows):
    """Per document: the Japanese one gets character trigrams, the English ones of the same corpus bigrams."""
    english, japanese = default_rows[0], default_rows[3]
    texts = [t.decode() for t in japanese["token_texts$ragged_values"]]
    assert texts[:6] == ["猫", "が", "座", "っ", "た", "ok"] and "猫 が 座" in texts
    assert max(len(t.decode().split(" ")) for t in english["token_texts$ragged_values"]) == 2
