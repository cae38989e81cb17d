"""The embedding-pooling classifier of the TensorFlow text-classification tutorial.

    token ids -> Embedding -> Dropout -> average (MeanOfTokens) -> Dropout -> Dense (logits)

One logit and binary cross-entropy for two classes; one logit per class and
sparse categorical cross-entropy for more.

A document with no tokens (empty, or only punctuation and markup once
standardized: "!!! ... ???", "<br />") averages nothing. Its pooled vector is
the zero vector, so its logits are the output layer's bias alone: the model's
answer without evidence, the same in training, evaluation and every served
signature. Keras' own masked GlobalAveragePooling1D divides by the count of
real tokens and gives 0/0 = NaN there, which poisons the loss of a whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf
import tf_keras

from models.recipe import TrainConfig


def build_model(
    num_classes: int,
    embedding_rows: int,  # the ids the input can hold: vocabulary ids + hashed n-gram ids
    max_len: int,
    embedding_dim: int = TrainConfig.embedding_dim,
    dropout: float = TrainConfig.dropout,
    learning_rate: float = TrainConfig.learning_rate,
    mask_padding: bool = TrainConfig.mask_padding,
    steps_per_execution: int = TrainConfig.steps_per_execution,
) -> tf_keras.Model:
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least two classes, got {num_classes}")
    binary = num_classes == 2
    token_ids = tf_keras.Input(shape=(max_len,), dtype=tf.int64, name="token_ids")
    x = tf_keras.layers.Embedding(embedding_rows, embedding_dim, mask_zero=mask_padding, name="embedding")(token_ids)
    x = tf_keras.layers.Dropout(dropout)(x)
    x = MeanOfTokens(name="mean_of_tokens")(x)
    x = tf_keras.layers.Dropout(dropout)(x)
    logits = tf_keras.layers.Dense(1 if binary else num_classes, name="logits")(x)
    model = tf_keras.Model(token_ids, logits, name="embedding_pooling_classifier")
    if binary:
        loss = tf_keras.losses.BinaryCrossentropy(from_logits=True)
        metrics = [tf_keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)]
    else:
        loss = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [tf_keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    model.compile(
        optimizer=tf_keras.optimizers.Adam(learning_rate),
        loss=loss,
        metrics=metrics,
        steps_per_execution=steps_per_execution,
    )
    return model


@tf_keras.utils.register_keras_serializable(package="text_classifier")
class MeanOfTokens(tf_keras.layers.Layer):
    """The average over the sequence axis; with a mask, over the real tokens only, and 0 when there are none.

    Without a mask it is GlobalAveragePooling1D (the tutorial's: padding averaged in).
    """

    supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return tf.reduce_mean(inputs, axis=1)
        weights = tf.cast(mask, inputs.dtype)[:, :, None]
        count = tf.reduce_sum(weights, axis=1)
        return tf.reduce_sum(inputs * weights, axis=1) / tf.maximum(count, 1.0)

    def compute_mask(self, inputs, mask=None):
        return None


def token_count(token_ids: tf.Tensor) -> tf.Tensor:
    """[batch] int64: the positions that hold a token (not padding); 0 for a document with no tokens."""
    return tf.math.count_nonzero(token_ids, axis=1, dtype=tf.int64)


def token_contributions(model: tf_keras.Model, token_ids: tf.Tensor, mask_padding: bool):
    """Each position's exact share of the logits: ([batch, max_len, logits] contributions, [logits] bias).

    The logits are Dense(average of the embeddings) = sum over positions of
    (embedding . kernel) x weight + bias, with weight 1/(real tokens) when the
    average skips padding (mask_padding) and 1/max_len otherwise, so the
    contributions plus the bias sum to the logits (dropout is off at inference).
    A position of padding contributes 0 under mask_padding, and its embedding's
    share otherwise.
    """
    embedding, dense = model.get_layer("embedding"), model.get_layer("logits")
    per_position = tf.einsum("bld,dk->blk", embedding(token_ids), dense.kernel)
    if mask_padding:
        real = tf.cast(tf.not_equal(token_ids, 0), per_position.dtype)
        weights = real / tf.maximum(tf.reduce_sum(real, axis=1, keepdims=True), 1.0)
    else:
        weights = tf.ones_like(token_ids, per_position.dtype) / tf.cast(tf.shape(token_ids)[1], per_position.dtype)
    return per_position * weights[:, :, None], dense.bias


def probabilities(logits: tf.Tensor, num_classes: int) -> tf.Tensor:
    """[batch, num_classes] class probabilities from the model's logits."""
    if num_classes == 2:
        positive = tf.sigmoid(logits[:, 0])
        return tf.stack([1.0 - positive, positive], axis=1)
    return tf.nn.softmax(logits, axis=1)


def choose_strategy(devices: Sequence[str] | None = None) -> tf.distribute.Strategy:
    """Mirrored over the visible GPUs, one GPU, or the CPU.

    `devices` forces a MirroredStrategy over the named devices: tests use it
    with logical CPU devices to exercise the multi-device path without a GPU.
    """
    if devices:
        return tf.distribute.MirroredStrategy(list(devices))
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([g.name for g in gpus])
    if gpus:
        return tf.distribute.OneDeviceStrategy(gpus[0].name)
    return tf.distribute.get_strategy()
