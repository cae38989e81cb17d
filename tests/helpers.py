"""Helpers for tests: small generated corpora and readers of what the pipeline wrote."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

# Words that carry each class, and filler shared by all: a model can learn
# the tiny corpus, and a standardization bug shows up as a skew.
CLASS_WORDS: dict[str, Sequence[str]] = {
    "neg": "awful boring terrible waste dull worst bad poor".split(),
    "pos": "wonderful great loved excellent brilliant best superb fun".split(),
    "csharp": "linq nuget dotnet visualstudio async await".split(),
    "java": "jvm maven spring gradle hibernate servlet".split(),
}
FILLER = "the movie film was and it a of plot actor story this that with".split()


def write_doc(path: Path, text, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def make_corpus(
    root: Path,
    classes: Sequence[str] = ("neg", "pos"),
    n_train: int = 40,
    n_test: int = 20,
    seed: int = 0,
    imdb_names: bool = True,
    with_test: bool = True,
    classes_at_root: bool = False,
) -> Path:
    """A small corpus `root/{train,test}/<class>/<file>` that a model can learn.

    `classes_at_root`: `root/<class>/<file>` instead, n_train files per class.
    """
    rng = random.Random(seed)
    splits = [("train", n_train)] + ([("test", n_test)] if with_test and not classes_at_root else [])
    for split, n in splits:
        folder = root if classes_at_root else root / split
        for ci, cls in enumerate(classes):
            words = list(CLASS_WORDS.get(cls, [f"{cls}word{j}" for j in range(6)]))
            for i in range(n):
                body = " ".join(rng.choice(words + FILLER) for _ in range(rng.randint(8, 40)))
                if i % 5 == 0:
                    body = body.capitalize() + "!<br /><br />The END."
                rating = rng.choice([1, 2, 3, 4]) if ci == 0 else rng.choice([7, 8, 9, 10])
                name = f"{i}_{rating}.txt" if imdb_names else f"{i}.txt"
                write_doc(folder / cls / name, body)
    return root


def read_records(pattern: str) -> list[bytes]:
    """Raw records of the gzipped TFRecord files matching `pattern`, in file order."""
    import tensorflow as tf

    files = sorted(tf.io.gfile.glob(pattern))
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def read_examples(pattern: str):
    """Parsed tf.Examples from gzipped TFRecords matching `pattern`."""
    import tensorflow as tf

    return [tf.train.Example.FromString(r) for r in read_records(pattern)]


def feature(example, name: str):
    f = example.features.feature[name]
    kind = f.WhichOneof("kind")
    return list(getattr(f, kind).value) if kind else []


def examples_by_split(examples_uri: Path, splits=("train", "eval", "test")) -> dict[str, list]:
    return {s: read_examples(str(examples_uri / f"Split-{s}" / "*")) for s in splits}


def only(items, msg: str | None = None):
    assert len(items) == 1, msg or items
    return items[0]


# Raw texts that exercise every step of the standardization (planted in the tiny run's test split).
SKEW_TEXTS = [
    "Hello, WORLD!<br /><br />It's a GREAT film...",
    "zyxxyq unknownword qwertyuiop",
    "TERRIBLE!!! (awful) <br />boring-plot; a waste.",
    "MiXeD CaSe: wonderful & excellent, superb?",
]


# Texts with words but no token once standardized (emoji-free social-media noise, a bare break): the tiny run
# trains and evaluates on some, and a served model must answer them without NaN.
ZERO_TOKEN_TEXTS = ["... :-) ,,", "-- ** --", "<br />..."]


def make_tiny_run_corpus(root: Path) -> Path:
    """The shared tiny run's corpus (tests/conftest.py tiny_run), also executed on Kubeflow's stand-in: 60 train
    and 30 test documents per class, the skew texts in test/, and documents without tokens (two in train/, one
    in test/)."""
    make_corpus(root, n_train=60, n_test=30)
    for i, text in enumerate(SKEW_TEXTS):
        label, rating = ("pos", 9) if i % 2 else ("neg", 2)
        write_doc(root / "test" / label / f"900{i}_{rating}.txt", text)
    write_doc(root / "train" / "pos" / "9100_8.txt", ZERO_TOKEN_TEXTS[0])
    write_doc(root / "train" / "neg" / "9101_2.txt", ZERO_TOKEN_TEXTS[1])
    write_doc(root / "test" / "neg" / "9102_3.txt", ZERO_TOKEN_TEXTS[2])
    return root


# The tiny run's settings after its paths: what the Kubeflow stand-in's executions compile with too.
TINY_RUN_SETTINGS = [
    "--schema",
    "imdb",
    "--epochs",
    "30",
    "--learning-rate",
    "0.02",
    "--patience",
    "30",
    "--min-accuracy",
    "0.7",
    "--materialize",
]  # the skew test compares with materialized ids


def run_cli(base: Path, args, *extra):
    """run_local.py's main in this process; returns (exit code, summary dict)."""
    import json

    from pipeline import cli

    summary = base / "summary.json"
    summary.unlink(missing_ok=True)
    code = cli.main([*args, *extra, "--summary", str(summary)])
    return code, json.loads(summary.read_text())


REPO = Path(__file__).resolve().parent.parent


def start_run_local(args, **popen):
    """`run_local.py` in its own process (and process group, so a test can kill all of it)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, str(REPO / "run_local.py"), *map(str, args)],
        cwd=REPO,
        env=env,
        start_new_session=True,
        text=True,
        **popen,
    )


def run_as_a_user(*argv, timeout: float = 1200):
    """`python ARGV` from the project's root as a user's shell runs it (no TF_CPP_MIN_LOG_LEVEL set); stdout
    and stderr together."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, *map(str, argv)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def run_local_to_the_end(args, timeout: float = 1200):
    """`run_local.py ARGS` as a user's shell runs it."""
    return run_as_a_user(REPO / "run_local.py", *args, timeout=timeout)


