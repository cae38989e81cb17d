"""The embedding-pooling model and the device strategy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from models import devices
from models import model as model_lib

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "classes, logits, loss", [(2, 1, "BinaryCrossentropy"), (4, 4, "SparseCategoricalCrossentropy")]
)
def test_head_and_loss_follow_the_class_count(classes, logits, loss):
    m = model_lib.build_model(num_classes=classes, embedding_rows=50, max_len=7)
    assert m.output_shape == (None, logits)
    assert type(m.loss).__name__ == loss
    names = [layer.__class__.__name__ for layer in m.layers]
    assert names == ["InputLayer", "Embedding", "Dropout", "MeanOfTokens", "Dropout", "Dense"]
    whole = model_lib.build_model(num_classes=classes, embedding_rows=50, max_len=0)
    assert whole.output_shape == (None, logits)
    assert [layer.__class__.__name__ for layer in whole.layers] == ["InputLayer", "MeanEmbedding", "Dropout", "Dense"]


def ragged(rows) -> tf.RaggedTensor:
    return tf.ragged.constant(rows, dtype=tf.int64)


def test_the_whole_document_input_averages_every_token_of_a_long_document():
    """max_len 0: a ragged row of any length; the average is over all its ids (a 10,000-id row's last id counts)."""
    tf.keras.utils.set_random_seed(5)
    m = model_lib.build_model(num_classes=2, embedding_rows=30, max_len=0, embedding_dim=4, dropout=0.0, pooling="mean")
    long_row = [2] * 9_999 + [29]
    table = m.get_layer("embedding").embeddings.numpy()
    pooled = tf_keras.Model(m.input, m.get_layer("embedding").output)(ragged([long_row, [3, 4], []])).numpy()
    np.testing.assert_allclose(pooled[0], table[long_row].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(pooled[1], table[[3, 4]].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pooled[2], 0.0)  # no tokens: the zero vector, the bias decides
    contributions, _ = model_lib.token_contributions(m, ragged([long_row]), True, "mean")
    assert contributions.shape[1] is None and contributions[0].shape[0] == 10_000
    assert float(tf.abs(contributions[0, -1, 0])) > 0  # the last id has its share


def test_probabilities_sum_to_one():
    binary = model_lib.probabilities(tf.constant([[0.0], [2.0]]), 2).numpy()
    np.testing.assert_allclose(binary.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(binary[1, 1], 1 / (1 + np.exp(-2.0)), rtol=1e-6)
    multi = model_lib.probabilities(tf.constant([[1.0, 2.0, 3.0]]), 3).numpy()
    np.testing.assert_allclose(multi.sum(), 1.0, rtol=1e-6)


def test_single_class_is_refused():
    with pytest.raises(ValueError, match="at least two classes"):
        model_lib.build_model(num_classes=1, embedding_rows=10, max_len=3)


def test_cpu_without_gpu_uses_the_default_strategy():
    if tf.config.list_logical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    assert devices.choose_strategy() is tf.distribute.get_strategy()


@pytest.mark.slow
def test_mirrored_strategy_trains_on_two_logical_cpus():
    """The multi-device path (as on several GPUs), exercised with two logical CPUs in a fresh process."""
    script = textwrap.dedent("""
        import os
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from models import devices
        from models import model as model_lib
        strategy = devices.choose_strategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
        rng = np.random.default_rng(0)
        y = rng.integers(0, 3, 256)
        # The class is in the token ids. Padded rows with Adam (the tutorial's), and whole-document rows
        # with the row-sparse Adagrad on the table: sparse updates of a mirrored variable.
        dense = np.stack([np.full(6, 2 + label) for label in y])
        whole = tf.ragged.constant([[2 + label] * (1 + i % 5) for i, label in enumerate(y)], dtype=tf.int64)
        for max_len, x, optimizer in [(6, dense, "adam"), (0, whole, "adagrad")]:
            with strategy.scope():
                m = model_lib.build_model(
                    num_classes=3, embedding_rows=20, max_len=max_len, learning_rate=0.05,
                    embedding_optimizer=optimizer, embedding_learning_rate=0.5,
                )
            ds = tf.data.Dataset.from_tensor_slices((x, y))
            ds = ds.ragged_batch(32) if max_len == 0 else ds.batch(32)
            hist = m.fit(ds, epochs=15, verbose=0)
            assert hist.history["accuracy"][-1] > 0.9, (optimizer, hist.history["accuracy"])
            print("OK", optimizer, strategy.num_replicas_in_sync, round(hist.history["accuracy"][-1], 3))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK adam 2" in result.stdout and "OK adagrad 2" in result.stdout


@pytest.mark.parametrize("classes, pooling", [(2, "mean"), (2, "sqrtn"), (3, "sqrtn")])
def test_whole_document_contributions_and_bias_sum_to_the_logits(classes, pooling):
    tf.keras.utils.set_random_seed(6)
    m = model_lib.build_model(num_classes=classes, embedding_rows=40, max_len=0, embedding_dim=5, pooling=pooling)
    token_ids = ragged([[5, 7, 7, 30], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], []])
    contributions, bias = model_lib.token_contributions(m, token_ids, True, pooling)
    logits = m(token_ids, training=False).numpy()
    summed = tf.reduce_sum(contributions, axis=1).numpy()
    np.testing.assert_allclose(summed + bias.numpy(), logits, atol=1e-5)
    np.testing.assert_allclose(logits[2], bias.numpy(), atol=1e-6)
    assert model_lib.token_count(token_ids).numpy().tolist() == [4, 11, 0]


@pytest.mark.parametrize("classes, max_len", [(2, 0), (3, 0), (2, 5)])
def test_weighted_contributions_and_bias_sum_to_the_logits(classes, max_len):
    """Transform's tfidf weighting: the model pools sum(weight x vector); each term's share is its own."""
    tf.keras.utils.set_random_seed(8)
    m = model_lib.build_model(num_classes=classes, embedding_rows=40, max_len=max_len, embedding_dim=5, weighted=True)
    ids, weights = [[5, 7, 30], [1, 2, 3, 4], []], [[0.6, 0.8, 0.0], [0.0, 0.5, 0.5, 0.70710677], []]
    if max_len:
        pad = lambda rows, value: tf.constant([r + [value] * (max_len - len(r)) for r in rows])  # noqa: E731
        inputs = {"token_ids": pad(ids, 0), "token_weights": pad(weights, 0.0)}
    else:
        inputs = {"token_ids": ragged(ids), "token_weights": tf.ragged.constant(weights, dtype=tf.float32)}
    contributions, bias = model_lib.token_contributions(m, inputs, True)
    logits = m(inputs, training=False).numpy()
    np.testing.assert_allclose(tf.reduce_sum(contributions, axis=1).numpy() + bias.numpy(), logits, atol=1e-5)
    np.testing.assert_allclose(logits[2], bias.numpy(), atol=1e-6)  # no term: the bias alone
    # A term of weight 0 (under min_df, or out of vocabulary) counts for nothing and is not counted.
    first = contributions[0].numpy() if max_len == 0 else contributions.numpy()[0]
    assert np.abs(first[2]).sum() == 0
    assert model_lib.token_count(inputs).numpy().tolist() == [2, 3, 0]


@pytest.mark.parametrize("max_len", [0, 6])
def test_adagrad_leaves_the_rows_a_batch_did_not_use_and_their_slots_unchanged(max_len):
    """The sparse-cost optimizer: one training step changes the table's rows the batch used and their Adagrad
    accumulators, and nothing else of the table (Adam would decay every row's moments on every step)."""
    tf.keras.utils.set_random_seed(7)
    m = model_lib.build_model(
        num_classes=2,
        embedding_rows=40,
        max_len=max_len,
        embedding_optimizer="adagrad",
        steps_per_execution=1,
        # No dropout: at the default 0.7 a row used once can have every dimension dropped in its one step, and
        # then nothing to update; what is tested is the optimizer's sparse update.
        dropout=0.0,
    )
    rows = [[2, 3, 5], [5, 9], [3]]
    x = ragged(rows) if max_len == 0 else tf.constant([r + [0] * (max_len - len(r)) for r in rows], tf.int64)
    y = np.array([0, 1, 1])
    m.fit(x, y, batch_size=3, epochs=1, verbose=0)  # builds the optimizers' slots
    table = m.get_layer("embedding").embeddings
    (accumulator,) = [v for v in m._split.optimizer.variables if v.shape == table.shape]
    before_table, before_slots = table.numpy(), accumulator.numpy()
    m.fit(x, y, batch_size=3, epochs=1, verbose=0)  # one step
    used = sorted({i for r in rows for i in r})
    unused = [i for i in range(40) if i not in used]
    np.testing.assert_array_equal(table.numpy()[unused], before_table[unused])
    np.testing.assert_array_equal(accumulator.numpy()[unused], before_slots[unused])
    assert np.all(np.any(table.numpy()[used] != before_table[used], axis=1))
    assert np.all(np.any(accumulator.numpy()[used] != before_slots[used], axis=1))
    dense_before = m.get_layer("logits").kernel.numpy()
    m.fit(x, y, batch_size=3, epochs=1, verbose=0)
    assert np.any(m.get_layer("logits").kernel.numpy() != dense_before)  # Adam still trains the dense layer


def test_the_same_seed_trains_the_same_weights_with_the_split_optimizer():
    def train():
        tf.keras.utils.set_random_seed(8)
        m = model_lib.build_model(num_classes=3, embedding_rows=30, max_len=0, embedding_optimizer="adagrad")
        rng = np.random.default_rng(0)
        x = ragged([list(rng.integers(1, 30, rng.integers(0, 12))) for _ in range(64)])
        m.fit(x, rng.integers(0, 3, 64), batch_size=16, epochs=3, verbose=0)
        return m.get_weights()

    for a, b in zip(train(), train(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_unknown_embedding_optimizer_is_refused():
    with pytest.raises(ValueError, match="--embedding-optimizer"):
        model_lib.build_model(num_classes=2, embedding_rows=10, max_len=0, embedding_optimizer="sgd")


@pytest.mark.parametrize(
    "classes, mask_padding, pooling", [(2, True, "mean"), (2, False, "mean"), (3, True, "mean"), (2, True, "sqrtn")]
)
def test_token_contributions_and_bias_sum_to_the_logits(classes, mask_padding, pooling):
    tf.keras.utils.set_random_seed(3)
    m = model_lib.build_model(
        num_classes=classes, embedding_rows=40, max_len=9, embedding_dim=5, mask_padding=mask_padding, pooling=pooling
    )
    token_ids = tf.constant([[5, 7, 7, 30, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8, 9]], tf.int64)
    contributions, bias = model_lib.token_contributions(m, token_ids, mask_padding, pooling)
    assert contributions.shape == (2, 9, 1 if classes == 2 else classes)
    logits = m(token_ids, training=False).numpy()
    np.testing.assert_allclose(contributions.numpy().sum(axis=1) + bias.numpy(), logits, atol=1e-5)
    padding = contributions.numpy()[0, 4:]
    assert (np.abs(padding).sum() == 0) == mask_padding  # padding weighs in only when it is averaged in


@pytest.mark.parametrize("classes", [2, 3])
def test_a_document_without_tokens_trains_without_nan_and_is_answered_by_the_bias(classes):
    """A row of padding only (a punctuation-only file) averages nothing: the pooled vector is 0, the logits
    are the output layer's bias, and a batch holding it trains to a finite loss (Keras' masked average gave
    0/0 = NaN, which poisoned every weight)."""
    tf.keras.utils.set_random_seed(4)
    m = model_lib.build_model(num_classes=classes, embedding_rows=20, max_len=6, mask_padding=True)
    x = np.array([[2, 3, 4, 0, 0, 0], [0, 0, 0, 0, 0, 0], [5, 6, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], np.int64)
    y = np.array([0, 1, 1, 0])
    history = m.fit(x, y, batch_size=4, epochs=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"])), history.history["loss"]
    assert all(np.all(np.isfinite(w)) for w in m.get_weights())
    logits = m(x, training=False).numpy()
    np.testing.assert_allclose(logits[1], m.get_layer("logits").bias.numpy(), atol=1e-6)
    np.testing.assert_allclose(logits[3], logits[1], atol=1e-6)
    assert model_lib.token_count(tf.constant(x)).numpy().tolist() == [3, 0, 2, 0]
    contributions, bias = model_lib.token_contributions(m, tf.constant(x), True)
    np.testing.assert_allclose(contributions.numpy().sum(axis=1) + bias.numpy(), logits, atol=1e-5)


def _inputs(kind: str):
    ids, weights = [[5, 7, 7, 30], [1, 2, 3, 4, 5, 6], []], [[0.5, 0.5, 0.5, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], []]
    pad = lambda rows, value: tf.constant([r + [value] * (9 - len(r)) for r in rows])  # noqa: E731
    if kind == "padded":
        return pad(ids, 0)
    if kind == "ragged":
        return ragged(ids)
    if kind == "weighted-padded":
        return {"token_ids": pad(ids, 0), "token_weights": pad(weights, 0.0)}
    return {"token_ids": ragged(ids), "token_weights": tf.ragged.constant(weights, dtype=tf.float32)}


@pytest.mark.parametrize(
    "kind, max_len, mask_padding, pooling",
    [
        ("padded", 9, True, "mean"),
        ("padded", 9, False, "sqrtn"),
        ("ragged", 0, True, "mean"),
        ("ragged", 0, True, "sqrtn"),
        ("weighted-padded", 9, True, "mean"),
        ("weighted-ragged", 0, True, "mean"),
    ],
)
@pytest.mark.parametrize("classes", [2, 4])
def test_the_folded_model_answers_and_explains_as_the_trained_one(kind, max_len, mask_padding, pooling, classes):
    """The exported copy (table E K, identity Dense) gives the trained model's logits and contributions."""
    from models import folding

    tf.keras.utils.set_random_seed(9)
    m = model_lib.build_model(
        num_classes=classes,
        embedding_rows=40,
        max_len=max_len,
        embedding_dim=8,
        mask_padding=mask_padding,
        pooling=pooling,
        weighted=kind.startswith("weighted"),
    )
    dense = m.get_layer("logits")  # a trained-looking head: a bias that is not 0
    dense.set_weights([dense.get_weights()[0], np.linspace(-0.5, 0.5, dense.units).astype(np.float32)])
    narrow = folding.folded(m)
    logits = 1 if classes == 2 else classes
    assert narrow.get_layer("embedding").get_weights()[0].shape == (40, logits)
    x = _inputs(kind)
    np.testing.assert_allclose(narrow(x, training=False).numpy(), m(x, training=False).numpy(), atol=1e-5)
    wide, wide_bias = model_lib.token_contributions(m, x, mask_padding, pooling)
    thin, thin_bias = model_lib.token_contributions(narrow, x, mask_padding, pooling)
    flat = lambda t: t.flat_values.numpy() if isinstance(t, tf.RaggedTensor) else t.numpy()  # noqa: E731
    np.testing.assert_allclose(flat(thin), flat(wide), atol=1e-6)
    np.testing.assert_allclose(thin_bias.numpy(), wide_bias.numpy())


def test_a_head_wider_than_the_embedding_is_not_folded():
    from models import folding

    m = model_lib.build_model(num_classes=12, embedding_rows=30, max_len=0, embedding_dim=8)
    assert folding.folded(m) is m
