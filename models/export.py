"""The exported SavedModel: the trained model, folded (models/folding.py), with the Transform graph and the class
names, behind its serving signatures.

Exported signatures (all carry the Transform graph and the class names):
  serving_default  serialized tf.Examples ('examples')  -> probabilities, class_id, class_name, token_count[, score]
  predict_text     raw strings ('text')                  -> the same
  score_examples   serialized tf.Examples ('examples')  -> probabilities, class_id, token_count (TFX's
                   BulkInferrer: tfx_bsl 1.16 cannot split a string output per example)
  tokenize         raw strings ('text')                  -> token_ids (and token_weights), as Transform computes them
  explain_text     raw strings ('text')                  -> tokens (the term of each position), token_ids,
                   contributions [batch, positions, logits], bias, logits (model.token_contributions)

With max_len 0 (the whole document) the ids are ragged; the signatures pad tokens, token_ids and
contributions to the longest text of the request (id 0, "", 0.0), which never holds a token.

token_count is the number of token positions the model pooled (with weights, those of a weight above 0); 0
marks a text with no tokens the model knows (empty, only punctuation and markup, or every word unknown),
whose answer is the model's bias alone (models/model.py).
"""

from __future__ import annotations

import json
import os

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras

from models import folding
from models import model as model_lib
from models.features import (
    CLASS_NAMES_FILE,
    LABEL_KEY,
    OOV_ID,
    PAD_ID,
    TEXT_KEY,
    TOKEN_IDS_KEY,
    TOKEN_TEXTS_KEY,
    TOKEN_WEIGHTS_KEY,
)
from models.recipe import TransformConfig


def raw_input_spec(tft_output: tft.TFTransformOutput, with_label: bool) -> dict:
    spec = tft_output.raw_feature_spec()
    keys = [TEXT_KEY] + ([LABEL_KEY] if with_label else [])
    return {k: spec[k] for k in keys}


def complete_raw_features(features: dict[str, tf.Tensor], raw_spec: dict) -> dict[str, tf.Tensor]:
    """`features` plus an empty value for every other raw feature of the Transform graph.

    The graph's input signature holds every feature of the schema, and TFT
    1.16's path for missing inputs fails when some are sparse. The token ids
    depend on the text alone, so the other inputs are fed empty.
    """
    batch = tf.shape(features[TEXT_KEY])[0]
    out = dict(features)
    for key, spec in raw_spec.items():
        if key in out:
            continue
        if isinstance(spec, tf.io.FixedLenFeature):
            out[key] = tf.zeros(tf.concat([[batch], tf.constant(spec.shape, tf.int32)], 0), spec.dtype)
        else:
            out[key] = tf.SparseTensor(
                tf.zeros([0, 2], tf.int64),
                tf.zeros([0], spec.dtype),
                tf.stack([tf.cast(batch, tf.int64), tf.constant(1, tf.int64)]),
            )
    return out


def model_inputs(transformed: dict):
    """What the model reads of Transform's outputs: the ids, or {ids, weights} with weighting tfidf."""
    if TOKEN_WEIGHTS_KEY in transformed:
        return {TOKEN_IDS_KEY: transformed[TOKEN_IDS_KEY], TOKEN_WEIGHTS_KEY: transformed[TOKEN_WEIGHTS_KEY]}
    return transformed[TOKEN_IDS_KEY]


def unknown_words(transformed: dict, transform: TransformConfig) -> dict[str, tf.Tensor]:
    """word_count: the words (unigram positions: a term without a space; n-grams join theirs with one) of each
    text; oov_count: those outside the vocabulary. A text whose words are mostly unknown gets an answer from
    little (tools/predict.py says so).

    With hashed n-grams a word is told by its id: the vocabulary's ids (out-of-vocabulary included) are below
    vocab_size, the n-grams' at or above it, padding is 0. The scoring signatures then leave the terms' texts
    out: the test on every term's text took 180 ms of CPU per 5,000 IMDB reviews (bench/NOTES.md)."""
    ids = transformed[TOKEN_IDS_KEY]
    if transform.ngram_buckets > 0:
        is_word = (ids > PAD_ID) & (ids < transform.vocab_size)
    else:
        texts = transformed[TOKEN_TEXTS_KEY]
        is_word = tf.logical_not(tf.strings.regex_full_match(texts, ".* .*")) & tf.not_equal(texts, "")
    count = lambda mask: tf.reduce_sum(tf.cast(mask, tf.int64), axis=1)  # noqa: E731 - ragged or padded rows
    return {"word_count": count(is_word), "oov_count": count(is_word & tf.equal(ids, OOV_ID))}


