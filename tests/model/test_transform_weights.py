"""The default Transform analysed by tf.Transform on Beam: TF-IDF weights, auto's character n-grams, and the
whole-document input (the other two Beam runs: tests/model/test_transform_ids.py)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.model.test_transform_ids import TUTORIAL_LAYOUT, analyze_and_transform


@pytest.mark.slow  # a Beam run of its own (12-14 s)
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
def default_rows():
    """The default Transform (tfidf, auto) on three English documents and a Japanese one: one Beam run."""
    train = [
        {"text": ["good good film. console.log"], "label": [1]},
        {"text": ["bad film console"], "label": [0]},
        {"text": ["good console"], "label": [1]},
        {"text": ["猫が座った ok"], "label": [0]},
    ]
    return analyze_and_transform({"vocab_size": 20, "ngram_buckets": 50}, train)


@pytest.mark.slow  # default_rows is a Beam run of its own (36-42 s with make test-fast's other tests)
def test_tfidf_rows_hold_each_distinct_term_once_with_unit_norm(default_rows):
    texts = [t.decode() for t in default_rows[0]["token_texts$ragged_values"]]
    weights = dict(zip(texts, default_rows[0]["token_weights$ragged_values"], strict=True))
    assert texts == ["good", "film", "console", "log", "good good", "good film", "film console", "console log"]
    assert np.isclose(sum(w * w for w in weights.values()), 1.0)
    # In one training document only (log, and each bigram but none): weight 0, as the baseline's min_df 2.
    assert weights["log"] == 0 and weights["good good"] == 0
    # "good" twice in the document, in 2 of 4 documents: (1 + ln 2) x idf; "film" once, in 2 of 4 as well.
    assert np.isclose(weights["good"] / weights["film"], 1 + np.log(2))


@pytest.mark.slow  # default_rows is a Beam run of its own (36-42 s with make test-fast's other tests)
def test_auto_gives_character_trigrams_to_the_documents_written_without_spaces(default_rows):
    """Per document: the Japanese one gets character trigrams, the English ones of the same corpus bigrams."""
    english, japanese = default_rows[0], default_rows[3]
    texts = [t.decode() for t in japanese["token_texts$ragged_values"]]
    assert texts[:6] == ["猫", "が", "座", "っ", "た", "ok"] and "猫 が 座" in texts
    assert max(len(t.decode().split(" ")) for t in english["token_texts$ragged_values"]) == 2
