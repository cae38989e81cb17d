"""The vocabulary analyzer: the file `tft.vocabulary` writes, counted by one Beam combine instead of one per token.

`tft.vocabulary` reduces each batch in the graph to (distinct token, count) pairs, then hands every pair to Beam
as an element: a combine per key, a filter, a top-k, a sort and Beam's text sink, a dozen stages that each touch
every distinct token of every batch. On IMDB's 20,000 training reviews, Transform's executor alone took 18.2-23.4 s
(eight runs) with one such vocabulary of whitespace tokens (more than 200,000 distinct) and 10.4-11.8 s with this
one, against 6.96-7.5 s with a single `tft.mean` (bench/NOTES.md, "One Beam combine for the vocabulary").

Here the same per-batch pairs (tf.Transform's own `reduce_batch_weighted_counts`, after tf.Transform's filter of the
tokens a text file cannot hold) go through tf.Transform's extension point for custom analyzers,
`tft.experimental.ptransform_analyzer`: one combine adds them into a dict per bundle, and one step writes the file.
The file is the one `tft.vocabulary` writes: the tokens whose count is at least `frequency_threshold`, largest
count first, ties in reverse byte order of the token (its sort of (count, token) pairs, reversed), the first
`top_k`, tf.Transform's placeholder when none is left. tests/model/test_transform_ids.py checks it against
`tft.vocabulary` itself, over many batches.

The cost of one combine: every distinct token's count is held in one worker's memory at the end, where
tf.Transform's own keys can spread over a cluster's workers.
"""

from __future__ import annotations

import os

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from apache_beam.io.filesystems import FileSystems
from tensorflow_transform import analyzers as tft_analyzers
from tensorflow_transform import tf_utils
from tensorflow_transform.beam import experimental as tft_beam_experimental

from models import ragged

# What the graph's vocabulary file holds while it is traced, before analysis has written the real one
# (tf.Transform's own placeholders for a vocabulary of strings, without and with frequencies).
_PLACEHOLDER = b"TEMPORARY_ASSET_VALUE"
_PLACEHOLDER_WITH_FREQUENCY = b"1 " + _PLACEHOLDER


class _AddCounts(beam.CombineFn):
    """{token: count} over batches of (distinct tokens, their counts)."""

    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, counts: dict, batch) -> dict:
        tokens, weights = batch
        get = counts.get
        for token, weight in zip(tokens.tolist(), weights.tolist(), strict=True):
            counts[token] = get(token, 0.0) + weight
        return counts

    def merge_accumulators(self, accumulators) -> dict:
        accumulators = iter(accumulators)
        merged = next(accumulators)
        for counts in accumulators:
            get = merged.get
            for token, weight in counts.items():
                merged[token] = get(token, 0.0) + weight
        return merged

    def extract_output(self, counts: dict) -> dict:
        return counts


def ordered_lines(
    counts: dict, top_k: int | None, frequency_threshold: float | None, store_frequency: bool
) -> list[bytes]:
    """The vocabulary file's lines, as tf.Transform orders and cuts them (module docstring); with
    `store_frequency`, each line is `count token`, written as tf.Transform writes it."""
    threshold = frequency_threshold or 0
    pairs = sorted(((count, token) for token, count in counts.items() if count >= threshold), reverse=True)
    if top_k is not None:
        pairs = pairs[:top_k]
    pairs = pairs or [tft_analyzers.get_empy_vocabulary_dummy_value(tf.string)]
    if store_frequency:
        return [b"%s %s" % (str(count).encode(), token) for count, token in pairs]
    return [token for _, token in pairs]


class _WriteVocabulary(tft_beam_experimental.PTransformAnalyzer):
    """Batches of (distinct tokens, counts) in; the path of the vocabulary file written under the analysis's temp
    folder out (tf.Transform copies it into the graph's assets under its base name)."""

    def __init__(
        self, top_k: int | None, frequency_threshold: float | None, store_frequency: bool, vocab_filename: str
    ):
        super().__init__()
        self._cut = (top_k, frequency_threshold, store_frequency)
        self._vocab_filename = vocab_filename

    def expand(self, batches):
        cut = self._cut
        path = os.path.join(self.base_temp_dir, self._vocab_filename)

        def write(counts: dict) -> np.ndarray:
            # Beam's file systems, as tf.Transform's text sink uses them: the same paths work (local, gs://, s3://).
            with FileSystems.create(path) as f:
                f.write(b"".join(line + b"\n" for line in ordered_lines(counts, *cut)))
            return np.array(path)

        return batches | "AddCounts" >> beam.CombineGlobally(_AddCounts()) | "Write" >> beam.Map(write)


def frequency_vocabulary(
    terms: tf.Tensor,
    *,
    vocab_filename: str,
    top_k: int | None = None,
    frequency_threshold: float | None = None,
    weights: tf.Tensor | None = None,
    store_frequency: bool = False,
) -> tf.Tensor:
    """`tft.vocabulary(terms, ...)` with these arguments, for a 1-D string tensor (and `weights` of its shape, 1
    each by default): the same file. Its path, for `tft.apply_vocabulary` (not with `store_frequency`)."""
    weights = tf.ones_like(terms, tf.float32) if weights is None else weights
    # The terms a text file cannot hold, left out as tf.Transform's `filter_regex` leaves them out, by a gather
    # (its filter is a tf.boolean_mask: models/ragged.where_true).
    storable = ~tf.strings.regex_full_match(terms, tft_analyzers.get_vocab_newline_characters_regex(tf.string, "text"))
    where = ragged.where_true(storable)
    reduced = tf_utils.reduce_batch_weighted_counts(tf.gather(terms, where), tf.gather(weights, where))
    (path,) = tft.experimental.ptransform_analyzer(
        [reduced.unique_x, reduced.summed_weights_per_x],
        _WriteVocabulary(top_k, frequency_threshold, store_frequency, vocab_filename),
        output_dtypes=[tf.string],
        output_shapes=[[]],
        output_asset_default_values=[_PLACEHOLDER_WITH_FREQUENCY if store_frequency else _PLACEHOLDER],
        name=vocab_filename,
    )
    return path
