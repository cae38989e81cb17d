"""The settings Transform and the Trainer read: what the model is and how it is trained.

They live here, beside the code that reads them, so that component code never
imports the runners' package and the Trainer's code fingerprint covers only
what it runs; `pipeline/configs.py` re-exports them with every other setting.
No TensorFlow here: the runners import this before deciding to load it.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TransformConfig:
    """The text standardization and vocabulary (the tutorial's numbers)."""

    # Defaults: the benchmark's choice (bench/NOTES.md): unigrams from a 20,000-id
    # vocabulary, then bigrams hashed into 100,000 ids, 600 ids per document.
    vocab_size: int = 20000  # ids, padding (0) and out-of-vocabulary (1) included
    max_len: int = 600  # token ids per document, padded or truncated
    ngrams: int = 2  # 2: unigrams followed by bigrams
    # > 0: n-grams are hashed into this many ids after the vocabulary's
    # (fastText-style); 0: n-grams go through the vocabulary too.
    ngram_buckets: int = 100000
    # Write the transformed splits too. The Trainer does not read them (it
    # applies the Transform graph to the raw examples), so off by default;
    # the skew and reproducibility tests turn it on to compare with them.
    materialize: bool = False

    def validate(self) -> None:
        at_least(self, "vocab_size", 3, "--vocab-size", "padding, out-of-vocabulary and one word")
        at_least(self, "max_len", 1, "--max-len")
        at_least(self, "ngrams", 1, "--ngrams")
        at_least(self, "ngram_buckets", 0, "--ngram-buckets")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    # A cap: early stopping on the eval split ends training when the eval loss
    # stops improving.
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 4e-3
    embedding_dim: int = 32
    dropout: float = 0.2
    early_stopping_patience: int = 2  # epochs without a better eval loss; 0: no early stopping
    seed: int = 42
    # Average the embeddings of real tokens only (Embedding mask_zero); the
    # tutorial averages the padding in too.
    mask_padding: bool = True
    # Training steps per call into TensorFlow: the same batches and updates,
    # less Python overhead per step (the tutorial's 32-example batches are small).
    steps_per_execution: int = 32

    def validate(self) -> None:
        at_least(self, "epochs", 0, "--epochs")
        at_least(self, "batch_size", 1, "--batch-size")
        at_least(self, "embedding_dim", 1, "--embedding-dim")
        at_least(self, "early_stopping_patience", 0, "--patience")
        at_least(self, "steps_per_execution", 1, "steps_per_execution")
        if not self.learning_rate > 0:
            raise ValueError(f"--learning-rate (TrainConfig.learning_rate) must be positive, got {self.learning_rate}")


def at_least(config, field: str, lowest: int, flag: str, why: str = "") -> None:
    value = getattr(config, field)
    if value < lowest:
        raise ValueError(f"{flag} ({type(config).__name__}.{field}) must be at least {lowest}"
                         f"{f' ({why})' if why else ''}, got {value}")
