"""ExampleValidator that stops the pipeline when the data breaks the curated schema.

TFX's ExampleValidator records anomalies (and a `blessed` property) but lets
the run go on. Here an anomaly in any split fails the component with a message
that names each feature, split and problem, so bad data never reaches
Transform or the Trainer (the pipeline makes Transform depend on this node).
"""

from __future__ import annotations

import os

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.components.example_validator import executor as example_validator_executor
from tfx.components.example_validator.component import ExampleValidator
from tfx.dsl.components.base import executor_spec


class DataAnomaliesError(RuntimeError):
    """The examples do not match the schema; the message lists every anomaly."""


def describe(found: dict[str, anomalies_pb2.Anomalies]) -> str:
    lines = []
    for split, anomalies in sorted(found.items()):
        for feature, info in sorted(anomalies.anomaly_info.items()):
            lines.append(f"  split '{split}', feature '{feature}': {info.short_description} - {info.description}")
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            lines.append(f"  split '{split}', dataset: {info.short_description} - {info.description}")
    return "\n".join(lines)


class Executor(example_validator_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties):
        self._found: dict[str, anomalies_pb2.Anomalies] = {}
        result = super().Do(input_dict, output_dict, exec_properties)
        if self._found:
            raise DataAnomaliesError(
                "the examples do not match the curated schema; training stopped before Transform:\n"
                + describe(self._found)
                + "\nFix the corpus, or, if the data is right and the schema is stale, update schemas/."
            )
        return result

    def _Validate(self, inputs, outputs):
        anomalies = super()._Validate(inputs, outputs)
        if anomalies.anomaly_info or anomalies.HasField("dataset_anomaly_info"):
            split_dir = os.path.basename(os.path.normpath(next(iter(outputs.values()))))
            self._found[split_dir.replace("Split-", "", 1)] = anomalies
        return anomalies


class StrictExampleValidator(ExampleValidator):
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
