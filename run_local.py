#!/usr/bin/env python
"""Run the text-classification pipeline on this machine (TFX LocalDagRunner, SQLite ML Metadata).

python run_local.py --dataset imdb                 # a known corpus (DATA_MIRROR=dir for offline)
python run_local.py --data-dir PATH                # any ROOT/train/<class>/<file> corpus
"""

from __future__ import annotations

import sys

from pipeline import cli

if __name__ == "__main__":
    sys.exit(cli.main())
