"""The standardization and the tokens, as graph functions on tensors (no tf.Transform analysis: that is
tests/model/test_transform_ids.py)."""

from __future__ import annotations

import numpy as np
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


def test_a_weights_log_does_not_depend_on_its_place_in_the_batch():
    """Two cold runs must write the same examples, and Beam batches documents as it likes. float32
    tf.math.log gives some values a different last bit inside a vector than at its end; the weights' log does
    not: each value alone, and in vectors of every length up to 40, equals numpy's float64 log rounded."""
    values = np.random.default_rng(0).uniform(1.0, 30_000.0, size=3_000).astype(np.float32)
    expected = np.log(values.astype(np.float64)).astype(np.float32)
    alone = np.array([preprocessing.log_wherever_it_sits(values[i : i + 1]).numpy()[0] for i in range(500)])
    assert np.array_equal(alone, expected[:500])
    in_vectors = [preprocessing.log_wherever_it_sits(values[:n]).numpy() for n in range(1, 41)]
    assert all(np.array_equal(got, expected[: len(got)]) for got in in_vectors)
    assert np.array_equal(preprocessing.log_wherever_it_sits(values).numpy(), expected)
