"""What a reviewer needs beside the metrics, read back from ML Metadata and the artifacts: which pipeline,
corpus and model version, the gate's bounds and whether a baseline was served, how the model was trained
(settings, recipe, epochs and loss curve, vocabulary, split sizes) and where it was pushed.

The HTML report (tools/report/page.py) shows these; nothing here draws or formats.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os

from models import recipe
from models.features import REPORT_FILE
from pipeline import component_ids as ids
from pipeline.recorded import mlmd
from tools.evaluations import executions_of_run, read_json


def pipeline_name_of(store, execution) -> str | None:
    names = [c.name for c in store.get_contexts_by_execution(execution.id) if c.type == "pipeline"]
    return names[0] if names else None


def executions_of_run_of(store, execution) -> dict[str, object]:
    """{component id: execution} of the pipeline run `execution` belongs to."""
    runs = [c.name for c in store.get_contexts_by_execution(execution.id) if c.type == "pipeline_run"]
    return executions_of_run(store, runs[0]) if runs else {}


def gate_bounds(evaluator) -> list[dict]:
    """The blessing's thresholds as the pipeline gave them to the Evaluator: metric, slice, kind, bound.

    Built from the execution's own settings (its `custom_config` and `num_classes`) by the function its executor
    used, not read from the evaluation's config: without a baseline, TFMA drops the change thresholds from that.
    An execution recorded before the settings were handed over whole has TFMA's config as `eval_config`.
    """
    import tensorflow_model_analysis as tfma
    from google.protobuf import json_format

    from components.evaluator.component import CUSTOM_CONFIG_KEY, NUM_CLASSES_KEY, eval_config_of
    from models.evaluation import written_name

    properties = {key: mlmd.custom_property(evaluator, key) for key in (CUSTOM_CONFIG_KEY, NUM_CLASSES_KEY)}
    if all(value not in (None, "") for value in properties.values()):
        config = eval_config_of(properties)
    else:
        config = json_format.Parse(mlmd.custom_property(evaluator, "eval_config") or "{}", tfma.EvalConfig())
    bounds = []
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            for per_slice in metric.per_slice_thresholds:
                slices = [", ".join(s.feature_keys) or "overall" for s in per_slice.slicing_specs] or ["overall"]
                threshold = per_slice.threshold
                for slice_name in slices:
                    if threshold.HasField("value_threshold") and threshold.value_threshold.HasField("lower_bound"):
                        bounds.append(
                            {
                                "metric": written_name(metric),
                                "slice": slice_name,
                                "kind": "lower_bound",
                                "bound": threshold.value_threshold.lower_bound.value,
                            }
                        )
                    if threshold.HasField("change_threshold") and threshold.change_threshold.HasField("absolute"):
                        bounds.append(
                            {
                                "metric": written_name(metric),
                                "slice": slice_name,
                                "kind": "change",
                                "bound": threshold.change_threshold.absolute.value,
                            }
                        )
    return bounds


def training_history(model_run_uri: str) -> dict[str, dict[str, list[float]]]:
    """{'train' | 'validation': {'epoch_loss': [...], 'epoch_accuracy': [...]}} from the Trainer's TensorBoard
    logs (the ModelRun artifact), one value per epoch run."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    history: dict[str, dict[str, dict[int, float]]] = {}
    for path in sorted(glob.glob(os.path.join(model_run_uri, "**", "events.out.tfevents.*"), recursive=True)):
        phase = os.path.basename(os.path.dirname(path))
        for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                if value.tag.startswith("epoch_"):
                    number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                    history.setdefault(phase, {}).setdefault(value.tag, {})[event.step] = number
    return {
        phase: {tag: [by_step[s] for s in sorted(by_step)] for tag, by_step in tags.items()}
        for phase, tags in history.items()
    }


def _tokenization(transform_graph_uri: str, transform_settings: dict) -> str:
    """The line the run's summary prints about the tokenizer (models/preprocessing.tokenization_line)."""
    from models.preprocessing import chosen_tokenization, tokenization_line
    from models.recipe import TransformConfig

    tokenizer = transform_settings.get("tokenizer", TransformConfig.tokenizer)
    return tokenization_line(chosen_tokenization(transform_graph_uri, tokenizer))