def _signature(input_name: str):
    """A serving signature over a batch of strings, traced without AutoGraph: nothing in one branches on a tensor,
    and converting them (with the layers they call) was most of the export's time (bench/NOTES.md)."""
    return tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=input_name)], autograph=False)


def export_serving_model(
    model: tf_keras.Model,
    tft_output: tft.TFTransformOutput,
    class_names: list[str],
    export_dir: str,
    settings,  # models.trainer.TrainSettings: mask_padding and pooling, for the explanations
) -> None:
    num_classes = len(class_names)
    model = folding.folded(model)  # the same answers from a table one column per logit (models/folding.py)
    model.tft_layer = tft_output.transform_features_layer()  # tracked: the vocabulary travels as an asset
    names = tf.constant(class_names)
    text_spec = raw_input_spec(tft_output, with_label=False)
    raw_spec = tft_output.raw_feature_spec()

    def transformed_of(features):
        return model.tft_layer(complete_raw_features(features, raw_spec))

    def token_ids_of(features):
        return model_inputs(transformed_of(features))

    def padded(values, default):  # a signature returns tensors: ragged rows padded to the batch's longest
        return values.to_tensor(default_value=default) if isinstance(values, tf.RaggedTensor) else values

    def predict(features):
        transformed = transformed_of(features)
        token_ids = model_inputs(transformed)
        probs = model_lib.probabilities(model(token_ids, training=False), num_classes)
        class_id = tf.argmax(probs, axis=1)
        outputs = {
            "probabilities": probs,
            "class_id": class_id,
            "class_name": tf.gather(names, class_id),
            "token_count": model_lib.token_count(token_ids),
            **unknown_words(transformed, settings.transform),
        }
        if num_classes == 2:  # TFMA's binary metrics read the positive-class probability
            outputs["score"] = probs[:, 1:]
        return outputs

    def as_features(text):
        return {TEXT_KEY: tf.reshape(text, [-1, 1])}

    @_signature("examples")
    def serve_examples(serialized):
        return predict(tf.io.parse_example(serialized, text_spec))

    @_signature("text")
    def predict_text(text):
        return predict(as_features(text))

    @_signature("examples")
    def score_examples(serialized):
        outputs = predict(tf.io.parse_example(serialized, text_spec))
        return {key: outputs[key] for key in ("probabilities", "class_id", "token_count", "oov_count", "word_count")}

    @_signature("text")
    def tokenize(text):
        inputs = token_ids_of(as_features(text))
        if isinstance(inputs, dict):
            return {key: padded(values, 0 if key == TOKEN_IDS_KEY else 0.0) for key, values in inputs.items()}
        return {TOKEN_IDS_KEY: padded(inputs, 0)}

    @_signature("text")
    def explain_text(text):
        transformed = transformed_of(as_features(text))
        token_ids = model_inputs(transformed)
        contributions, bias = model_lib.token_contributions(model, token_ids, settings.mask_padding, settings.pooling)
        return {
            # The term of each position, as Transform laid the ids out (unigrams, then each n-gram order).
            "tokens": padded(transformed[TOKEN_TEXTS_KEY], ""),
            TOKEN_IDS_KEY: padded(transformed[TOKEN_IDS_KEY], 0),
            "contributions": padded(contributions, 0.0),
            "bias": tf.tile(bias[None, :], [tf.shape(text)[0], 1]),
            "logits": model(token_ids, training=False),
        }

    signatures = {
        "serving_default": serve_examples.get_concrete_function(),
        "predict_text": predict_text.get_concrete_function(),
        "score_examples": score_examples.get_concrete_function(),
        "tokenize": tokenize.get_concrete_function(),
        "explain_text": explain_text.get_concrete_function(),
    }
    # Without the optimizer: serving needs no Adam or Adagrad slots (each as large as the table). Without Keras'
    # traces of every layer's call (save_traces): the signatures are what every reader calls (TFMA told so by
    # models/evaluation.py, tf.saved_model.load elsewhere), and tracing them through AutoGraph cost the export
    # most of its time. With the signatures traced without AutoGraph too (_signature), IMDB's export took 5.78 s
    # against 13.17 s (bench/NOTES.md).
    model.save(export_dir, save_format="tf", signatures=signatures, include_optimizer=False, save_traces=False)
    tf.io.gfile.makedirs(os.path.join(export_dir, "assets.extra"))
    with tf.io.gfile.GFile(os.path.join(export_dir, "assets.extra", CLASS_NAMES_FILE), "w") as f:
        f.write(json.dumps(class_names))
