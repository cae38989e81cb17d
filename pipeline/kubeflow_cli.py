"""Command line of `run_kubeflow.py`: `compile` and `schedule`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from pipeline import configs

# Defaults assume one shared volume mounted at /mnt in every step's pod; pass
# bucket URIs (gs://, s3://) or your own mounts instead.
MOUNT = "/mnt"


def _gpu(value: str) -> tuple:
    if value.lower() in ("none", "0", ""):
        return "", 0
    kind, _, count = value.partition(":")
    try:
        return kind, int(count or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--trainer-gpu takes TYPE[:COUNT] or 'none', got '{value}'")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="run_kubeflow.py", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compile", help="write the KFP v2 pipeline spec (JSON)")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", choices=sorted(configs.DATASETS))
    src.add_argument("--name", help="run name for another corpus (needs --data-root and --num-classes)")
    c.add_argument("--data-root", help=f"corpus folder as the pods see it (default: {MOUNT}/data/NAME)")
    c.add_argument("--num-classes", type=int, help="class folders of the corpus (known datasets: from the registry)")
    c.add_argument("--schema", help="curated schema under schemas/ (default: the dataset's, else 'generic')")
    c.add_argument("--no-test-dir", action="store_true", help="the corpus has no test/ folder")
    c.add_argument("--pipeline-root", help=f"any URI (default: {MOUNT}/tfx/NAME/pipeline_root)")
    c.add_argument("--serving-dir", help=f"where blessed models are pushed (default: {MOUNT}/tfx/NAME/serving)")
    c.add_argument("--image", default=configs.default_image(), help="container image (default: %(default)s)")
    c.add_argument("--output", type=Path, help="spec file (default: build/kubeflow/NAME.json)")
    c.add_argument("--beam-arg", action="append", default=None,
                   help="Beam arg for the Beam components, repeatable, passed through unchanged "
                        "(e.g. --beam-arg=--runner=DataflowRunner --beam-arg=--project=P)")
    default_gpu = configs.KUBEFLOW_RESOURCES["Trainer"]
    c.add_argument("--trainer-gpu", type=_gpu,
                   default=(default_gpu.accelerator_type, default_gpu.accelerator_count),
                   help=f"accelerator for the Trainer, TYPE[:COUNT] or 'none' "
                        f"(default: {default_gpu.accelerator_type}:{default_gpu.accelerator_count})")
    c.add_argument("--epochs", type=int, default=configs.TrainConfig.epochs)
    c.add_argument("--min-accuracy", type=float, default=None)

    s = sub.add_parser("schedule", help="upload the spec and create a recurring run")
    s.add_argument("--spec", type=Path, required=True, help="file written by `compile`")
    s.add_argument("--host", required=True, help="KFP API endpoint, e.g. http://localhost:8080")
    s.add_argument("--cron", required=True, help="'0 0 3 * * *' (KFP's 6 fields) or 5 fields without seconds")
    s.add_argument("--namespace", default=None, help="Kubeflow namespace (multi-user installs)")
    s.add_argument("--experiment", default=configs.PIPELINE_NAME, help="default: %(default)s")
    s.add_argument("--pipeline-name", help="default: the spec's pipeline name")
    s.add_argument("--version-name", help="default: pipeline name + a digest of the spec")
    s.add_argument("--max-concurrency", type=int, default=1, help="default: %(default)s")
    s.add_argument("--disable", action="store_true", help="create the recurring run disabled")
    s.add_argument("--run-now", action="store_true", help="also start one run now")
    s.add_argument("--dry-run", action="store_true", help="print the requests, send nothing")
    return p.parse_args(argv)


def run_compile(args: argparse.Namespace) -> Path:
    from pipeline.kubeflow import compile_pipeline  # noqa: WPS433

    if args.dataset:
        spec = configs.DATASETS[args.dataset]
        name, num_classes, schema = spec.name, len(spec.class_names), args.schema or spec.schema
        exclude, min_accuracy = spec.exclude_dirs, spec.min_accuracy
    else:
        if not (args.data_root and args.num_classes):
            raise SystemExit("error: --name needs --data-root and --num-classes")
        name, num_classes, schema = args.name, args.num_classes, args.schema or "generic"
        exclude, min_accuracy = (), configs.EvaluationConfig.min_accuracy
    if args.min_accuracy is not None:
        min_accuracy = args.min_accuracy
    trainer = configs.KUBEFLOW_RESOURCES["Trainer"]
    resources = {**configs.KUBEFLOW_RESOURCES,
                 "Trainer": configs.Resources(cpu=trainer.cpu, memory_gib=trainer.memory_gib,
                                              accelerator_type=args.trainer_gpu[0],
                                              accelerator_count=args.trainer_gpu[1])}
    output = compile_pipeline(
        output=args.output or Path("build/kubeflow") / f"{name}.json",
        pipeline_root=args.pipeline_root or f"{MOUNT}/tfx/{name}/pipeline_root",
        data_root=args.data_root or f"{MOUNT}/data/{name}",
        serving_dir=args.serving_dir or f"{MOUNT}/tfx/{name}/serving",
        image=args.image,
        num_classes=num_classes,
        schema=schema,
        name=name,
        exclude_dirs=exclude,
        has_test_dir=not args.no_test_dir,
        min_accuracy=min_accuracy,
        beam_pipeline_args=args.beam_arg if args.beam_arg is not None else configs.DEFAULT_BEAM_ARGS,
        resources=resources,
        train=configs.TrainConfig(epochs=args.epochs),
    )
    print(f"wrote {output} (image {args.image})")
    return output


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.command == "compile":
        run_compile(args)
        return 0
    from pipeline.kubeflow import SchedulingError, schedule  # noqa: WPS433

    try:
        result = schedule(args.spec, host=args.host, cron=args.cron, experiment=args.experiment,
                          namespace=args.namespace, pipeline_name=args.pipeline_name,
                          version_name=args.version_name, max_concurrency=args.max_concurrency,
                          enabled=not args.disable, run_now=args.run_now, dry_run=args.dry_run)
    except SchedulingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.dry_run:
        print(json.dumps(result))
    return 0
