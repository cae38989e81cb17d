"""The settings Transform and the Trainer read, what the model is and how it is trained, and the named recipes.

They live here, beside the code that reads them, so that component code never
imports the runners' package and the Trainer's code fingerprint covers only
what it runs. A field made with `knob` is a per-run setting: both runners
derive its flag from the field (name, type, default, help:
pipeline/run_request.py), so a new knob is one new field. No TensorFlow here:
the runners import this before deciding to load it.
"""

from __future__ import annotations

import dataclasses
import json


def knob(default, help: str, flag: str = "", choices: tuple[str, ...] = ()):  # noqa: A002 - argparse's word
    """A field that is a per-run setting: its flag is `--field-name` (or `flag`), its help `help`, and for a
    setting that names one of a few things, `choices` (shown in the usage; validate() checks the same tuple)."""
    return dataclasses.field(default=default, metadata={"help": help, "flag": flag, "choices": choices})


def settings_json(settings) -> str:
    """A stage's settings as its component hands them to the executor: every field by its own name (JSON)."""
    return json.dumps(dataclasses.asdict(settings), sort_keys=True)


def settings_from_json(settings_class, text: str):
    """The settings back in the executor, the same fields under the same names (`settings_json`'s inverse)."""
    return settings_class(**json.loads(text))


TOKENIZERS = ("auto", "words", "characters", "tutorial")
WEIGHTINGS = ("tfidf", "none")

# How token vectors are pooled (models/model.py divisor) and how the embedding table is trained
# (models/model.py SplitOptimizerModel): the values the knobs take.
POOLINGS = ("mean", "sqrtn")
EMBEDDING_OPTIMIZERS = ("adam", "adagrad")


