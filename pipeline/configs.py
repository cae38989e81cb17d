"""The single home of the pipeline's settings.

Every runner (local, Kubeflow), every component module and every test reads
its numbers from here; nothing else hard-codes a split ratio, a vocabulary
size or a threshold. Settings that a user changes per run are fields of the
dataclasses below and have a flag in `run_local.py`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Optional, Tuple

# TransformConfig and TrainConfig live below the code that reads them (models/recipe.py), so that the
# Trainer's code fingerprint does not cover this file; they are re-exported here with every other setting.
from models.recipe import TrainConfig, TransformConfig  # noqa: F401
from pipeline import component_ids as ids

# The project's own root: schemas and component modules are found relative
# to it, never through a path of a particular machine.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = PROJECT_ROOT / "schemas"

PIPELINE_NAME = "text-classifier"

# Where generated state lives unless a flag says otherwise. Relative to the
# working directory, so a clone is self-contained; all of it is git-ignored.
DEFAULT_WORK_DIR = Path(os.environ.get("TC_WORK_DIR", "runs"))

# Downloaded and extracted corpora are cached here (override: TC_DATA_CACHE).
DEFAULT_DATA_CACHE = Path(
    os.environ.get("TC_DATA_CACHE", Path.home() / ".cache" / "text-classifier" / "datasets")
)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A known corpus: where its archive comes from and how to read it."""

    name: str
    archive: str  # canonical file name, also the name looked up in a mirror
    url: str  # canonical download URL
    # sha256 the archive at `url` is published with, or None where upstream
    # publishes none: such a download is trusted on first use (its sha256 is
    # recorded in the data cache, and a later download must match it). A
    # mirror's own SHA256SUMS takes precedence for archives fetched from that
    # mirror (a mirror may repack). Never pin a mirror's repack here: a user
    # downloading from `url` would then fail the check.
    sha256: Optional[str]
    root_in_archive: str  # folder inside the archive that holds train/ and test/
    exclude_dirs: Tuple[str, ...] = ()  # folders of train/ that are not classes
    schema: str = "generic"  # folder under schemas/
    class_names: Tuple[str, ...] = ()  # as DirectoryExampleGen will find them (compile-time use)
    min_accuracy: float = 0.5  # blessing: lowest test accuracy a model may have


DATASETS = {
    "imdb": DatasetSpec(
        name="imdb",
        archive="aclImdb_v1.tar.gz",
        url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
        sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
        root_in_archive="aclImdb",
        exclude_dirs=("unsup",),
        schema="imdb",
        class_names=("neg", "pos"),
        min_accuracy=0.85,
    ),
    "stackoverflow": DatasetSpec(
        name="stackoverflow",
        archive="stack_overflow_16k.tar.gz",
        url="https://storage.googleapis.com/download.tensorflow.org/data/stack_overflow_16k.tar.gz",
        # No pinned checksum: the TensorFlow bucket publishes none, and the only
        # sha256 we know is of a mirror's repack, which the file at `url` does
        # not match. A download from `url` is trusted on first use instead.
        sha256=None,
        root_in_archive="",
        schema="stackoverflow",
        class_names=("csharp", "java", "javascript", "python"),
        min_accuracy=0.70,
    ),
}


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    """How DirectoryExampleGen turns a corpus of class folders into examples (layouts: components/corpus.py)."""

    # The validation folder beside train/, when its name is not one that is
    # found without asking (val, valid, validation, dev).
    eval_dir: Optional[str] = None
    # Percent of the training folder held out as the `eval` split when the
    # corpus has no validation folder (hash split on the file's path relative
    # to the split folder: stable across runs, machines and listing order).
    eval_percent: int = 20
    # Percent of the training folder held out as `test` when the corpus has no
    # test folder.
    test_percent: int = 20
    exclude_dirs: Tuple[str, ...] = ()
    # Files larger than this are skipped and reported (a 50 MB "review" is a
    # mistake, not a document).
    max_file_bytes: int = 1 << 20
    # Files are handed to Beam in batches to keep per-element overhead low.
    read_batch_size: int = 500

    def validate(self) -> None:
        for name in ("eval_percent", "test_percent"):
            value = getattr(self, name)
            if not 0 < value < 100:
                raise ValueError(f"IngestConfig.{name} must be between 1 and 99, got {value}")
        if self.eval_percent + self.test_percent >= 100:
            raise ValueError(
                "IngestConfig.eval_percent + test_percent must leave room for training, "
                f"got {self.eval_percent} + {self.test_percent}"
            )
        if self.max_file_bytes <= 0:
            raise ValueError(f"IngestConfig.max_file_bytes must be positive, got {self.max_file_bytes}")
        if self.eval_dir is not None and (not self.eval_dir or "/" in self.eval_dir or self.eval_dir in (".", "..")):
            raise ValueError(f"--eval-dir (IngestConfig.eval_dir) is the name of a folder beside train/, "
                             f"got {self.eval_dir!r}")


