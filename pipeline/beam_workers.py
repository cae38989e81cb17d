"""Where Beam's workers find the code they run, so that no run builds a package its workers never install.

TFX's Beam executors call `tfx.utils.dependency_utils.make_beam_dependency_flags`
on their Beam args: unless those name the workers' code (`--extra_package`,
`--setup_file`, `--requirements_file`, `--sdk_container_image`,
`--worker_harness_container_image`), it copies the installed `tfx` package
(49 MB) into a fresh `tempfile.mkdtemp()` folder, runs `setup.py sdist` there
(about 2 s) and never removes it: about 200 MB per cold run, four Beam
components or more, for a package that a local runner never installs (issue 30).

- Local runners (Beam's direct runner, in memory or multi-process, and any
  runner whose workers come back to this process: `--environment_type=LOOPBACK`)
  import from this Python environment: `install()` makes TFX leave their args
  as they are. With no Beam args at all TFX builds nothing anyway.
- Remote runners (Dataflow, Flink or Spark with Docker workers) need TFX and
  this project's own executors (`components/`, `models/`), which TFX's sdist
  does not hold: `check()` refuses them up front unless the args name the code
  the way Beam documents it (a custom container, `--sdk_container_image`: the
  image `make image` builds holds both; or a package of the project).
"""

from __future__ import annotations

from collections.abc import Sequence

# The flags TFX's make_beam_dependency_flags accepts as "the workers' code is named" (tfx 1.16).
WORKER_CODE_FLAGS = (
    "extra_packages",
    "setup_file",
    "requirements_file",
    "worker_harness_container_image",
    "sdk_container_image",
)
DIRECT_RUNNERS = {"directrunner", "switchingdirectrunner", "bundlebaseddirectrunner", "fnapirunner"}


def _options(beam_args: Sequence[str]) -> dict:
    from apache_beam.options.pipeline_options import PipelineOptions

    return PipelineOptions(flags=list(beam_args)).get_all_options()


def runs_locally(beam_args: Sequence[str]) -> bool:
    """True when Beam's workers run in this process or its children, on this machine's Python environment."""
    options = _options(beam_args)
    runner = options.get("runner")
    if runner is None or str(runner).rsplit(".", 1)[-1].lower() in DIRECT_RUNNERS:
        return True
    return str(options.get("environment_type") or "").upper() == "LOOPBACK"


def names_worker_code(beam_args: Sequence[str]) -> bool:
    """One of TFX's flags, or a Docker environment's image given the older way (`--environment_config`)."""
    options = _options(beam_args)
    docker_image = str(options.get("environment_type") or "").upper() == "DOCKER" and options.get("environment_config")
    return bool(docker_image) or any(options.get(flag) for flag in WORKER_CODE_FLAGS)


def check(beam_args: Sequence[str]) -> None:
    """Raises ValueError, naming the runner and what to pass, when remote workers would lack the project's code."""
    if not beam_args or runs_locally(beam_args) or names_worker_code(beam_args):
        return
    runner = _options(beam_args).get("runner")
    raise ValueError(
        f"--beam-arg=--runner={runner} runs Beam's workers outside this Python environment, and they need TFX "
        "and this project's executors: pass --beam-arg=--sdk_container_image=IMAGE (the image `make image` "
        "builds holds both) or --beam-arg=--extra_package=FILE (a package of this project)"
    )


def leave_local_args_alone(original):
    """TFX's make_beam_dependency_flags, minus the package build for runners that never install it."""

    def make_beam_dependency_flags(beam_pipeline_args: list[str]) -> list[str]:
        if runs_locally(beam_pipeline_args) or names_worker_code(beam_pipeline_args):
            return list(beam_pipeline_args)
        return original(beam_pipeline_args)

    make_beam_dependency_flags.wrapped = original
    return make_beam_dependency_flags


def install() -> None:
    """Called by each process that runs TFX executors (the local runner, the Kubeflow task's entry point).

    TFX offers no setting for this, so its function is replaced in its module,
    where BaseBeamExecutor looks it up on each call. Idempotent.
    """
    from tfx.utils import dependency_utils

    if not hasattr(dependency_utils.make_beam_dependency_flags, "wrapped"):
        dependency_utils.make_beam_dependency_flags = leave_local_args_alone(
            dependency_utils.make_beam_dependency_flags
        )
