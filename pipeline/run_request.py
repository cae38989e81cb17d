"""One run request for every runner: the flags that say what to train, and their resolution.

`run_local.py` and `run_kubeflow.py compile` both call `add_flags` and
`resolve`, so a recipe or a knob means the same on either: the dataset's
defaults (schema, excluded folders, accuracy bar) < the recipe < a knob's own
flag. Every field made with `knob` (models/recipe.py) gets its flag here,
derived from the field: `--field-name` (or the knob's `flag`), its type, its
default and its help; a new knob is one new field. What differs between the
runners (where the corpus is, where runs live) stays in their own command lines.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from components.example_gen.settings import IngestConfig
from components.retention_policy import RetentionPolicy
from models.corpus_profile import DriftConfig
from models.evaluation_settings import EvaluationConfig
from models.recipe import RECIPES, TrainConfig, TransformConfig
from pipeline import beam_workers, configs

# The dataclasses whose knobs are flags; `recipe` says whether a recipe may set them; each is one group of
# the help.
KNOB_CLASSES = (
    (TransformConfig, True),
    (TrainConfig, True),
    (IngestConfig, False),
    (DriftConfig, False),
    (EvaluationConfig, False),
)
GROUP_TITLES = {
    TransformConfig: "model: tokens and weights (Transform; --recipe sets these, a flag wins)",
    TrainConfig: "model: training (Trainer; --recipe sets these, a flag wins)",
    IngestConfig: "ingestion and duplicates (DirectoryExampleGen)",
    DriftConfig: "drift against the served model (DriftCheck)",
    EvaluationConfig: "evaluation and the gate (Evaluator)",
    RetentionPolicy: "retention (applied after each run; on Kubeflow by its last step, RunRetention)",
}
_TYPES = {"int": int, "float": float, "str": str}
_METAVARS = {"int": "N", "float": "X", "str": "VALUE"}


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """What to train and how to judge it, resolved and validated."""

    schema_file: Path  # a schema.pbtxt on this machine (its content is fingerprinted)
    schema_name: str | None  # the curated schema's folder under schemas/, None for a file of the user's
    ingest: IngestConfig
    drift: DriftConfig
    transform: TransformConfig
    train: TrainConfig
    evaluation: EvaluationConfig
    beam_args: tuple[str, ...]


def knobs(config_class) -> list[tuple[dataclasses.Field, str]]:
    """(field, flag) of every knob of a settings dataclass."""
    return [
        (f, f.metadata.get("flag") or "--" + f.name.replace("_", "-"))
        for f in dataclasses.fields(config_class)
        if "help" in f.metadata
    ]


def add_knob_flags(p: argparse.ArgumentParser, config_class):
    """The flags of a settings dataclass that no recipe sets (each defaults to None: the dataclass's default),
    in their own group of the help; returns the group."""
    group = p.add_argument_group(GROUP_TITLES[config_class])
    for field, flag in knobs(config_class):
        _add_knob(group, field, flag, by_recipe=False)
    return group


def given(args: argparse.Namespace, config_class):
    """The settings dataclass with the flags the user gave, validated."""
    config = config_class(**_given(args, config_class))
    config.validate()
    return config


def _add_knob(p, field: dataclasses.Field, flag: str, by_recipe: bool) -> None:
    default = f"default: {field.default if field.default not in ('', None) else 'none'}"
    presets = [
        f"--dataset {n}: {d.knob_values[field.name]}"
        for n, d in configs.DATASETS.items()
        if field.name in d.knob_values
    ]
    default += "".join(f"; {p}" for p in presets)
    help_text = f"{field.metadata['help']} ({default}" + (", or the recipe's)" if by_recipe else ")")
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    if kind == "bool":
        p.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        return
    choices = field.metadata.get("choices") or None
    metavar = None if choices else _METAVARS[kind]  # argparse shows the choices: {mean,sqrtn}
    p.add_argument(
        flag, dest=field.name, type=_TYPES[kind], default=None, choices=choices, metavar=metavar, help=help_text
    )


def add_flags(p: argparse.ArgumentParser) -> None:
    """The flags both runners take, in groups (the corpus source and the paths are the runners' own)."""
    layout = p.add_argument_group("corpus layout and schema")
    layout.add_argument(
        "--schema",
        metavar="NAME_OR_FILE",
        help="curated schema name under schemas/ or a schema.pbtxt path (default: the dataset's, 'generic' otherwise)",
    )
    layout.add_argument(
        "--exclude-dir",
        action="append",
        default=None,
        metavar="NAME",
        help="folder of train/ that is not a class (repeatable; IMDB: unsup)",
    )
    layout.add_argument(
        "--eval-dir",
        metavar="NAME",
        help="the validation folder beside train/ (found without this flag: val, valid, validation, dev)",
    )
    groups = {}
    for config_class, by_recipe in KNOB_CLASSES:
        groups[config_class] = group = p.add_argument_group(GROUP_TITLES[config_class])
        if config_class is TransformConfig:
            group.add_argument(
                "--recipe",
                choices=sorted(RECIPES),
                default="default",
                help="a named set of the model's settings ('tutorial': the TensorFlow tutorial's recipe) "
                "(default: %(default)s)",
            )
        for field, flag in knobs(config_class):
            _add_knob(group, field, flag, by_recipe)
    p.add_argument_group("Beam").add_argument(
        "--beam-arg",
        action="append",
        default=None,
        metavar="ARG",
        help="a Beam pipeline arg for StatisticsGen/Transform/Evaluator/ExampleGen, repeatable, "
        "passed through unchanged (e.g. --beam-arg=--runner=PortableRunner)",
    )


def _given(args: argparse.Namespace, config_class) -> dict:
    return {f.name: getattr(args, f.name) for f, _ in knobs(config_class) if getattr(args, f.name, None) is not None}


def _preset(dataset: configs.DatasetSpec | None, config_class) -> dict:
    """The dataset's values of `config_class`'s knobs that no flag gave (DatasetSpec.knob_values)."""
    fields = {f.name for f, _ in knobs(config_class)}
    return {k: v for k, v in (dataset.knob_values if dataset else {}).items() if k in fields}


def recipe_configs(args: argparse.Namespace) -> tuple[TransformConfig, TrainConfig]:
    """TransformConfig and TrainConfig: dataclass defaults < the recipe < explicit flags."""
    values = {**RECIPES[args.recipe], **_given(args, TransformConfig), **_given(args, TrainConfig)}
    transform_fields = {f.name for f in dataclasses.fields(TransformConfig)}
    transform = TransformConfig(**{k: v for k, v in values.items() if k in transform_fields})
    train = TrainConfig(**{k: v for k, v in values.items() if k not in transform_fields})
    return transform, train


def resolve(args: argparse.Namespace, dataset: configs.DatasetSpec | None) -> RunRequest:
    """The request `args` make for `dataset` (None: a corpus of the user's).

    Raises ValueError or FileNotFoundError with a message naming the flag.
    """
    schema = args.schema or (dataset.schema if dataset else "generic")
    if schema.endswith(".pbtxt"):
        schema_file, schema_name = Path(schema).expanduser().resolve(), None
        if not schema_file.is_file():
            raise FileNotFoundError(f"--schema {schema}: no such file")
    else:
        schema_file, schema_name = configs.schema_path(schema).resolve(), schema
    exclude = tuple(args.exclude_dir) if args.exclude_dir is not None else (dataset.exclude_dirs if dataset else ())
    ingest = IngestConfig(exclude_dirs=exclude, eval_dir=args.eval_dir, **_given(args, IngestConfig))
    transform, train = recipe_configs(args)
    evaluation = EvaluationConfig(**{**_preset(dataset, EvaluationConfig), **_given(args, EvaluationConfig)})
    drift = DriftConfig(**_given(args, DriftConfig))
    for config in (ingest, drift, transform, train, evaluation):
        config.validate()
    beam_args = tuple(args.beam_arg if args.beam_arg is not None else configs.DEFAULT_BEAM_ARGS)
    beam_workers.check(beam_args)
    return RunRequest(
        schema_file=schema_file,
        schema_name=schema_name,
        ingest=ingest,
        drift=drift,
        transform=transform,
        train=train,
        evaluation=evaluation,
        beam_args=beam_args,
    )


def notices(request: RunRequest) -> list[str]:
    """Settings that are valid but probably not meant: one line each, printed before the run starts."""
    lines = []
    if request.train.epochs == 0:
        lines.append(
            "warning: --epochs 0: the model is exported untrained (its initial random weights), and "
            "the Evaluator judges that"
        )
    return lines
