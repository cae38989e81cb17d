"""Command line of `run_kubeflow.py`: `compile`, `schedule` and `vertex`."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from components.example_gen import corpus_layout
from components.retention_policy import RetentionPolicy
from kubeflow_runner import compiler, credentials
from pipeline import component_ids as ids
from pipeline import configs, output_files, quiet, run_request

# A container image reference as registries parse it (distribution/reference's grammar): [DOMAIN[:PORT]/]PATH
# [:TAG][@sha256:DIGEST]; a sha256 digest has 64 hex digits.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
# The first part is a registry only with a dot or a port, or as localhost (else it is a lowercase path part).
_DOMAIN = rf"(?:localhost(?::[0-9]+)?|{_LABEL}(?:\.{_LABEL})+(?::[0-9]+)?|{_LABEL}:[0-9]+)"
IMAGE_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@sha256:[0-9a-f]{64})?$"
)


def image_reference(value: str) -> str:
    """--image: a reference a registry can resolve, best pinned by digest (NAME@sha256:...)."""
    if not IMAGE_REFERENCE.match(value):
        raise argparse.ArgumentTypeError(
            f"'{value}' is not an image reference; pass REGISTRY/NAME:TAG or REGISTRY/NAME@sha256:<64 hex digits>"
        )
    return value


def _gpu(value: str) -> tuple:
    if value.lower() in ("none", "0", ""):
        return "", 0
    kind, _, count = value.partition(":")
    try:
        return kind, int(count or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--trainer-gpu takes TYPE[:COUNT] or 'none', got '{value}'") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="run_kubeflow.py",
        description="Compile the pipeline for Kubeflow Pipelines (KFP v2 spec), then schedule it on a Kubeflow "
        "Pipelines backend, or submit or schedule it on Vertex AI Pipelines.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="{compile,schedule,vertex}")

    compile_parser = sub.add_parser("compile", help="write the KFP v2 pipeline spec (JSON)")
    corpus = compile_parser.add_argument_group("corpus in the cluster (one of --dataset and --name)")
    src = corpus.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", choices=sorted(configs.DATASETS), help="a known corpus (its classes and gate)")
    src.add_argument("--name", help="run name for another corpus (needs --num-classes)")
    c = corpus
    c.add_argument(
        "--num-classes", type=int, metavar="N", help="class folders of the corpus (known datasets: from the registry)"
    )
    # The corpus is in the cluster, not here: its layout is said with flags, and ExampleGen refuses the run
    # when the corpus is laid out otherwise.
    c.add_argument("--no-test-dir", action="store_true", help="the corpus has no test/ folder")
    c.add_argument(
        "--classes-at-root",
        action="store_true",
        help="the class folders are directly under the corpus root (no train/ folder)",
    )
    c.add_argument(
        "--corpus-pvc",
        default=compiler.CORPUS_PVC,
        help="PersistentVolumeClaim holding the corpora, mounted into ExampleGen's pod at "
        "--corpus-mount; 'none' mounts nothing (default: %(default)s)",
    )
    c.add_argument("--corpus-mount", default=compiler.CORPUS_MOUNT, help="default: %(default)s")
    c.add_argument("--data-root", help="corpus folder as ExampleGen's pod sees it (default: CORPUS_MOUNT/NAME)")
    c = compile_parser.add_argument_group("where the run lives, and the cluster")
    c.add_argument(
        "--pipeline-root", help=f"gs:// or s3:// URI (default: {compiler.KUBEFLOW_BUCKET}/tfx/NAME/pipeline_root)"
    )
    c.add_argument(
        "--serving-dir",
        help=f"where blessed models are pushed, gs:// or s3:// (default: {compiler.KUBEFLOW_BUCKET}/tfx/NAME/serving)",
    )
    s3 = compiler.S3Settings()
    c.add_argument("--s3-endpoint", default=s3.endpoint, help="for s3:// URIs (default: %(default)s)")
    c.add_argument("--s3-region", default=s3.region, help="default: %(default)s")
    c.add_argument(
        "--s3-secret",
        default=s3.secret,
        help=f"Kubernetes secret with the S3 keys under '{s3.access_key_field}' and "
        f"'{s3.secret_key_field}' (default: %(default)s)",
    )
    c.add_argument(
        "--image",
        type=image_reference,
        required=True,
        help="the container image every step runs, as your cluster pulls it: the image 'make image' "
        f"built ({compiler.image_tag()}) pushed to your registry, best pinned by its digest "
        "(REGISTRY/NAME@sha256:...), so a recurring run keeps running the image it was tested with",
    )
    c.add_argument("--output", type=Path, metavar="FILE", help="spec file (default: build/kubeflow/NAME.json)")
    default_gpu = compiler.KUBEFLOW_RESOURCES[ids.TRAINER]
    c.add_argument(
        "--trainer-gpu",
        type=_gpu,
        default=(default_gpu.accelerator_type, default_gpu.accelerator_count),
        help=f"accelerator for the Trainer, TYPE[:COUNT] or 'none' "
        f"(default: {default_gpu.accelerator_type}:{default_gpu.accelerator_count})",
    )
    run_request.add_flags(compile_parser)
    run_request.add_knob_flags(compile_parser, RetentionPolicy)
    quiet.add_flag(compile_parser)

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
    who = s.add_argument_group(
        "who you are to a multi-user Kubeflow (first found wins; never a token as a flag's value: ps shows those)",
        f"--token-file, ${credentials.TOKEN_ENV} (the token), ${credentials.SA_TOKEN_PATH_ENV} (a pod's token "
        "file), --cookie-file",
    )
    who.add_argument("--token-file", type=Path, metavar="FILE", help="a file holding a bearer token")
    who.add_argument(
        "--cookie-file",
        type=Path,
        metavar="FILE",
        help="a file holding your browser's session cookie for the dashboard",
    )
    who.add_argument("--ca-bundle", type=Path, metavar="FILE", help="CA certificates (PEM) of a private endpoint")

    v = sub.add_parser("vertex", help="submit the compiled spec to Vertex AI Pipelines, or schedule it there")
    v.add_argument("--spec", type=Path, required=True, help="file written by `compile` (gs:// roots)")
    v.add_argument("--project", required=True, help="Google Cloud project")
    v.add_argument("--region", required=True, help="e.g. us-central1")
    v.add_argument("--pipeline-root", help="gs:// URI (default: the spec's)")
    v.add_argument("--service-account", help="the runs' service account (default: the project's default)")
    v.add_argument("--cron", help="create a schedule with this 5-field cron instead of one run")
    v.add_argument("--dry-run", action="store_true", help="print the request, send nothing (needs no credentials)")
    return p.parse_args(argv)


def layout_from_flags(args: argparse.Namespace):
    """The corpus_layout.Layout that --classes-at-root, --eval-dir and --no-test-dir describe."""
    if args.classes_at_root:
        if args.eval_dir or args.no_test_dir:
            raise ValueError(
                "--classes-at-root: the class folders are the root's own, so there is no "
                "validation or test folder; drop --eval-dir and --no-test-dir"
            )
        return corpus_layout.Layout(corpus_layout.ROOT)
    test_dir = None if args.no_test_dir else corpus_layout.TEST_DIR
    return corpus_layout.Layout(corpus_layout.TRAIN_DIR, args.eval_dir, test_dir)


def run_compile(args: argparse.Namespace) -> Path:
    """Resolves the run request as run_local.py does, then compiles; raises ValueError naming a flag."""
    from kubeflow_runner.compiler import compile_pipeline

    dataset = configs.DATASETS[args.dataset] if args.dataset else None
    if dataset:
        name, num_classes = dataset.name, len(dataset.class_names)
    elif not args.num_classes or args.num_classes < 2:
        raise ValueError("--name needs --num-classes (the number of class folders, at least 2)")
    else:
        name, num_classes = args.name, args.num_classes
    output = args.output or Path("build/kubeflow") / f"{name}.json"
    output_files.check_writable(output, "--output", f"{name}.json")  # before the seconds compiling takes
    request = run_request.resolve(args, dataset)
    for line in run_request.notices(request):
        print(line, file=sys.stderr)
    trainer = compiler.KUBEFLOW_RESOURCES[ids.TRAINER]
    resources = {
        **compiler.KUBEFLOW_RESOURCES,
        ids.TRAINER: compiler.Resources(
            cpu=trainer.cpu,
            memory_gib=trainer.memory_gib,
            accelerator_type=args.trainer_gpu[0],
            accelerator_count=args.trainer_gpu[1],
        ),
    }
    pvc = None if args.corpus_pvc.lower() == "none" else args.corpus_pvc
    output = compile_pipeline(
        output=output,
        name=name,
        pipeline_root=args.pipeline_root or f"{compiler.KUBEFLOW_BUCKET}/tfx/{name}/pipeline_root",
        data_root=args.data_root or f"{args.corpus_mount.rstrip('/')}/{name}",
        serving_dir=args.serving_dir or f"{compiler.KUBEFLOW_BUCKET}/tfx/{name}/serving",
        image=args.image,
        num_classes=num_classes,
        request=request,
        layout=layout_from_flags(args),
        resources=resources,
        s3=compiler.S3Settings(endpoint=args.s3_endpoint, region=args.s3_region, secret=args.s3_secret),
        corpus_volume=(pvc, args.corpus_mount) if pvc else None,
        retention=run_request.given(args, RetentionPolicy),
    )
    print(f"wrote {output} (image {args.image})")
    return output


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet.setup(getattr(args, "verbose", False))
    if args.command == "compile":
        try:
            run_compile(args)
        except (ValueError, FileNotFoundError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    from kubeflow_runner.scheduling import SchedulingError, schedule
    from kubeflow_runner.vertex import submit_vertex

    if args.command == "vertex":
        try:
            submit_vertex(
                args.spec,
                project=args.project,
                region=args.region,
                pipeline_root=args.pipeline_root,
                service_account=args.service_account,
                cron=args.cron,
                dry_run=args.dry_run,
            )
        except SchedulingError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    try:
        credential = credentials.credential(args.token_file, args.cookie_file, args.ca_bundle)
        result = schedule(
            args.spec,
            host=args.host,
            cron=args.cron,
            experiment=args.experiment,
            namespace=args.namespace,
            pipeline_name=args.pipeline_name,
            version_name=args.version_name,
            max_concurrency=args.max_concurrency,
            enabled=not args.disable,
            run_now=args.run_now,
            dry_run=args.dry_run,
            credential=credential,
        )
    except (SchedulingError, credentials.CredentialError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.dry_run:
        print(json.dumps(result))
    return 0
