#!/usr/bin/env python
"""Compile the pipeline for Kubeflow Pipelines (KFP v2 spec), and schedule it.

python run_kubeflow.py compile --dataset imdb --image REGISTRY/tfx-text-classifier@sha256:... \
        --output build/kubeflow/imdb.json
python run_kubeflow.py schedule --spec build/kubeflow/imdb.json --host http://localhost:8080 --cron "0 0 3 * * *"
"""

from __future__ import annotations

from kubeflow_runner import command_line
from pipeline import quiet

if __name__ == "__main__":
    quiet.exit_with(command_line.main)
