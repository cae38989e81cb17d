"""Transform whose preprocessing_fn is traced once for TFX's questions about it, not four times.

Before its analysis, TFX's Transform executor asks tf.Transform which columns the analysis reads (twice), which
columns the transform reads, and which cache entries the analysis would use. tf.Transform answers each by tracing
preprocessing_fn again (`impl_helper.trace_preprocessing_function`, the same function and specs, no temp folder):
4 of the 9 traces of an IMDB run, about 0.35 s each (bench/NOTES.md, "Transform's inspection traces"). Here the
executor runs with those calls answered from one trace. A trace with a temp folder (the analysis itself, which
writes temporary assets there) always traces: it builds a different graph.

Failure handling: the stock executor's. The one trace is TFT's own result, shared by callers that only read it
(columns, analyzers); if TFT renames the function, `inspection_traced_once` fails loudly at its first use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tensorflow_transform import impl_helper
from tfx.components.transform import executor as transform_executor
from tfx.components.transform.component import Transform
from tfx.dsl.components.base import executor_spec


@contextlib.contextmanager
def inspection_traced_once() -> Iterator[dict]:
    """Within: `impl_helper.trace_preprocessing_function` without a temp folder traces a given function and specs
    once; later calls get that trace. Yields the traces by key (for tests). Restores TFT's function on exit."""
    trace = impl_helper.trace_preprocessing_function
    traces: dict = {}

    def traced_once(preprocessing_fn, input_specs, use_tf_compat_v1, base_temp_dir=None):
        if base_temp_dir is not None:
            return trace(preprocessing_fn, input_specs, use_tf_compat_v1, base_temp_dir)
        key = (preprocessing_fn, tuple(sorted(input_specs.items())), use_tf_compat_v1)
        if key not in traces:
            traces[key] = trace(preprocessing_fn, input_specs, use_tf_compat_v1)
        return traces[key]

    impl_helper.trace_preprocessing_function = traced_once
    try:
        yield traces
    finally:
        impl_helper.trace_preprocessing_function = trace


class Executor(transform_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties):
        with inspection_traced_once():
            return super().Do(input_dict, output_dict, exec_properties)


class SingleInspectionTransform(Transform):
    """TFX's Transform, its parameters and outputs unchanged; the executor above."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
