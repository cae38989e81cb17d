"""The peer: the TensorFlow text-classification tutorial as a plain Keras script.

    python bench/peer_keras.py --data-dir CORPUS --export-dir DIR [--json OUT]

text_dataset_from_directory (80/20 train/validation split, seed 42, batch 32)
+ TextVectorization (the tutorial's standardization, 10,000 tokens, 250 ids)
+ Embedding(16) -> Dropout -> GlobalAveragePooling1D -> Dropout -> Dense, 10 epochs,
then the tutorial's `export_model` (TextVectorization inside) evaluated on the
test folder and saved for the serving benchmark. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import string
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
STARTED = time.monotonic()

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402


def custom_standardization(input_data):
    lowercase = tf.strings.lower(input_data)
    stripped_html = tf.strings.regex_replace(lowercase, "<br />", " ")
    return tf.strings.regex_replace(stripped_html, f"[{re.escape(string.punctuation)}]", "")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--export-dir", required=True)
    p.add_argument("--json")
    p.add_argument("--epochs", type=int, default=10)
    args = p.parse_args()
    keras.utils.set_random_seed(42)
    train_dir, test_dir = os.path.join(args.data_dir, "train"), os.path.join(args.data_dir, "test")
    raw_train = keras.utils.text_dataset_from_directory(
        train_dir, batch_size=32, validation_split=0.2, subset="training", seed=42
    )
    raw_val = keras.utils.text_dataset_from_directory(
        train_dir, batch_size=32, validation_split=0.2, subset="validation", seed=42
    )
    raw_test = keras.utils.text_dataset_from_directory(test_dir, batch_size=32)
    num_classes = len(raw_train.class_names)

    vectorize_layer = keras.layers.TextVectorization(
        standardize=custom_standardization, max_tokens=10000, output_mode="int", output_sequence_length=250
    )
    vectorize_layer.adapt(raw_train.map(lambda x, y: x))

    def vectorize_text(text, label):
        return vectorize_layer(tf.expand_dims(text, -1)), label

    autotune = tf.data.AUTOTUNE
    train_ds = raw_train.map(vectorize_text).cache().prefetch(autotune)
    val_ds = raw_val.map(vectorize_text).cache().prefetch(autotune)
    binary = num_classes == 2
    model = keras.Sequential(
        [
            keras.layers.Embedding(10000, 16),
            keras.layers.Dropout(0.2),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(1 if binary else num_classes),
        ]
    )
    if binary:
        loss, metric = keras.losses.BinaryCrossentropy(from_logits=True), keras.metrics.BinaryAccuracy(threshold=0.0)
    else:
        loss, metric = keras.losses.SparseCategoricalCrossentropy(from_logits=True), "accuracy"
    model.compile(loss=loss, optimizer="adam", metrics=[metric])
    model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=2)

    export_model = keras.Sequential(
        [vectorize_layer, model, keras.layers.Activation("sigmoid" if binary else "softmax")]
    )
    export_model.compile(
        loss=keras.losses.BinaryCrossentropy() if binary else keras.losses.SparseCategoricalCrossentropy(),
        optimizer="adam",
        metrics=["accuracy"],
    )
    _, accuracy = export_model.evaluate(raw_test, verbose=0)
    trained = time.monotonic() - STARTED

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        return {"probabilities": export_model(text)}

    tf.saved_model.save(export_model, args.export_dir, signatures={"serving_default": serve})
    result = {
        "test_accuracy": float(accuracy),
        "seconds_to_test_accuracy": round(trained, 2),
        "classes": raw_train.class_names,
    }
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
