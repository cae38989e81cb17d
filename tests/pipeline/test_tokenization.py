"""Text written without spaces: the default Transform and model learn it; whitespace tokens cannot.

Two classes of generated documents that differ only in characters that never have spaces around them:
each document is one run of Han characters, a shared random filler with five characters of its
class's set placed in it. Transform (tf.Transform on Beam, as the pipeline runs it) and the model
(models/model.py, as the Trainer builds it) are run on the same splits with the default tokenizer and
with `--tokenizer tutorial`, whose whitespace tokens make each document one token seen once.
"""

from __future__ import annotations

import random

import numpy as np
import tensorflow as tf

from models import model as model_lib
from models.recipe import TransformConfig
from tests.model.test_transform_ids import analyze_and_transform

FILLER = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后"
CLASS_CHARACTERS = ("猫犬鳥", "魚虫馬")


def documents(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        label = i % 2
        chars = [rng.choice(FILLER) for _ in range(30)] + [rng.choice(CLASS_CHARACTERS[label]) for _ in range(5)]
        rng.shuffle(chars)
        out.append({"text": ["".join(chars)], "label": [label]})
    return out


def accuracy(config: dict) -> float:
    """Test accuracy of the model trained on Transform's output for the training documents."""
    train, test = documents(300, seed=1), documents(100, seed=2)
    rows = analyze_and_transform(config, train + test)  # analysed on both: the test words are seen, no help
    key = "token_ids$ragged_values"
    weights = "token_weights$ragged_values"
    weighted = weights in rows[0]

    def inputs(part):
        ids = tf.ragged.constant([list(r[key]) for r in part], dtype=tf.int64, ragged_rank=1)
        if not weighted:
            return ids
        w = tf.ragged.constant([list(r[weights]) for r in part], dtype=tf.float32, ragged_rank=1)
        return {"token_ids": ids, "token_weights": w}

    labels = np.array([int(np.asarray(r["label"]).reshape(-1)[0]) for r in rows], dtype=np.float32)
    t = TransformConfig(**{k: v for k, v in config.items()})
    tf.keras.utils.set_random_seed(0)
    model = model_lib.build_model(num_classes=2, embedding_rows=t.num_ids, max_len=0, weighted=weighted)
    model.fit(inputs(rows[:300]), labels[:300], epochs=30, batch_size=32, verbose=0)
    _, acc = model.evaluate(inputs(rows[300:]), labels[300:], verbose=0)
    return acc


def test_text_without_spaces_is_learnt_by_the_default_and_not_by_whitespace_tokens():
    default = accuracy({"vocab_size": 200, "ngram_buckets": 1000})
    whitespace = accuracy({"vocab_size": 200, "ngram_buckets": 1000, "tokenizer": "tutorial", "weighting": "none"})
    assert default >= 0.9, default
    assert whitespace <= 0.65, whitespace  # one token per document, never seen twice: a coin toss
