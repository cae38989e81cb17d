"""The embedding-pooling classifier of the TensorFlow text-classification tutorial.

    padded ids (max_len N): Embedding -> Dropout -> pool (MeanOfTokens) -> Dropout -> Dense (logits)
    whole documents (max_len 0, ragged ids): MeanEmbedding (lookup, Dropout, pool) -> Dropout -> Dense
    weighted ids (Transform's tfidf weighting): MeanEmbedding (lookup, Dropout, weighted sum) -> Dropout -> Dense

The pool is the mean of the token vectors, or their sum over sqrt(count) (POOLINGS), or with
weights their weighted sum. The weights (models/preprocessing.py) are a TF-IDF linear model's, of
unit L2 norm per document, so a weighted model is that linear model with its weight matrix
factored through the embedding: it learns what the baseline learns, and its table is shared
across terms (bench/NOTES.md, issue 29).

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

import types

import tensorflow as tf
import tf_keras

from models.features import TOKEN_IDS_KEY, TOKEN_WEIGHTS_KEY
from models.recipe import EMBEDDING_OPTIMIZERS, POOLINGS, TrainConfig

# Adagrad divides a row's step by sqrt(accumulator); Keras' default start of 0.1 suits gradients near 1.
# A row's gradient here is the loss's over a batch, averaged over a document's hundreds of tokens (1e-4
# and less), so 0.1 would swamp it and leave a step of lr x g x 3 (plain SGD, far too slow: IMDB was still
# improving at 40 epochs, 0.8835). Near 0 the first step of a row is about lr, as Adam's is.
ADAGRAD_INITIAL_ACCUMULATOR = 1e-6


def build_model(
    num_classes: int,
    embedding_rows: int,  # the ids the input can hold: vocabulary ids + hashed n-gram ids
    max_len: int,  # ids per document; 0: the whole document, as a ragged row
    embedding_dim: int = TrainConfig.embedding_dim,
    dropout: float = TrainConfig.dropout,
    learning_rate: float = TrainConfig.learning_rate,
    mask_padding: bool = TrainConfig.mask_padding,
    steps_per_execution: int = TrainConfig.steps_per_execution,
    embedding_optimizer: str = TrainConfig.embedding_optimizer,
    embedding_learning_rate: float = TrainConfig.embedding_learning_rate,
    pooling: str = TrainConfig.pooling,
    weighted: bool = False,  # the input is {token_ids, token_weights} (Transform's tfidf weighting)
) -> tf_keras.Model:
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least two classes, got {num_classes}")
    if pooling not in POOLINGS:
        raise ValueError(f"--pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    binary = num_classes == 2
    if weighted:
        ragged = max_len == 0
        shape = (max_len or None,)
        token_ids = tf_keras.Input(shape=shape, dtype=tf.int64, ragged=ragged, name=TOKEN_IDS_KEY)
        weights = tf_keras.Input(shape=shape, dtype=tf.float32, ragged=ragged, name=TOKEN_WEIGHTS_KEY)
        x = MeanEmbedding(embedding_rows, embedding_dim, dropout, pooling, name="embedding")((token_ids, weights))
        token_ids = {TOKEN_IDS_KEY: token_ids, TOKEN_WEIGHTS_KEY: weights}
    elif max_len > 0:
        token_ids = tf_keras.Input(shape=(max_len,), dtype=tf.int64, name="token_ids")
        x = tf_keras.layers.Embedding(embedding_rows, embedding_dim, mask_zero=mask_padding, name="embedding")(
            token_ids
        )
        x = tf_keras.layers.Dropout(dropout)(x)
        x = MeanOfTokens(pooling, name="mean_of_tokens")(x)
    else:
        token_ids = tf_keras.Input(shape=(None,), dtype=tf.int64, ragged=True, name="token_ids")
        x = MeanEmbedding(embedding_rows, embedding_dim, dropout, pooling, name="embedding")(token_ids)
    x = tf_keras.layers.Dropout(dropout)(x)
    logits = tf_keras.layers.Dense(1 if binary else num_classes, name="logits")(x)
    model = SplitOptimizerModel(token_ids, logits, name="embedding_pooling_classifier")
    if binary:
        loss = tf_keras.losses.BinaryCrossentropy(from_logits=True)
        metrics = [tf_keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)]
    else:
        loss = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [tf_keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if embedding_optimizer == "adagrad":
        model.use_embedding_optimizer(
            tf_keras.optimizers.Adagrad(embedding_learning_rate, initial_accumulator_value=ADAGRAD_INITIAL_ACCUMULATOR)
        )
    elif embedding_optimizer not in EMBEDDING_OPTIMIZERS:
        raise ValueError(
            f"--embedding-optimizer must be one of {', '.join(EMBEDDING_OPTIMIZERS)}, got {embedding_optimizer!r}"
        )
    model.compile(
        optimizer=tf_keras.optimizers.Adam(learning_rate),
        loss=loss,
        metrics=metrics,
        steps_per_execution=steps_per_execution,
    )
    return model


@tf_keras.utils.register_keras_serializable(package="text_classifier")
class SplitOptimizerModel(tf_keras.Model):
    """A Keras model whose embedding table may be trained by its own, row-sparse optimizer.

    Why: tf_keras' Adam, given the embedding's sparse gradient (IndexedSlices),
    still decays both moment slots and updates the variable over the whole
    table on every step, so a step costs the table's size, not the batch's.
    Adagrad's sparse update (`scatter_add` on the accumulator and the variable)
    touches only the rows the batch used, so a million hashed bigram ids cost
    what the rows in a batch cost (bench/NOTES.md has the measurement). The
    dense layer keeps Adam. Without `use_embedding_optimizer` this is Keras'
    own train step (the tutorial's Adam for everything).

    The second optimizer is held outside Keras' tracking (a plain namespace),
    so an exported model carries neither optimizer's slots.
    """

    def use_embedding_optimizer(self, optimizer: tf_keras.optimizers.Optimizer) -> None:
        self._split = types.SimpleNamespace(optimizer=optimizer)

    # Not converted by AutoGraph: the steps hold no Python control flow on tensors, and converting Keras'
    # train and test steps (with the optimizers' code they call) cost the first epoch about 10 s of
    # source transformation on IMDB (bench/NOTES.md, the Trainer's profile).
    @tf.autograph.experimental.do_not_convert
    def test_step(self, data):
        return super().test_step(data)

    @tf.autograph.experimental.do_not_convert
    def train_step(self, data):
        split = getattr(self, "_split", None)
        if split is None:
            return super().train_step(data)
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred)
        table = self.get_layer("embedding").embeddings
        variables = self.trainable_variables
        gradients = tape.gradient(loss, variables)
        pairs = list(zip(gradients, variables, strict=True))
        split.optimizer.apply_gradients([(g, v) for g, v in pairs if v is table])
        self.optimizer.apply_gradients([(g, v) for g, v in pairs if v is not table])
        return self.compute_metrics(x, y, y_pred, None)


@tf_keras.utils.register_keras_serializable(package="text_classifier")
class MeanEmbedding(tf_keras.layers.Layer):
    """Ragged token ids -> the average of their embeddings (dropout on each), 0 for a row with no ids.

    The whole-document input: nothing is padded or cut, so the average is over
    every token of the document, however long. Given (ids, weights), ragged or
    padded with weight 0, the weighted sum instead. The lookup is a gather, whose
    gradient is row-sparse (IndexedSlices) for SplitOptimizerModel.
    """

    def __init__(self, rows: int, dim: int, dropout: float, pooling: str = "mean", **kwargs):
        super().__init__(**kwargs)
        self.rows, self.dim, self.rate, self.pooling = rows, dim, dropout, pooling
        self.dropout = tf_keras.layers.Dropout(dropout)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.rows, self.dim),
            initializer=tf_keras.initializers.RandomUniform(-0.05, 0.05),  # Keras Embedding's
        )
        super().build(input_shape)

    def call(self, token_ids, training=None):
        return self._pooled(token_ids, training)

    # Not converted by AutoGraph (no Python control flow on tensors): Keras converts a layer's call, and what it
    # calls, when it builds the model; converting this (with the Dropout and Keras code it calls) took 5.8 of the
    # IMDB Trainer's seconds before its first step (bench/NOTES.md). A helper, not call itself, is decorated:
    # Keras reads call's signature to know which of training and mask to pass, and the decorator hides it.
    @tf.autograph.experimental.do_not_convert
    def _pooled(self, token_ids, training):
        if isinstance(token_ids, (tuple, list)):
            ids, weights = token_ids
            if not isinstance(ids, tf.RaggedTensor):  # padded: the padding's weight is 0
                ids, weights = tf.RaggedTensor.from_tensor(ids), tf.RaggedTensor.from_tensor(weights)
            vectors = self.dropout(tf.gather(self.embeddings, ids.flat_values), training=training)
            weighted = vectors * weights.flat_values[:, None]
            return tf.math.unsorted_segment_sum(weighted, ids.value_rowids(), ids.nrows())
        vectors = self.dropout(tf.gather(self.embeddings, token_ids.flat_values), training=training)
        sums = tf.math.unsorted_segment_sum(vectors, token_ids.value_rowids(), token_ids.nrows())
        return sums / divisor(tf.cast(token_ids.row_lengths(), vectors.dtype)[:, None], self.pooling)

    def get_config(self):
        return {
            **super().get_config(),
            "rows": self.rows,
            "dim": self.dim,
            "dropout": self.rate,
            "pooling": self.pooling,
        }


# How the token vectors are pooled: their sum divided by the count of tokens ("mean"), or by its square
# root ("sqrtn", TensorFlow's embedding_lookup_sparse combiner). sqrtn lets a long document's evidence add
# up (a review of 900 ids is not made as timid as one of 60); measured on IMDB it reached the mean's
# accuracy in 4 epochs instead of 19 (bench/NOTES.md). The values: recipe.POOLINGS.


def divisor(count: tf.Tensor, pooling: str) -> tf.Tensor:
    """What the summed vectors are divided by: count or sqrt(count), at least 1 (0 tokens: the zero vector)."""
    count = tf.maximum(count, 1.0)
    return tf.sqrt(count) if pooling == "sqrtn" else count


@tf_keras.utils.register_keras_serializable(package="text_classifier")
class MeanOfTokens(tf_keras.layers.Layer):
    """Pools over the sequence axis; with a mask, over the real tokens only, and 0 when there are none.

    Without a mask and with "mean" it is GlobalAveragePooling1D (the tutorial's: padding averaged in).
    """

    supports_masking = True

    def __init__(self, pooling: str = "mean", **kwargs):
        super().__init__(**kwargs)
        self.pooling = pooling

    def call(self, inputs, mask=None):
        return self._pooled(inputs, mask)

    @tf.autograph.experimental.do_not_convert  # as MeanEmbedding._pooled
    def _pooled(self, inputs, mask):
        if mask is None:
            count = tf.cast(tf.shape(inputs)[1], inputs.dtype)
            return tf.reduce_sum(inputs, axis=1) / divisor(count, self.pooling)
        weights = tf.cast(mask, inputs.dtype)[:, :, None]
        return tf.reduce_sum(inputs * weights, axis=1) / divisor(tf.reduce_sum(weights, axis=1), self.pooling)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling}


def token_count(token_ids) -> tf.Tensor:
    """[batch] int64: the positions that hold a token (not padding; with weights, a weight above 0); 0 for a
    document with no tokens (or none the model knows)."""
    if isinstance(token_ids, dict):
        weights = token_ids[TOKEN_WEIGHTS_KEY]
        if isinstance(weights, tf.RaggedTensor):
            return tf.reduce_sum(tf.cast(weights > 0, tf.int64), axis=1)
        return tf.math.count_nonzero(weights, axis=1, dtype=tf.int64)
    if isinstance(token_ids, tf.RaggedTensor):
        return token_ids.row_lengths()
    return tf.math.count_nonzero(token_ids, axis=1, dtype=tf.int64)


def token_contributions(model: tf_keras.Model, token_ids, mask_padding: bool, pooling: str = TrainConfig.pooling):
    """Each position's exact share of the logits: ([batch, positions, logits] contributions, [logits] bias).

    The logits are Dense(pooled embeddings) = sum over positions of
    (embedding . kernel) x weight + bias, with weight 1/n (pooling "mean") or
    1/sqrt(n) ("sqrtn"), n the real tokens when the pooling skips padding
    (mask_padding, or the whole-document input) and max_len otherwise, so the
    contributions plus the bias sum to the logits
    (dropout is off at inference). A position of padding contributes 0 under
    mask_padding, and its embedding's share otherwise. Whole-document (ragged)
    ids give a ragged [batch, (tokens), logits] result. With weights ({token_ids, token_weights}), each
    position's weight is its own.
    """
    embedding, dense = model.get_layer("embedding"), model.get_layer("logits")
    if isinstance(token_ids, dict):
        ids, weights = token_ids[TOKEN_IDS_KEY], token_ids[TOKEN_WEIGHTS_KEY]
        if isinstance(ids, tf.RaggedTensor):
            per_token = tf.matmul(tf.gather(embedding.embeddings, ids.flat_values), dense.kernel)
            return ids.with_flat_values(per_token * weights.flat_values[:, None]), dense.bias
        per_position = tf.einsum("bld,dk->blk", tf.gather(embedding.embeddings, ids), dense.kernel)
        return per_position * weights[:, :, None], dense.bias
    if isinstance(token_ids, tf.RaggedTensor):
        per_token = tf.matmul(tf.gather(embedding.embeddings, token_ids.flat_values), dense.kernel)
        counts = tf.cast(tf.gather(token_ids.row_lengths(), token_ids.value_rowids()), per_token.dtype)
        return token_ids.with_flat_values(per_token / divisor(counts[:, None], pooling)), dense.bias
    per_position = tf.einsum("bld,dk->blk", embedding(token_ids), dense.kernel)
    if mask_padding:
        real = tf.cast(tf.not_equal(token_ids, 0), per_position.dtype)
        weights = real / divisor(tf.reduce_sum(real, axis=1, keepdims=True), pooling)
    else:
        positions = tf.cast(tf.shape(token_ids)[1], per_position.dtype)
        weights = tf.ones_like(token_ids, per_position.dtype) / divisor(positions, pooling)
    return per_position * weights[:, :, None], dense.bias


def probabilities(logits: tf.Tensor, num_classes: int) -> tf.Tensor:
    """[batch, num_classes] class probabilities from the model's logits."""
    if num_classes == 2:
        positive = tf.sigmoid(logits[:, 0])
        return tf.stack([1.0 - positive, positive], axis=1)
    return tf.nn.softmax(logits, axis=1)
