"""A default run prints the project's own lines, training progress and the summary: no library notices."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.helpers import REPO, make_corpus

pytestmark = pytest.mark.pipeline

# What a library notice looks like: a Python warning, a log record of TFX/absl/Beam/TF/TFMA/ML Metadata,
# a TensorFlow C++ log line.
NOISE = [
    re.compile(r"Warning\b|warnings\.warn"),
    re.compile(r"^(DEBUG|INFO|WARNING) (?!root:)"),  # a library's logger; our own code logs through root
    re.compile(r"\b(absl|apache_beam|tensorflow_model_analysis|ml_metadata|tfx)\b.*:\d+\]|ArtifactQuery"),
    re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "),
    re.compile(r"Instructions for updating"),
]


def test_a_default_run_prints_no_library_notice_and_ends_with_its_summary(tmp_path):
    root = make_corpus(tmp_path / "corpus", n_train=30, n_test=15)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
    done = subprocess.run(
        [sys.executable, str(REPO / "run_local.py"), "--data-dir", str(root), "--work-dir", str(tmp_path / "runs"),
         "--epochs", "3", "--min-accuracy", "0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout[-3000:]
    noisy = [line for line in lines if any(p.search(line) for p in NOISE)]
    assert noisy == [], "\n".join(noisy[:20])
    assert lines[0].startswith(f"corpus {root}: classes ['neg', 'pos']; layout: ")
    assert lines[-1].startswith("pushed: ") and any(line.startswith("blessed: ") for line in lines[-3:])
    # With -v, the same run's notices are all there (the filter hides them; it does not stop them).
    verbose = subprocess.run(
        [sys.executable, str(REPO / "run_local.py"), "--data-dir", str(root), "--work-dir", str(tmp_path / "runs"),
         "--epochs", "3", "--min-accuracy", "0", "-v"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200)
    assert verbose.returncode == 0 and re.search(r"^INFO absl", verbose.stdout, re.M)
