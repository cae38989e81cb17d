"""One run request for every runner: the flags that say what to train, and their resolution.

`run_local.py` and `run_kubeflow.py compile` both call `add_flags` and
`resolve`, so a recipe or a knob means the same on either: the dataset's
defaults (schema, excluded folders, accuracy bar) < the recipe < a knob's own
flag. What differs between the runners (where the corpus is, where runs live)
stays in their own command lines.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import List, Optional, Tuple

from pipeline import configs

_KNOB_FIELDS = {"vocab_size": "vocab_size", "max_len": "max_len", "ngrams": "ngrams",
                "ngram_buckets": "ngram_buckets", "epochs": "epochs", "batch_size": "batch_size",
                "learning_rate": "learning_rate", "embedding_dim": "embedding_dim",
                "patience": "early_stopping_patience", "seed": "seed", "mask_padding": "mask_padding"}


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """What to train and how to judge it, resolved and validated."""

    schema_file: Path  # a schema.pbtxt on this machine (its content is fingerprinted)
    schema_name: Optional[str]  # the curated schema's folder under schemas/, None for a file of the user's
    ingest: configs.IngestConfig
    transform: configs.TransformConfig
    train: configs.TrainConfig
    evaluation: configs.EvaluationConfig
    beam_args: Tuple[str, ...]


def add_flags(p: argparse.ArgumentParser) -> None:
    """The flags both runners take (the corpus source and the paths are the runners' own)."""
    p.add_argument("--schema", help="curated schema name under schemas/ or a schema.pbtxt path "
                                    "(default: the dataset's, 'generic' otherwise)")
    p.add_argument("--exclude-dir", action="append", default=None,
                   help="folder of train/ that is not a class (repeatable; IMDB: unsup)")
    p.add_argument("--eval-dir", metavar="NAME",
                   help="the validation folder beside train/ (found without this flag: val, valid, validation, dev)")
    p.add_argument("--eval-percent", type=int, default=configs.IngestConfig.eval_percent,
                   help="percent of train/ held out as eval when there is no validation folder (default: %(default)s)")
    p.add_argument("--max-file-bytes", type=int, default=configs.IngestConfig.max_file_bytes)
    p.add_argument("--recipe", choices=sorted(configs.RECIPES), default="default",
                   help="a named set of the knobs below ('tutorial': the TensorFlow tutorial's recipe); "
                        "a knob's own flag wins (default: %(default)s)")
    t, tr = configs.TransformConfig(), configs.TrainConfig()
    knobs = [("--vocab-size", int, t.vocab_size, "ids, padding and OOV included"),
             ("--max-len", int, t.max_len, "token ids per document"),
             ("--ngrams", int, t.ngrams, "2: unigrams + bigrams"),
             ("--ngram-buckets", int, t.ngram_buckets, "hash n-grams into this many ids (0: vocabulary)"),
             ("--epochs", int, tr.epochs, "at most"),
             ("--batch-size", int, tr.batch_size, ""),
             ("--learning-rate", float, tr.learning_rate, ""),
             ("--embedding-dim", int, tr.embedding_dim, ""),
             ("--patience", int, tr.early_stopping_patience, "early stopping: epochs without a better eval loss, 0 off"),
             ("--seed", int, tr.seed, "")]
    for flag, kind, default, text in knobs:
        p.add_argument(flag, type=kind, default=None, help=f"{text} (default: {default}, or the recipe's)".lstrip())
    p.add_argument("--materialize", action="store_true",
                   help="Transform also writes the transformed splits (the Trainer does not need them)")
    p.add_argument("--mask-padding", action=argparse.BooleanOptionalAction, default=None,
                   help=f"average real tokens only (default: {tr.mask_padding}, or the recipe's)")
    p.add_argument("--min-accuracy", type=float, default=None,
                   help="blessing: lowest test accuracy (default: the dataset's, 0.5 otherwise)")
    p.add_argument("--max-accuracy-drop", type=float, default=configs.EvaluationConfig.max_accuracy_drop,
                   help="blessing: largest accuracy drop against the served model (default: %(default)s)")
    p.add_argument("--beam-arg", action="append", default=None,
                   help="a Beam pipeline arg for StatisticsGen/Transform/Evaluator/ExampleGen, repeatable, "
                        "passed through unchanged (e.g. --beam-arg=--runner=PortableRunner)")


def recipe_configs(args: argparse.Namespace) -> Tuple[configs.TransformConfig, configs.TrainConfig]:
    """TransformConfig and TrainConfig: dataclass defaults < the recipe < explicit flags."""
    values = dict(configs.RECIPES[args.recipe])
    values.update({field: getattr(args, flag) for flag, field in _KNOB_FIELDS.items()
                   if getattr(args, flag) is not None})
    if args.materialize:
        values["materialize"] = True
    transform_fields = {f.name for f in dataclasses.fields(configs.TransformConfig)}
    transform = configs.TransformConfig(**{k: v for k, v in values.items() if k in transform_fields})
    train = configs.TrainConfig(**{k: v for k, v in values.items() if k not in transform_fields})
    return transform, train


def resolve(args: argparse.Namespace, dataset: Optional[configs.DatasetSpec]) -> RunRequest:
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
    min_accuracy = args.min_accuracy if args.min_accuracy is not None else (
        dataset.min_accuracy if dataset else configs.EvaluationConfig.min_accuracy)
    ingest = configs.IngestConfig(exclude_dirs=exclude, eval_dir=args.eval_dir, eval_percent=args.eval_percent,
                                  max_file_bytes=args.max_file_bytes)
    transform, train = recipe_configs(args)
    evaluation = configs.EvaluationConfig(min_accuracy=min_accuracy, max_accuracy_drop=args.max_accuracy_drop)
    for config in (ingest, transform, train, evaluation):
        config.validate()
    return RunRequest(
        schema_file=schema_file,
        schema_name=schema_name,
        ingest=ingest,
        transform=transform,
        train=train,
        evaluation=evaluation,
        beam_args=tuple(args.beam_arg if args.beam_arg is not None else configs.DEFAULT_BEAM_ARGS),
    )


def notices(request: RunRequest) -> List[str]:
    """Settings that are valid but probably not meant: one line each, printed before the run starts."""
    lines = []
    if request.train.epochs == 0:
        lines.append("warning: --epochs 0: the model is exported untrained (its initial random weights), and "
                     "the Evaluator judges that")
    return lines
