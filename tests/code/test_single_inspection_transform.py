"""Transform's inspection traces (components/single_inspection_transform.py): TFX's four questions about a
preprocessing_fn answered from one trace, the analysis's own trace untouched, TFT's function restored."""

from __future__ import annotations

import contextlib

import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_transform import impl_helper
from tensorflow_transform.beam import analysis_graph_builder, analyzer_cache

from components.single_inspection_transform import inspection_traced_once

TRAIN = analyzer_cache.DatasetKey("train")
SPECS = {"text": tf.TensorSpec([None], tf.string), "label": tf.TensorSpec([None], tf.int64)}


def _counted():
    traces = []

    def preprocessing_fn(inputs):
        traces.append(1)
        length = tf.cast(tf.strings.length(inputs["text"]), tf.float32)
        return {"centred": length - tft.mean(length), "label": inputs["label"]}

    return preprocessing_fn, traces


def _inspect(preprocessing_fn):
    """What TFX's Transform executor asks before its analysis, in its order."""
    analyzed = tft.get_analyze_input_columns(preprocessing_fn, SPECS)
    assert tft.get_analyze_input_columns(preprocessing_fn, SPECS) == analyzed
    transformed = tft.get_transform_input_columns(preprocessing_fn, SPECS)
    keys = analysis_graph_builder.get_analysis_cache_entry_keys(preprocessing_fn, SPECS, [TRAIN], False)
    return sorted(analyzed), sorted(transformed), sorted(keys)


@pytest.mark.parametrize("once", [True, False])
def test_the_four_inspections_trace_once_and_answer_as_tft_does(once):
    expected_fn, _ = _counted()
    expected = _inspect(expected_fn)
    assert expected[0] == ["text"] and expected[1] == ["label", "text"] and expected[2]
    preprocessing_fn, traces = _counted()
    with inspection_traced_once() if once else contextlib.nullcontext():
        assert _inspect(preprocessing_fn) == expected
    assert len(traces) == (1 if once else 4)


def test_a_trace_with_a_temp_folder_traces_again_and_tfts_function_comes_back(tmp_path):
    original = impl_helper.trace_preprocessing_function
    preprocessing_fn, traces = _counted()
    with pytest.raises(RuntimeError, match="stop"), inspection_traced_once() as held:
        _inspect(preprocessing_fn)
        impl_helper.trace_preprocessing_function(preprocessing_fn, SPECS, False, str(tmp_path))
        assert len(traces) == 2 and len(held) == 1
        raise RuntimeError("stop")
    assert impl_helper.trace_preprocessing_function is original
    _inspect(preprocessing_fn)
    assert len(traces) == 6
