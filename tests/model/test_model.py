"""The embedding-pooling model and the device strategy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

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
    assert model_lib.choose_strategy() is tf.distribute.get_strategy()


def test_mirrored_strategy_trains_on_two_logical_cpus():
    """The multi-device path (as on several GPUs), exercised with two logical CPUs in a fresh process."""
    script = textwrap.dedent("""
        import os
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from models import model as model_lib
        strategy = model_lib.choose_strategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
        with strategy.scope():
            m = model_lib.build_model(num_classes=3, embedding_rows=20, max_len=6, learning_rate=0.05)
        rng = np.random.default_rng(0)
        y = rng.integers(0, 3, 256)
        x = np.stack([np.full(6, 2 + label) for label in y])  # the class is in the token id
        hist = m.fit(x, y, batch_size=32, epochs=15, verbose=0)
        assert hist.history["accuracy"][-1] > 0.9, hist.history["accuracy"]
        print("OK", strategy.num_replicas_in_sync, round(hist.history["accuracy"][-1], 3))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK 2" in result.stdout


@pytest.mark.parametrize("classes, mask_padding", [(2, True), (2, False), (3, True)])
def test_token_contributions_and_bias_sum_to_the_logits(classes, mask_padding):
    tf.keras.utils.set_random_seed(3)
    m = model_lib.build_model(
        num_classes=classes, embedding_rows=40, max_len=9, embedding_dim=5, mask_padding=mask_padding
    )
    token_ids = tf.constant([[5, 7, 7, 30, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8, 9]], tf.int64)
    contributions, bias = model_lib.token_contributions(m, token_ids, mask_padding)
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
