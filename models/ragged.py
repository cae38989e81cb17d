"""Ragged rows of terms built without the ragged ops' validation, for Transform's module (models/preprocessing.py).

tf.ragged's ops check their operands with assertions inside conditionals. tf.Transform traces `preprocessing_fn`
six times per run (components/single_inspection_transform.py) and serving runs its graph on every request, so each
conditional is paid again and again; the helpers here build the same ragged tensors from row ids that are in order
by construction.
They also build fewer ops than tf.ragged's for the same result (a boolean mask, row ids, one join for several
tensors): the default graph went from 1,019 ops to 552 (581 once RowJoin computed its order) and a trace from 0.56
to 0.27 s, IMDB's Transform alone from 14.64, 15.93, 16.93 s to 12.43, 13.65, 13.45 s, alternated (bench/NOTES.md,
"Transform's graph: fewer ops and less work per review")."""

from __future__ import annotations

import tensorflow as tf


def rows(values: tf.Tensor, value_rows: tf.Tensor, nrows: tf.Tensor) -> tf.RaggedTensor:
    """A ragged tensor from values and their (sorted) row ids, without validation: the ragged ops that check
    their operands (tf.ragged.boolean_mask, tf.where, broadcasting a division, from_value_rowids validating)
    add assertions in conditionals that tf.Transform traces six times per run and that serving runs on every
    request. Without them the default recipe's graph went from 3,015 ops (52 conditionals) to 994, and a trace
    from 2.3-3.1 s to 0.7-1.0 s (bench/NOTES.md, "Transform's traces"). The callers build their row ids in
    order by construction."""
    return tf.RaggedTensor.from_value_rowids(values, value_rows, nrows=nrows, validate=False)


def where_true(mask: tf.Tensor) -> tf.Tensor:
    """The indices where a 1-D `mask` is true, to gather at: tf.boolean_mask builds 27 ops for masks of any rank,
    this and a gather 7."""
    return tf.reshape(tf.where(mask), [-1])


def kept(terms: tf.RaggedTensor, mask: tf.Tensor) -> tf.RaggedTensor:
    """The terms where `mask` (a bool per flat value) is true: tf.ragged.boolean_mask's result."""
    where = where_true(mask)
    return rows(tf.gather(terms.flat_values, where), tf.gather(terms.value_rowids(), where), terms.nrows())


def with_row_ids(terms: tf.RaggedTensor) -> tf.RaggedTensor:
    """`terms` (built from row splits, as tf.strings.ngrams builds its result) holding its row ids too. Each
    value's row is the number of row ends at or before it, one binary search per value: `value_rowids()` of
    a tensor without them builds 72 ops (tf.repeat's), this 17."""
    splits = terms.row_splits
    value_rows = tf.raw_ops.UpperBound(
        sorted_inputs=tf.expand_dims(splits[1:], 0), values=tf.expand_dims(tf.range(splits[-1]), 0), out_type=tf.int64
    )[0]
    return rows(terms.flat_values, value_rows, terms.nrows())


class RowJoin:
    """Joins ragged tensors row by row: each row's values of parts[0], then of parts[1], ... (tf.concat(parts,
    axis=1) of ragged rows of equal nrows). tf.concat's ragged ops added the default graph's last 5 conditionals;
    without them a trace took 0.54-0.58 s instead of 0.58-0.71, IMDB's Transform alone 21.8 and 25.9 s instead of
    24.2 and 27.8 (alternated), and the transform graph's one text 1.37 ms instead of 1.56.

    Built once for the rows of `parts`, it joins any tensors with those rows (ids, texts, weights of the same
    terms) by the same order: one order and one row structure for all of them, not one each. The order is
    computed, not sorted: each value's place in the joined row is its row's start, plus the lengths of the
    earlier parts' rows, plus its place in its own row (a stable sort by row id gave the same order; the three
    joins of 5,000 IMDB reviews took 206 ms of CPU with it)."""

    def __init__(self, parts: list[tf.RaggedTensor]):
        row_ids = [p.value_rowids() for p in parts]
        row_starts = tf.math.add_n([p.row_splits for p in parts])[:-1]
        places = []
        for part, part_rows in zip(parts, row_ids, strict=True):
            in_row = tf.range(tf.size(part_rows, tf.int64)) - tf.gather(part.row_splits, part_rows)
            places.append(tf.gather(row_starts, part_rows) + in_row)
            row_starts += part.row_lengths()
        self._order = tf.math.invert_permutation(tf.concat(places, axis=0))
        sorted_rows = tf.gather(tf.concat(row_ids, axis=0), self._order)
        self._rows = rows(sorted_rows, sorted_rows, parts[0].nrows())  # its values are replaced by each join's

    def __call__(self, parts: list[tf.RaggedTensor]) -> tf.RaggedTensor:
        return self._rows.with_flat_values(tf.gather(tf.concat([p.flat_values for p in parts], axis=0), self._order))


def concat_rows(parts: list[tf.RaggedTensor]) -> tf.RaggedTensor:
    """tf.concat(parts, axis=1) of ragged rows (equal nrows): RowJoin's join of `parts` themselves."""
    return parts[0] if len(parts) == 1 else RowJoin(parts)(parts)


def distinct(terms: tf.RaggedTensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
    """Each row's distinct terms in order of first occurrence, and how often each occurs in its row."""
    row_ids = terms.value_rowids()
    # (row, term) as one int64: the term's 64-bit fingerprint shifted by its row (a collision of two terms of
    # one row needs equal fingerprints: about 1 in 2^63). Unique over integers, not joined strings.
    keys = tf.strings.to_hash_bucket_fast(terms.flat_values, 2**63 - 1) + row_ids * 1_000_003
    _, index, counts = tf.unique_with_counts(keys, out_idx=tf.int64)
    first = tf.math.unsorted_segment_min(tf.range(tf.size(index, tf.int64)), index, tf.size(counts))
    values, value_rows = tf.gather(terms.flat_values, first), tf.gather(row_ids, first)
    # `first` ascends (tf.unique lists keys in order of first occurrence), so the rows are in order.
    distinct_terms = rows(values, value_rows, terms.nrows())
    return distinct_terms, distinct_terms.with_flat_values(tf.cast(counts, tf.float32))
