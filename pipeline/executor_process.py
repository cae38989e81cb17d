"""What a process installs before it runs TFX executors: the local runner (pipeline/cli.py), the labelling run
(tools/infer.py) and a Kubeflow task's entry point (kubeflow_runner/container_entrypoint.py)."""

from __future__ import annotations

from pipeline import beam_signatures, beam_workers


def install() -> None:
    """No package built for Beam's local workers (beam_workers) and Beam's method parameters read once per method
    (beam_signatures). Idempotent."""
    beam_workers.install()
    beam_signatures.install()
