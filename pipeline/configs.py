"""The runners' settings: where runs and corpora live, and the known datasets (with their gates).

What the model is and how it is trained (TransformConfig, TrainConfig, the
recipes) lives in models/recipe.py, ingestion's settings (IngestConfig) in
components/example_gen/settings.py, the drift limit (DriftConfig) in
models/corpus_profile.py and the blessing's bounds (EvaluationConfig) in
models/evaluation_settings.py and the retention policy (RetentionPolicy) in
components/retention_policy.py, each beside the code that reads it: an executor
gets its stage's settings under their own names. Kubeflow's own
settings (image, bucket, volume, resources) are in kubeflow_runner/compiler.py. A
field made with `knob` is a per-run setting with a flag in both runners,
derived from the field (pipeline/run_request.py).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from components import project_root

# The project's own root: schemas and component modules are found relative
# to it, never through a path of a particular machine.
PROJECT_ROOT = project_root.PROJECT_ROOT
SCHEMAS_DIR = PROJECT_ROOT / "schemas"

PIPELINE_NAME = "text-classifier"

# Where generated state lives unless a flag says otherwise. Relative to the
# working directory, so a clone is self-contained; all of it is git-ignored.
DEFAULT_WORK_DIR = Path(os.environ.get("TC_WORK_DIR", "runs"))


@dataclasses.dataclass(frozen=True)
class RunPaths:
    """Where `run_local.py --name NAME` keeps a run: WORK_DIR/NAME/{pipeline_root, metadata.sqlite, serving}.

    The one spelling of the run folder's parts: the local runner writes them, `infer` and `inspect` find them.
    """

    work_dir: Path
    name: str

    @property
    def run_dir(self) -> Path:
        return Path(self.work_dir) / self.name

    @property
    def pipeline_root(self) -> Path:
        return self.run_dir / "pipeline_root"

    @property
    def metadata(self) -> Path:
        return self.run_dir / "metadata.sqlite"

    @property
    def serving(self) -> Path:
        return self.run_dir / "serving"

    @property
    def predictions(self) -> Path:
        return self.run_dir / "predictions"

    @classmethod
    def of_serving_dir(cls, serving: Path) -> RunPaths:
        """The run whose serving folder this is (a version's folder's parent)."""
        return cls(serving.parent.parent, serving.parent.name)


# Downloaded and extracted corpora are cached here (override: TC_DATA_CACHE).
DEFAULT_DATA_CACHE = Path(os.environ.get("TC_DATA_CACHE", Path.home() / ".cache" / "text-classifier" / "datasets"))


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
    sha256: str | None
    root_in_archive: str  # folder inside the archive that holds train/ and test/
    exclude_dirs: tuple[str, ...] = ()  # folders of train/ that are not classes
    schema: str = "generic"  # folder under schemas/
    class_names: tuple[str, ...] = ()  # as DirectoryExampleGen will find them (compile-time use)
    # Settings' values this corpus needs (a preset, as a recipe is: the field's default < these < its flag).
    knob_values: dict = dataclasses.field(default_factory=dict)


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
        knob_values={"min_accuracy": 0.85},
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
        knob_values={"min_accuracy": 0.70},
    ),
}


PROJECT_VERSION = "0.1.0"  # also in pyproject.toml; the image's tag

# Beam: none, so Beam's defaults: the in-process runner, one worker, which suits these 2-core machines. Any
# arg at all made TFX build a 49 MB package of itself per Beam component (pipeline/beam_workers.py); a real
# runner's args (Flink, Spark, Dataflow) are passed through unchanged by the runners.
DEFAULT_BEAM_ARGS: tuple[str, ...] = ()


def schema_path(schema_name: str) -> Path:
    path = SCHEMAS_DIR / schema_name / "schema.pbtxt"
    if not path.is_file():
        known = sorted(p.name for p in SCHEMAS_DIR.iterdir() if (p / "schema.pbtxt").is_file())
        raise FileNotFoundError(f"no curated schema '{schema_name}' at {path}; known: {', '.join(known)}")
    return path
