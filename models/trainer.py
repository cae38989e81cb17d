"""Trainer's module: `run_fn` trains the model and exports it (models/export.py writes the serving signatures).

The Trainer reads the raw examples and applies the Transform graph in its input
pipeline (then caches the token ids), so the class list written beside the raw
examples by DirectoryExampleGen is at hand, and training sees exactly the ops
that serving runs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras

from models import corpus_profile, devices
from models import model as model_lib
from models.export import complete_raw_features, export_serving_model, model_inputs, raw_input_spec
from models.features import (
    CLASS_NAMES_FILE,
    LABEL_KEY,
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


def make_dataset(
    file_patterns: list[str], tft_output: tft.TFTransformOutput, settings: TrainSettings, shuffle: bool
) -> tf.data.Dataset:
    """(model inputs, label) batches; the Transform graph runs once, then its outputs are cached."""
    files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
    tft_layer = tft_output.transform_features_layer()
    spec = raw_input_spec(tft_output, with_label=True)
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


def train_model(settings: TrainSettings, num_classes: int, train_ds, eval_ds, log_dir: str | None = None, verbose=2):
    """The recipe's model, trained as the Trainer trains it (also the label audit's folds: tools/audit.py)."""
    strategy = devices.choose_strategy(settings.devices)
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