# Named recipes: `run_local.py --recipe NAME` sets these knobs (a flag still wins).
# "tutorial" is the TensorFlow text-classification tutorial's recipe, exactly:
# the benchmark's peer (bench/peer_keras.py) trains the same.
RECIPES = {
    "tutorial": {"ngrams": 1, "ngram_buckets": 0, "vocab_size": 10000, "max_len": 250, "embedding_dim": 16,
                 "epochs": 10, "early_stopping_patience": 0, "batch_size": 32, "learning_rate": 1e-3,
                 "mask_padding": False},
    # The dataclass defaults: the most accurate recipe measured whose cold IMDB run
    # stays within 4x the plain Keras tutorial's wall time (bench/NOTES.md).
    "default": {},
    # More accurate, slower: bigrams through a 200,000-token vocabulary (IMDB 0.9021,
    # Stack Overflow 0.8085, at 5.9x the peer's wall time on IMDB).
    "accurate": {"ngrams": 2, "ngram_buckets": 0, "vocab_size": 200000, "max_len": 800, "embedding_dim": 32,
                 "batch_size": 64, "learning_rate": 2e-3, "mask_padding": True},
}


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    min_accuracy: float = 0.5  # absolute lower bound on test accuracy
    max_accuracy_drop: float = 0.01  # largest drop allowed against the served model

    def validate(self) -> None:
        """An accuracy is in [0, 1]: a bound outside it passes or fails every model, so it is a typo."""
        for field, flag in (("min_accuracy", "--min-accuracy"), ("max_accuracy_drop", "--max-accuracy-drop")):
            value = getattr(self, field)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{flag} (EvaluationConfig.{field}) must be between 0 and 1, got {value}")


@dataclasses.dataclass(frozen=True)
class Resources:
    """What one component's container asks Kubeflow for (0 / "" = the cluster's default)."""

    cpu: float = 0
    memory_gib: float = 0
    accelerator_type: str = ""  # e.g. NVIDIA_TESLA_T4, NVIDIA_L4, NVIDIA_TESLA_A100
    accelerator_count: int = 0


# --- Kubeflow Pipelines -------------------------------------------------------
PROJECT_VERSION = "0.1.0"  # also in pyproject.toml; the image tag
KUBEFLOW_IMAGE_NAME = "tfx-text-classifier"  # prefix with your registry: --image REGISTRY/NAME:TAG
# Where the Dockerfile copies the project inside the image (its WORKDIR and
# PYTHONPATH): steps import components/ from there and read schemas/ relative to it.
CONTAINER_PROJECT_ROOT = "/pipeline"
# Defaults fit a default Kubeflow Pipelines install: artifacts and served models in
# its MinIO bucket (pipeline root BUCKET/tfx/NAME/pipeline_root, serving BUCKET/tfx/NAME/serving).
KUBEFLOW_BUCKET = "s3://mlpipeline"
# The corpora reach ExampleGen's pod on a PersistentVolumeClaim (run_kubeflow.py --corpus-pvc).
CORPUS_PVC = "text-classifier-corpora"
CORPUS_MOUNT = "/corpus"
# Every step's command: TFX's KFP v2 entrypoint, wrapped for s3:// (pipeline/container_entrypoint.py).
CONTAINER_COMMAND = ("python", "-m", "pipeline.container_entrypoint")


@dataclasses.dataclass(frozen=True)
class S3Settings:
    """How Kubeflow steps reach an s3:// pipeline root or serving destination.

    Defaults fit the MinIO a default Kubeflow Pipelines install ships: its
    service, and the secret holding its keys (copied into each profile
    namespace on multi-user installs). The endpoint and region become plain
    environment variables of every step; the keys come from the secret.
    """

    endpoint: str = "http://minio-service.kubeflow:9000"
    region: str = "us-east-1"
    secret: str = "mlpipeline-minio-artifact"
    access_key_field: str = "accesskey"  # keys inside the secret
    secret_key_field: str = "secretkey"

    def env(self) -> dict:
        """Plain variables: tensorflow-io's S3 plugin reads S3_*, boto3 (Beam's S3) AWS_*."""
        https = self.endpoint.startswith("https://")
        return {"S3_ENDPOINT": self.endpoint, "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": self.region,
                "S3_USE_HTTPS": "1" if https else "0", "S3_VERIFY_SSL": "1" if https else "0"}

    def secret_env(self) -> dict:
        """Environment variable -> key in the secret."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_field, "AWS_SECRET_ACCESS_KEY": self.secret_key_field}
KUBEFLOW_RESOURCES = {
    ids.TRANSFORM: Resources(cpu=2, memory_gib=8),
    ids.TRAINER: Resources(cpu=4, memory_gib=16, accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1),
    ids.EVALUATOR: Resources(cpu=2, memory_gib=8),
}


def image_tag(variant: str = "gpu") -> str:
    """The tag `make image VARIANT=...` builds: gpu (the default: the Trainer asks for a GPU) or cpu."""
    return f"{KUBEFLOW_IMAGE_NAME}:{PROJECT_VERSION}-{variant}"


# Beam: the in-process runner suits these 2-core machines; a real runner's
# args (Flink, Spark, Dataflow) are passed through unchanged by the runners.
DEFAULT_BEAM_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


def code_fingerprint(*module_files: str) -> str:
    """sha256 over the source of the given project files (paths relative to the project root).

    Transform and Trainer load our code by Python path, not as module files,
    so TFX's cache key would not see a code change. This fingerprint goes into
    their custom_config: change a line, and the component runs again (and the
    Kubeflow spec changes).
    """
    digest = hashlib.sha256()
    for rel in sorted(module_files):
        digest.update(rel.encode() + b"\0" + (PROJECT_ROOT / rel).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def schema_path(schema_name: str) -> Path:
    path = SCHEMAS_DIR / schema_name / "schema.pbtxt"
    if not path.is_file():
        known = sorted(p.name for p in SCHEMAS_DIR.iterdir() if (p / "schema.pbtxt").is_file())
        raise FileNotFoundError(f"no curated schema '{schema_name}' at {path}; known: {', '.join(known)}")
    return path
