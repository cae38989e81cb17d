#!/usr/bin/env python
"""Run the text-classification pipeline on this machine (TFX LocalDagRunner, SQLite ML Metadata).

    python run_local.py --dataset imdb                 # a known corpus (DATA_MIRROR=dir for offline)
    python run_local.py --data-dir PATH                # any ROOT/train/<class>/<file> corpus
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import sys  # noqa: E402

from pipeline import cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(cli.main())