def matching_recipe(transform: dict, train: dict) -> str | None:
    """The named recipe whose settings these are, or None (settings of the user's own)."""
    for name, knobs in recipe.RECIPES.items():
        expected = {**dataclasses.asdict(recipe.TransformConfig()), **dataclasses.asdict(recipe.TrainConfig()), **knobs}
        recorded = {**transform, **train}
        if all(recorded.get(k) == v for k, v in expected.items() if k in recorded and k != "materialize"):
            return name
    return None


def review_facts(store, evaluator, evaluation) -> dict:
    """Everything the report states besides TFMA's figures (see the module docstring)."""
    from components.evaluator.component import BASELINE_FIGURES_PROPERTY
    from components.served_model_baseline import SERVED_VERSION_PROPERTY

    inputs = mlmd.input_artifacts(store, evaluator.id)
    examples, model = inputs["examples"][0], inputs["model"][0]
    baseline = inputs.get("baseline_model", [])
    served_version = (mlmd.custom_property(baseline[0], SERVED_VERSION_PROPERTY) or None) if baseline else None
    example_gen = mlmd.producer(store, examples.id)
    trainer = mlmd.producer(store, model.id)
    trainer_inputs = mlmd.input_artifacts(store, trainer.id)
    transform_graph = trainer_inputs["transform_graph"][0]
    transform = mlmd.producer(store, transform_graph.id)
    train_settings = json.loads(mlmd.custom_property(trainer, "custom_config") or "{}")
    transform_settings = json.loads(mlmd.custom_property(transform, "custom_config") or "{}")
    trainer_code = train_settings.get("code_version")
    for settings in (train_settings, transform_settings):
        for key in ("code_version", "devices"):
            settings.pop(key, None)
    vocab_file = os.path.join(transform_graph.uri, "transform_fn", "assets", "tokens")
    model_run = [a for a in mlmd.output_artifacts(store, trainer.id) if a.type == "ModelRun"]
    history = training_history(model_run[0].uri) if model_run else {}

    push = None
    run = executions_of_run_of(store, evaluator)
    for pusher in (run[p] for p in ids.PUSHERS if p in run):
        for artifact in mlmd.output_artifacts(store, pusher.id):
            push = {
                "pushed": bool(mlmd.custom_property(artifact, "pushed")),
                "version": mlmd.custom_property(artifact, "pushed_version"),
                "destination": mlmd.custom_property(artifact, "pushed_destination"),
            }
    ingest = read_json(os.path.join(examples.uri, REPORT_FILE))
    return {
        "pipeline": pipeline_name_of(store, evaluator),
        "corpus": mlmd.custom_property(example_gen, "input_base"),
        "ingestion": ingest,
        "model_uri": model.uri,
        "served_baseline": served_version,  # None: nothing was served when this model was evaluated
        "baseline_figures": mlmd.custom_property(evaluation, BASELINE_FIGURES_PROPERTY),
        "bounds": gate_bounds(evaluator),
        "train_settings": train_settings,
        "transform_settings": transform_settings,
        "recipe": matching_recipe(transform_settings, train_settings),
        "vocabulary_entries": sum(1 for _ in open(vocab_file, "rb")) if os.path.isfile(vocab_file) else None,
        "tokenization": _tokenization(transform_graph.uri, transform_settings),
        "history": history,
        "epochs_run": len(history.get("train", {}).get("epoch_loss", [])),
        "kept_epoch": kept_epoch(history, train_settings),
        "push": push,
        # The run that trained the model (a cached re-run reports the model an earlier run trained) and the
        # Trainer's code fingerprint.
        "training_run": run_of(store, trainer),
        "trainer_code_version": trainer_code,
    }


def kept_epoch(history: dict, train_settings: dict) -> int | None:
    """The epoch whose weights the model holds: with early stopping (restore_best_weights), the lowest eval
    loss's; without it, the last; None without a history."""
    losses = history.get("validation", {}).get("epoch_loss", [])
    if not losses:
        return None
    if not train_settings.get("early_stopping_patience"):
        return len(losses)
    return 1 + min(range(len(losses)), key=losses.__getitem__)


def run_of(store, execution) -> str | None:
    """The pipeline run (its id) an execution belongs to."""
    runs = [c.name for c in store.get_contexts_by_execution(execution.id) if c.type == "pipeline_run"]
    return runs[0] if runs else None
