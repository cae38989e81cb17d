"""Transform's module: the one text standardization, shared by training and serving.

The graph built here is saved by Transform and loaded into the exported model,
so a served request goes through exactly these ops (no train/serving skew).

Token ids follow Keras' TextVectorization: 0 is padding, 1 is out-of-vocabulary,
2.. are the vocabulary's tokens by descending frequency in the training split,
then (ngram_buckets) the hashed n-grams. A row holds the document's unigrams,
then its bigrams (and so on). With max_len N the row is padded or cut to N
ids; with max_len 0 it is the whole document, a ragged row with no padding.
"""

from __future__ import annotations

import dataclasses
import re
import string
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from models.features import LABEL_KEY, TEXT_KEY, TOKEN_IDS_KEY
from models.recipe import TransformConfig

VOCAB_NAME = "tokens"
PAD_ID, OOV_ID = 0, 1
_RESERVED_IDS = 2


_PUNCTUATION = f"[{re.escape(string.punctuation)}]"


def standardize(text: tf.Tensor) -> tf.Tensor:
    """Lowercase, `<br />` to a space, ASCII punctuation removed (the tutorial's standardization)."""
    lowered = tf.strings.lower(text)
    no_breaks = tf.strings.regex_replace(lowered, "<br />", " ")
    return tf.strings.regex_replace(no_breaks, _PUNCTUATION, "")


def tokenize(text: tf.Tensor, ngrams: int = 1) -> tf.RaggedTensor:
    """Whitespace tokens of the standardized text; with ngrams=2, bigrams follow the unigrams."""
    tokens = tf.strings.split(standardize(text))
    if ngrams <= 1:
        return tokens
    grams = [tokens] + [tf.strings.ngrams(tokens, n, separator=" ") for n in range(2, ngrams + 1)]
    return tf.concat(grams, axis=1)


def _dense_text(text) -> tf.Tensor:
    """The text feature as a [batch] string tensor, whatever shape the schema gave it."""
    if isinstance(text, tf.SparseTensor):
        text = tf.sparse.to_dense(text, default_value="")
    return tf.reshape(text, [-1])


def _hashed_ngram_ids(text: tf.Tensor, ngrams: int, first_id: int, buckets: int) -> tf.RaggedTensor:
    """fastText-style: n-grams (n >= 2) hashed into `buckets` ids after the vocabulary's."""
    tokens = tf.strings.split(standardize(text))
    grams = tf.concat([tf.strings.ngrams(tokens, n, separator=" ") for n in range(2, ngrams + 1)], axis=1)
    return tf.strings.to_hash_bucket_fast(grams, buckets) + first_id


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any] = None) -> dict[str, tf.Tensor]:
    # The pipeline passes every TransformConfig field; what a caller leaves out takes the dataclass's default.
    config = {**dataclasses.asdict(TransformConfig()), **(custom_config or {})}
    text = _dense_text(inputs[TEXT_KEY])
    # With ngram_buckets, only unigrams go through the vocabulary (counting
    # millions of distinct bigrams is Transform's slowest work) and the
    # n-grams are hashed.
    hashed = config["ngrams"] > 1 and config["ngram_buckets"] > 0
    tokens = tokenize(text, 1 if hashed else config["ngrams"])
    vocab_ids = tft.compute_and_apply_vocabulary(
        tokens,
        top_k=config["vocab_size"] - _RESERVED_IDS,
        default_value=-1,
        num_oov_buckets=0,
        vocab_filename=VOCAB_NAME,
    )
    ids = tf.where(vocab_ids < 0, tf.cast(OOV_ID, tf.int64), vocab_ids + _RESERVED_IDS)
    if hashed:
        ids = tf.concat(
            [ids, _hashed_ngram_ids(text, config["ngrams"], config["vocab_size"], config["ngram_buckets"])], axis=1
        )
    # max_len 0: the whole document, a ragged row (Transform writes it as `token_ids$ragged_values`).
    token_ids = ids.to_tensor(default_value=PAD_ID, shape=[None, config["max_len"]]) if config["max_len"] else ids
    outputs = {TOKEN_IDS_KEY: token_ids}
    if LABEL_KEY in inputs:  # absent at serving
        label = inputs[LABEL_KEY]
        if isinstance(label, tf.SparseTensor):
            label = tf.sparse.to_dense(label)
        outputs[LABEL_KEY] = tf.reshape(label, [-1])
    return outputs
