#!/usr/bin/env python
"""Run the text-classification pipeline on this machine (TFX LocalDagRunner, SQLite ML Metadata).

python run_local.py --dataset imdb                 # a known corpus (DATA_MIRROR=dir for offline)
python run_local.py --data-dir PATH                # any ROOT/train/<class>/<file> corpus
"""

from __future__ import annotations

from pipeline import cli, quiet

if __name__ == "__main__":
    quiet.exit_with(cli.main)