# What a library notice looks like in a run's output: a Python warning, a log record of a library (our own
# code logs through the root logger), a TensorFlow C++ log line, a TF deprecation's instructions.
NOISE = [
    re.compile(r"Warning\b|warnings\.warn"),
    re.compile(r"^(DEBUG|INFO|WARNING) (?!root:)"),
    re.compile(r"\b(absl|apache_beam|tensorflow_model_analysis|ml_metadata|tfx)\b.*:\d+\]|ArtifactQuery"),
    re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "),
    re.compile(r"Instructions for updating"),
    re.compile(r"absl::InitializeLog|^[IWEF]\d{4} \d\d:\d\d:\d\d"),  # absl's C++ log format
]


def read_until(stream, needle: str) -> str:
    """Lines of a child's output up to the first holding `needle`; fails if the child ends first."""
    seen = []
    for line in iter(stream.readline, ""):
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"output ended without '{needle}':\n" + "".join(seen[-40:]))


def outputs_of(metadata: Path, run_id: str) -> dict[str, dict[str, str]]:
    """{component: {artifact type: uri}} for one run."""
    from pipeline.recorded import mlmd

    store = mlmd.sqlite_store(str(metadata))
    return {
        row["component"]: {a.type: a.uri for a in mlmd.output_artifacts(store, row["execution_id"])}
        for row in mlmd.component_executions(store, run_id)
    }


def vocabulary_files(transform_graph_uri: str) -> dict[str, bytes]:
    assets = Path(transform_graph_uri) / "transform_fn" / "assets"
    return {p.name: p.read_bytes() for p in sorted(assets.iterdir())}


def states(summary) -> dict[str, str]:
    """{component: 'ran' | 'cached' | 'failed' | 'running'} from a run summary."""
    return {row["component"]: row["state"] for row in summary["components"]}


def same_tree(a, b) -> bool:
    """Two folders hold the same files with the same bytes."""
    import filecmp
    import os

    cmp = filecmp.dircmp(a, b)
    return (
        not cmp.left_only
        and not cmp.right_only
        and not cmp.diff_files
        and not cmp.funny_files
        and all(same_tree(os.path.join(a, d), os.path.join(b, d)) for d in cmp.common_dirs)
    )


def evaluator_run(metadata: Path, run_id: str):
    """(inputs, exec properties, evaluation artifact) of one run's Evaluator, read from ML Metadata."""
    from ml_metadata.proto import metadata_store_pb2
    from tfx.types import artifact_utils

    from components.evaluator.component import EvaluatorSpec
    from pipeline.recorded import mlmd

    store = mlmd.sqlite_store(str(metadata))
    [row] = [r for r in mlmd.component_executions(store, run_id) if r["component"] == "Evaluator"]
    [execution] = store.get_executions_by_id([row["execution_id"]])
    inputs: dict[str, list] = {}
    for event in store.get_events_by_execution_ids([execution.id]):
        if event.type == metadata_store_pb2.Event.INPUT:
            [artifact] = store.get_artifacts_by_id([event.artifact_id])
            [kind] = store.get_artifact_types_by_id([artifact.type_id])
            inputs.setdefault(event.path.steps[0].key, []).append(artifact_utils.deserialize_artifact(kind, artifact))
    properties = {
        k: mlmd.custom_property(execution, k) for k in execution.custom_properties if k in EvaluatorSpec.PARAMETERS
    }
    [evaluation] = [
        a
        for a in mlmd.output_artifacts(store, execution.id)
        if store.get_artifact_types_by_id([a.type_id])[0].name == "ModelEvaluation"
    ]
    return inputs, properties, evaluation


def evaluate_again_with_both_models(inputs, properties, out: Path):
    """TFX's Evaluator executor (ours, with no evaluation records) on the same inputs: TFMA evaluates both models.

    Returns (evaluation folder, blessed).
    """
    from tfx.types import standard_artifacts

    from components.evaluator import component as evaluator

    evaluation, blessing = standard_artifacts.ModelEvaluation(), standard_artifacts.ModelBlessing()
    for artifact, name in ((evaluation, "evaluation"), (blessing, "blessing")):
        artifact.uri = str(out / name)
        (out / name).mkdir(parents=True)
    properties = {k: v for k, v in properties.items() if k != evaluator.METRICS_STORE_KEY}
    evaluator.Executor().Do(inputs, {"evaluation": [evaluation], "blessing": [blessing]}, properties)
    return out / "evaluation", (out / "blessing" / "BLESSED").exists()


def metric_values(metric, inputs, eval_config, **keys) -> dict:
    """A TFMA metric's figures on `inputs` (StandardMetricInputs) without Beam: each of its combiners over every
    input, then its derived computations, in its own order. {MetricKey: value}, private keys included; `keys`
    (model_names, example_weighted, ...) go to the metric's `computations`."""
    from tensorflow_model_analysis.metrics import metric_types

    results: dict = {}
    for computation in metric.computations(eval_config=eval_config, **keys):
        if isinstance(computation, metric_types.MetricComputation):
            combiner = computation.combiner
            accumulator = combiner.create_accumulator()
            for element in inputs:
                accumulator = combiner.add_input(accumulator, element)
            results.update(combiner.extract_output(combiner.compact(accumulator)))
        else:
            results.update(computation.result(results))
    return results
