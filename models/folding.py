"""The served model with its embedding table folded into its output layer: the same logits, a table as wide as
the logits.

The model is linear from its table to its logits: the pooled vector is a weighted sum (or mean) of table rows,
dropout is off at inference, and Dense multiplies by K and adds b. So

    logits = sum_t w_t (E[t] K) + b = sum_t w_t F[t] + b,    F = E K  ([rows, logits])

and a model of the same layers whose table is F and whose Dense is the identity (bias b) answers exactly what the
trained one answers, up to float rounding (about 1e-6: tests/model/test_model.py). The table shrinks from
`embedding_dim` columns to one per logit: IMDB's export (1,020,002 rows x 32 floats, 124.5 MiB of 133) drops to one
column (bench/NOTES.md has the sizes and the Evaluator's time). Explanations (model.token_contributions) read the
folded model the same way: a position's share is w_t F[t] there too.

Training is untouched: the Trainer fits the embedding-pooling model of the recipe; only the exported copy is folded,
and only when it is narrower (more logits than the embedding is wide would grow it: kept as trained then).
"""

from __future__ import annotations

import numpy as np
import tf_keras

# The width field of each table layer's config: Keras' Embedding, and models.model.MeanEmbedding.
_WIDTH_KEY = {"Embedding": "output_dim", "MeanEmbedding": "dim"}


def folded(model: tf_keras.Model) -> tf_keras.Model:
    """`model` with table E K and an identity Dense, or `model` itself when that table would not be narrower."""
    table, dense = model.get_layer("embedding"), model.get_layer("logits")
    kernel, bias = dense.get_weights()
    dim, logits = kernel.shape
    if logits >= dim:
        return model
    config = model.get_config()
    for layer in config["layers"]:
        if layer["config"]["name"] == "embedding":
            layer["config"][_WIDTH_KEY[layer["class_name"]]] = logits
    narrow = model.__class__.from_config(config)
    narrow.get_layer("embedding").set_weights([table.get_weights()[0] @ kernel])
    narrow.get_layer("logits").set_weights([np.eye(logits, dtype=kernel.dtype), bias])
    return narrow
