"""Trainer's module: `run_fn` trains the model and exports it with its serving signatures.

The Trainer reads the raw examples and applies the Transform graph in its input
pipeline (then caches the token ids), so the class list written beside the raw
examples by DirectoryExampleGen is at hand, and training sees exactly the ops
that serving runs.

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

import dataclasses
import json
import logging
import os

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras

from models import corpus_profile, folding
from models import model as model_lib
from models.features import (
    CLASS_NAMES_FILE,
    LABEL_KEY,
    OOV_ID,
    TEXT_KEY,
    TOKEN_IDS_KEY,
    TOKEN_TEXTS_KEY,
    TOKEN_WEIGHTS_KEY,
)
from models.recipe import TrainConfig, TransformConfig


@dataclasses.dataclass(frozen=True)
class TrainSettings(TrainConfig):
    """The Trainer's custom_config: TrainConfig's fields, and under `transform` Transform's own settings as the
    pipeline handed them to Transform (the same names: a setting is not renamed on its way)."""

    transform: TransformConfig = dataclasses.field(default_factory=TransformConfig)
    devices: list[str] | None = None  # forces MirroredStrategy over these (tests)

    @property
    def embedding_rows(self) -> int:
        """The ids Transform can output: TransformConfig.num_ids, the one function that derives them."""
        return self.transform.num_ids

    @property
    def max_len(self) -> int:
        return self.transform.max_len

    @classmethod
    def from_custom_config(cls, custom_config: dict | None) -> TrainSettings:
        config = dict(custom_config or {})
        transform = TransformConfig.from_custom_config(config.pop("transform", None))
        known = {f.name for f in dataclasses.fields(TrainConfig)} | {"devices"}
        return cls(**{k: v for k, v in config.items() if k in known}, transform=transform)


def class_names_for(file_patterns: list[str]) -> list[str]:
    """The class list DirectoryExampleGen wrote into the examples artifact of these files."""
    # A file pattern is <examples uri>/Split-<name>/*.
    examples_uri = os.path.dirname(os.path.dirname(file_patterns[0]))
    path = os.path.join(examples_uri, CLASS_NAMES_FILE)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path} not found: the Trainer expects the raw examples of DirectoryExampleGen")
    with tf.io.gfile.GFile(path) as f:
        return json.loads(f.read())


def _raw_input_spec(tft_output: tft.TFTransformOutput, with_label: bool) -> dict:
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


def make_dataset(
    file_patterns: list[str], tft_output: tft.TFTransformOutput, settings: TrainSettings, shuffle: bool
) -> tf.data.Dataset:
    """(model inputs, label) batches; the Transform graph runs once, then its outputs are cached."""
    files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
    tft_layer = tft_output.transform_features_layer()
    spec = _raw_input_spec(tft_output, with_label=True)
    raw_spec = tft_output.raw_feature_spec()

    @tf.autograph.experimental.do_not_convert  # no Python control flow on tensors; converting costs seconds
    def transform(serialized):
        transformed = tft_layer(complete_raw_features(tf.io.parse_example(serialized, spec), raw_spec))
        return model_inputs(transformed), transformed[LABEL_KEY]

    ds = (
        tf.data.TFRecordDataset(files, compression_type="GZIP")
        .batch(1024)
        .map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .unbatch()
        .cache()
    )
    # One pass fills the cache (the Transform graph runs here, once) and counts
    # the examples: Keras needs the size to run several steps per call.
    count = int(ds.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
    ds = ds.apply(tf.data.experimental.assert_cardinality(count))
    if shuffle:
        ds = ds.shuffle(50_000, seed=settings.seed, reshuffle_each_iteration=True)
    # Whole-document rows differ in length: ragged batches, nothing padded.
    batched = ds.batch(settings.batch_size) if settings.max_len else ds.ragged_batch(settings.batch_size)
    return batched.prefetch(tf.data.AUTOTUNE)


def unknown_words(transformed: dict) -> dict[str, tf.Tensor]:
    """word_count: the words (unigram positions: a term without a space; n-grams join theirs with one) of each
    text; oov_count: those outside the vocabulary. A text whose words are mostly unknown gets an answer from
    little (tools/predict.py says so)."""
    texts, ids = transformed[TOKEN_TEXTS_KEY], transformed[TOKEN_IDS_KEY]
    is_word = tf.logical_not(tf.strings.regex_full_match(texts, ".* .*")) & tf.not_equal(texts, "")
    count = lambda mask: tf.reduce_sum(tf.cast(mask, tf.int64), axis=1)  # noqa: E731 - ragged or padded rows
    return {"word_count": count(is_word), "oov_count": count(is_word & tf.equal(ids, OOV_ID))}


def export_serving_model(
    model: tf_keras.Model,
    tft_output: tft.TFTransformOutput,
    class_names: list[str],
    export_dir: str,
    settings: TrainSettings,
) -> None:
    num_classes = len(class_names)
    model = folding.folded(model)  # the same answers from a table one column per logit (models/folding.py)
    model.tft_layer = tft_output.transform_features_layer()  # tracked: the vocabulary travels as an asset
    names = tf.constant(class_names)
    text_spec = _raw_input_spec(tft_output, with_label=False)
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
            **unknown_words(transformed),
        }
        if num_classes == 2:  # TFMA's binary metrics read the positive-class probability
            outputs["score"] = probs[:, 1:]
        return outputs

    def as_features(text):
        return {TEXT_KEY: tf.reshape(text, [-1, 1])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized):
        return predict(tf.io.parse_example(serialized, text_spec))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def predict_text(text):
        return predict(as_features(text))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def score_examples(serialized):
        outputs = predict(tf.io.parse_example(serialized, text_spec))
        return {key: outputs[key] for key in ("probabilities", "class_id", "token_count", "oov_count", "word_count")}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def tokenize(text):
        inputs = token_ids_of(as_features(text))
        if isinstance(inputs, dict):
            return {key: padded(values, 0 if key == TOKEN_IDS_KEY else 0.0) for key, values in inputs.items()}
        return {TOKEN_IDS_KEY: padded(inputs, 0)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
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
    # Without the optimizer: serving needs no Adam or Adagrad slots (each as large as the table).
    model.save(export_dir, save_format="tf", signatures=signatures, include_optimizer=False)
    tf.io.gfile.makedirs(os.path.join(export_dir, "assets.extra"))
    with tf.io.gfile.GFile(os.path.join(export_dir, "assets.extra", CLASS_NAMES_FILE), "w") as f:
        f.write(json.dumps(class_names))


def train_model(settings: TrainSettings, num_classes: int, train_ds, eval_ds, log_dir: str | None = None, verbose=2):
    """The recipe's model, trained as the Trainer trains it (also the label audit's folds: tools/audit.py)."""
    strategy = model_lib.choose_strategy(settings.devices)
    with strategy.scope():
        model = model_lib.build_model(
            num_classes=num_classes,
            embedding_rows=settings.embedding_rows,
            max_len=settings.max_len,
            embedding_dim=settings.embedding_dim,
            dropout=settings.dropout,
            learning_rate=settings.learning_rate,
            mask_padding=settings.mask_padding,
            steps_per_execution=settings.steps_per_execution,
            embedding_optimizer=settings.embedding_optimizer,
            embedding_learning_rate=settings.embedding_learning_rate,
            pooling=settings.pooling,
            weighted=isinstance(train_ds.element_spec[0], dict),
        )
    callbacks = [tf_keras.callbacks.TensorBoard(log_dir=log_dir)] if log_dir else []
    if settings.early_stopping_patience > 0:
        callbacks.append(
            tf_keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=settings.early_stopping_patience, restore_best_weights=True
            )
        )
    if settings.epochs > 0:
        model.fit(train_ds, validation_data=eval_ds, epochs=settings.epochs, callbacks=callbacks, verbose=verbose)
    return model


def run_fn(fn_args) -> None:
    """TFX Trainer entry point."""
    settings = TrainSettings.from_custom_config(fn_args.custom_config)
    tf_keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()

    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    class_names = class_names_for(fn_args.train_files)
    train_ds = make_dataset(fn_args.train_files, tft_output, settings, shuffle=True)
    eval_ds = make_dataset(fn_args.eval_files, tft_output, settings, shuffle=False)

    # Keras's epoch lines only when the command was asked for the libraries' output (-v sets the root logger to
    # INFO: pipeline/quiet.py); the epochs are in the ModelRun's TensorBoard logs and the report either way.
    verbose = 2 if logging.getLogger().isEnabledFor(logging.INFO) else 0
    model = train_model(settings, len(class_names), train_ds, eval_ds, fn_args.model_run_dir, verbose=verbose)
    export_serving_model(model, tft_output, class_names, fn_args.serving_model_dir, settings)
    # The training split's profile travels with the model: the next run's drift is measured against it.
    profile_dir = os.path.join(fn_args.serving_model_dir, "assets.extra", corpus_profile.PROFILE_DIR)
    corpus_profile.write(profile_dir, *corpus_profile.profile_examples(fn_args.train_files, class_names))