@dataclasses.dataclass(frozen=True)
class TransformConfig:
    """The text standardization and vocabulary.

    Defaults: the benchmark's choice (bench/NOTES.md): unigrams from a 20,000-id
    vocabulary, then bigrams hashed into 1,000,000 ids, every id of each document.
    """

    # auto: characters for a corpus written without spaces, else words (models/preprocessing.py).
    tokenizer: str = knob("auto", "how text becomes tokens (models/preprocessing.py)", choices=TOKENIZERS)
    # tfidf: each distinct term once, weighted as a TF-IDF linear model weighs it; none: every occurrence.
    weighting: str = knob("tfidf", "each token's weight in the pooling (models/preprocessing.py)", choices=WEIGHTINGS)
    vocab_size: int = knob(20000, "ids, padding (0) and out-of-vocabulary (1) included")
    # 0: the whole document, a ragged row of ids (nothing padded or cut); N: N ids, padded or truncated.
    max_len: int = knob(0, "token ids per document, padded or truncated; 0: the whole document")
    ngrams: int = knob(2, "2: unigrams followed by bigrams")
    # Hashed fastText-style after the vocabulary's ids; 0: n-grams go through the vocabulary too.
    # A million: Adagrad's row-sparse update makes a step cost the rows a batch uses, not the table's size.
    ngram_buckets: int = knob(1_000_000, "hash n-grams into this many ids (0: the vocabulary)")
    # The Trainer does not read the transformed splits (it applies the Transform graph to the raw
    # examples), so off by default; the skew and reproducibility tests turn it on to compare with them.
    materialize: bool = knob(False, "Transform also writes the transformed splits")

    @classmethod
    def from_custom_config(cls, custom_config: dict | None) -> TransformConfig:
        """The settings as the pipeline handed them to Transform (and, unchanged, to the Trainer): every field by
        its own name; other keys (the code version) are not settings."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (custom_config or {}).items() if k in fields})

    @property
    def num_ids(self) -> int:
        """The ids Transform can output: vocabulary ids (padding and OOV included) + hashed n-gram ids."""
        return self.vocab_size + self.ngram_buckets

    def validate(self) -> None:
        at_least(self, "vocab_size", 3, "--vocab-size", "padding, out-of-vocabulary and one word")
        at_least(self, "max_len", 0, "--max-len", "0 keeps the whole document")
        at_least(self, "ngrams", 1, "--ngrams")
        at_least(self, "ngram_buckets", 0, "--ngram-buckets")
        one_of(self, "tokenizer", TOKENIZERS, "--tokenizer")
        one_of(self, "weighting", WEIGHTINGS, "--weighting")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    # A cap: early stopping on the eval split ends training when the eval loss stops improving.
    epochs: int = knob(40, "at most")
    batch_size: int = knob(512, "examples per training step")
    learning_rate: float = knob(4e-3, "Adam's (the dense layer's; every weight's with --embedding-optimizer adam)")
    # adagrad: the embedding table gets Adagrad, whose sparse update touches only the rows a batch
    # used (models/model.py SplitOptimizerModel); adam: Adam for every weight (the tutorial's).
    embedding_optimizer: str = knob(
        "adagrad", "adam: every weight; adagrad: the table, rows touched only", choices=EMBEDDING_OPTIMIZERS
    )
    embedding_learning_rate: float = knob(0.1, "Adagrad's, for the embedding table")
    embedding_dim: int = knob(32, "the embedding's width")
    # Dropout 0.7 (from 0.5, 2026-12-03; bench/NOTES.md): Stack Overflow +0.3 points over four probe seeds and two
    # pipeline seeds, IMDB's accuracy unchanged. Patience 2: with 1, livedoor (Japanese, 9 classes) stopped at
    # epoch 16 on a bump of its eval loss and fell from 0.9582 to 0.9534 (the baseline: 0.9561), for one epoch
    # less on IMDB and the same accuracy on Stack Overflow.
    dropout: float = knob(0.7, "on each token's vector and on the pooled vector")
    early_stopping_patience: int = knob(
        2, "early stopping: epochs without a better eval loss, 0 off", flag="--patience"
    )
    seed: int = knob(42, "one seed for every random choice of training")
    pooling: str = knob("sqrtn", "mean: sum / tokens; sqrtn: sum / sqrt(tokens)", choices=POOLINGS)
    # The tutorial averages the padding in too.
    mask_padding: bool = knob(True, "average the embeddings of real tokens only (Embedding mask_zero)")
    # Training steps per call into TensorFlow: the same batches and updates,
    # less Python overhead per step (the tutorial's 32-example batches are small).
    steps_per_execution: int = 32

    def validate(self) -> None:
        at_least(self, "epochs", 0, "--epochs")
        at_least(self, "batch_size", 1, "--batch-size")
        at_least(self, "embedding_dim", 1, "--embedding-dim")
        at_least(self, "early_stopping_patience", 0, "--patience")
        at_least(self, "steps_per_execution", 1, "steps_per_execution")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--dropout (TrainConfig.dropout) must be in [0, 1), got {self.dropout}")
        one_of(self, "embedding_optimizer", EMBEDDING_OPTIMIZERS, "--embedding-optimizer")
        one_of(self, "pooling", POOLINGS, "--pooling")
        if not self.embedding_learning_rate > 0:
            raise ValueError(
                "--embedding-learning-rate (TrainConfig.embedding_learning_rate) must be positive, "
                f"got {self.embedding_learning_rate}"
            )
        if not self.learning_rate > 0:
            raise ValueError(f"--learning-rate (TrainConfig.learning_rate) must be positive, got {self.learning_rate}")


def at_least(config, field: str, lowest: int, flag: str, why: str = "") -> None:
    value = getattr(config, field)
    if value < lowest:
        raise ValueError(
            f"{flag} ({type(config).__name__}.{field}) must be at least {lowest}"
            f"{f' ({why})' if why else ''}, got {value}"
        )


def one_of(config, field: str, values: tuple[str, ...], flag: str) -> None:
    value = getattr(config, field)
    if value not in values:
        raise ValueError(f"{flag} ({type(config).__name__}.{field}) must be one of {', '.join(values)}, got {value!r}")


# Named recipes: `--recipe NAME` sets these knobs (a knob's own flag still wins). Every recipe but
# "default" names each knob that shapes the model, so a new default leaves them as they were (a test checks).
# "tutorial" is the TensorFlow text-classification tutorial's recipe, exactly:
# the benchmark's peer (bench/peer_keras.py) trains the same.
RECIPES = {
    "tutorial": {
        "tokenizer": "tutorial",
        "weighting": "none",
        "ngrams": 1,
        "ngram_buckets": 0,
        "vocab_size": 10000,
        "max_len": 250,
        "embedding_dim": 16,
        "epochs": 10,
        "early_stopping_patience": 0,
        "batch_size": 32,
        "learning_rate": 1e-3,
        "dropout": 0.2,
        "mask_padding": False,
        "embedding_optimizer": "adam",
        "pooling": "mean",
    },
    # The dataclass defaults (bench/NOTES.md, issue 23): whole documents, bigrams hashed into a
    # million ids, the table trained by row-sparse Adagrad, sqrt(n) pooling.
    "default": {},
    # The default before whole documents (until 2026-12-01): 600 ids padded or cut, 100,000 hashed
    # bigram ids, Adam for every weight. `make bench` runs it beside the default.
    "padded": {
        "tokenizer": "tutorial",
        "weighting": "none",
        "ngrams": 2,
        "ngram_buckets": 100000,
        "vocab_size": 20000,
        "max_len": 600,
        "embedding_dim": 32,
        "epochs": 40,
        "early_stopping_patience": 2,
        "batch_size": 128,
        "learning_rate": 4e-3,
        "dropout": 0.2,
        "mask_padding": True,
        "embedding_optimizer": "adam",
        "pooling": "mean",
    },
    # More accurate, slower: bigrams through a 200,000-token vocabulary (IMDB 0.9021,
    # Stack Overflow 0.8085, at 5.9x the peer's wall time on IMDB).
    "accurate": {
        "tokenizer": "tutorial",
        "weighting": "none",
        "ngrams": 2,
        "ngram_buckets": 0,
        "vocab_size": 200000,
        "max_len": 800,
        "embedding_dim": 32,
        "epochs": 40,
        "early_stopping_patience": 2,
        "batch_size": 64,
        "learning_rate": 2e-3,
        "dropout": 0.2,
        "mask_padding": True,
        "embedding_optimizer": "adam",
        "pooling": "mean",
    },
}
