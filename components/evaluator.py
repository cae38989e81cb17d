"""TFX's Evaluator, with a baseline that may hold no model.

The baseline comes from ServedModelBaseline, whose output always exists (a
Kubeflow task always provisions its outputs) but holds no model when nothing
else is served. Such a baseline is dropped before TFX's executor runs: TFMA
then evaluates the candidate alone and skips the change threshold, as TFX does
for an empty baseline channel.
"""
from __future__ import annotations

from tfx.components.evaluator import executor as evaluator_executor
from tfx.components.evaluator.component import Evaluator
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_component_specs

from components.served_model_baseline import has_model

BASELINE_KEY = standard_component_specs.BASELINE_MODEL_KEY


class Executor(evaluator_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        if input_dict.get(BASELINE_KEY) and not has_model(input_dict[BASELINE_KEY][0]):
            input_dict = {k: v for k, v in input_dict.items() if k != BASELINE_KEY}
        super().Do(input_dict, output_dict, exec_properties)


class ServedBaselineEvaluator(Evaluator):
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
