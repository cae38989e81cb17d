"""The Evaluator's print options against the cost they remove: TFMA calls a loaded serving signature with one
positional tensor, TensorFlow's binding fails and formats the batch into the error's text, then the flat
signature answers (components/evaluator/component.py, `batch_reprs_summarized`)."""

from __future__ import annotations

import sys

import tensorflow as tf
from tensorflow.python.eager.polymorphic_function import concrete_function

from components.evaluator.component import EVAL_BATCH_SIZE, batch_reprs_summarized

REVIEW = b"a review of about a hundred characters, as long as the shortest IMDB reviews are, give or take."


def _failed_binding_text_lengths(monkeypatch, tmp_path, summarized: bool) -> list[int]:
    """Calls a loaded signature as TFMA does; returns the length of each failed binding's error text."""

    class Scorer(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples):
            return {"length": tf.strings.length(examples)}

    scorer = Scorer()
    tf.saved_model.save(scorer, str(tmp_path / "model"), signatures={"serving_default": scorer.serve})
    signature = tf.saved_model.load(str(tmp_path / "model")).signatures["serving_default"]
    lengths: list[int] = []
    flat_call = concrete_function.ConcreteFunction._call_with_flat_signature

    def recording(self, args, kwargs):
        handled = sys.exc_info()[1]  # the structured call's TypeError, while TensorFlow handles it
        if handled is not None:
            lengths.append(len(str(handled)))
        return flat_call(self, args, kwargs)

    monkeypatch.setattr(concrete_function.ConcreteFunction, "_call_with_flat_signature", recording)
    batch = tf.constant([REVIEW] * EVAL_BATCH_SIZE)
    if summarized:
        with batch_reprs_summarized():
            outputs = signature(batch)
    else:
        outputs = signature(batch)
    assert outputs["length"].numpy().tolist() == [len(REVIEW)] * EVAL_BATCH_SIZE
    return lengths


def test_a_failed_binding_formats_the_batch_unless_summarized(monkeypatch, tmp_path):
    full = _failed_binding_text_lengths(monkeypatch, tmp_path / "full", summarized=False)
    short = _failed_binding_text_lengths(monkeypatch, tmp_path / "short", summarized=True)
    # TensorFlow still fails the positional call and retries flat: the workaround has a cost to remove.
    assert full and full[0] > EVAL_BATCH_SIZE * len(REVIEW), full
    assert short and max(short) < 20 * len(REVIEW), short
    # The options are numpy's global ones: restored after.
    assert len(repr(tf.constant([REVIEW] * EVAL_BATCH_SIZE))) > EVAL_BATCH_SIZE * len(REVIEW)
