"""The standardization and the tokens, as graph functions on tensors (no tf.Transform analysis: that is
tests/model/test_transform_ids.py)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from models import preprocessing, ragged


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


def _ragged(rng, rows):
    lengths = rng.integers(0, 6, size=rows)
    return tf.RaggedTensor.from_row_lengths(rng.uniform(0.1, 3.0, size=int(lengths.sum())).astype(np.float32), lengths)


def test_the_flat_value_helpers_give_the_ragged_ops_results_bit_for_bit():
    """The helpers that replace ragged ops (so that the graph holds no validation: the test below) return what
    those ops return, empty rows included."""
    rng = np.random.default_rng(1)
    values = _ragged(rng, 40)
    kept = values.flat_values > 1.0
    expected = tf.ragged.boolean_mask(values, values.with_flat_values(kept))
    assert ragged.kept(values, kept).to_list() == expected.to_list()

    ids = values.with_flat_values(tf.cast(values.flat_values * 10, tf.int64) - 5)
    old = tf.where(ids < 0, tf.cast(preprocessing.OOV_ID, tf.int64), ids + 2)
    new = tf.ragged.map_flat_values(lambda v: tf.where(v < 0, tf.cast(preprocessing.OOV_ID, tf.int64), v + 2), ids)
    assert new.to_list() == old.to_list()

    df = values.with_flat_values(values.flat_values * 3)
    counts = values.with_flat_values(tf.round(values.flat_values) + 1)  # at least 1: a term is in its document
    weights = preprocessing._tfidf_weights(ids, df, counts, tf.constant(50.0))
    idf = preprocessing.log_wherever_it_sits((1.0 + 50.0) / (1.0 + df.flat_values)) + 1.0
    keep = tf.cast((df.flat_values >= 2) & (ids.flat_values != preprocessing.OOV_ID), tf.float32)
    raw = ids.with_flat_values((1.0 + preprocessing.log_wherever_it_sits(counts.flat_values)) * idf * keep)
    norms = tf.sqrt(tf.reduce_sum(tf.square(raw), axis=1))
    assert np.array_equal(weights.flat_values.numpy(), (raw / tf.maximum(norms, 1e-12)[:, None]).flat_values.numpy())
    assert np.array_equal(weights.row_splits.numpy(), values.row_splits.numpy())


def test_concat_rows_is_tf_concat_of_ragged_rows():
    """Each row's values of the first part, then the second's: empty rows, rows empty in one part only, three
    parts, strings and numbers."""
    rng = np.random.default_rng(2)
    numbers = [_ragged(rng, 30) for _ in range(3)]
    texts = [r.with_flat_values(tf.strings.as_string(r.flat_values)) for r in numbers[:2]]
    for parts in (numbers[:2], numbers, texts, numbers[:1]):
        expected = tf.concat(parts, axis=1)
        got = ragged.concat_rows(parts)
        assert got.to_list() == expected.to_list()
        assert np.array_equal(got.row_splits.numpy(), expected.row_splits.numpy())


def test_one_row_join_joins_every_tensor_with_those_rows():
    """A RowJoin built for the rows of some parts joins other tensors of the same rows (ids, weights of the same
    terms) as tf.concat joins them."""
    rng = np.random.default_rng(3)
    parts = [_ragged(rng, 25) for _ in range(2)]
    join = ragged.RowJoin(parts)
    for values in (parts, [p.with_flat_values(tf.strings.as_string(p.flat_values)) for p in parts]):
        assert join(values).to_list() == tf.concat(values, axis=1).to_list()


def test_row_ids_from_row_splits_are_tf_ragged_row_ids():
    """with_row_ids of a tensor built from row splits (as tf.strings.ngrams builds one): the same rows and the
    same row ids, empty rows and an empty batch included."""
    for texts in (["a b c", "", "d", "", "e f g h", ""], [], [""]):
        grams = tf.strings.ngrams(tf.strings.split(tf.constant(texts, tf.string)), 2, separator=" ")
        got = ragged.with_row_ids(grams)
        assert got.to_list() == grams.to_list()
        assert np.array_equal(got.value_rowids().numpy(), grams.value_rowids().numpy())
        assert np.array_equal(got.row_splits.numpy(), grams.row_splits.numpy())


def test_the_default_graph_holds_no_ragged_validation():
    """tf.Transform traces preprocessing_fn nine times per run, and serving runs its graph on every request:
    the ragged ops' validation (assertions in conditionals) made the default graph 3,015 ops instead of 994, and
    most of each trace's time (bench/NOTES.md, "Transform's traces"). tf.concat of ragged rows added the last 5
    conditionals (its check of the row counts), before `concat_rows`."""
    import dataclasses

    from tensorflow_transform import impl_helper

    from models import recipe
    from models.features import LABEL_KEY, TEXT_KEY

    config = {k: v for k, v in dataclasses.asdict(recipe.TransformConfig()).items() if k != "materialize"}
    specs = {TEXT_KEY: tf.TensorSpec([None], tf.string), LABEL_KEY: tf.TensorSpec([None], tf.int64)}
    graph, _, _ = impl_helper.trace_preprocessing_function(
        lambda inputs: preprocessing.preprocessing_fn(inputs, config), specs, use_tf_compat_v1=False
    )
    guards = [op.name for op in graph.get_operations() if op.type == "If"]
    assert guards == []
