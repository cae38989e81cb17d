"""Fixtures of the whole-pipeline tests (the shared tiny run is tests/conftest.py's)."""

from __future__ import annotations

import pytest

from tests.stand_ins.s3_server import s3_server


@pytest.fixture(scope="module")
def s3():
    """An S3-compatible server on 127.0.0.1 (moto's) with the bucket the Kubeflow executions write to."""
    with s3_server() as server:
        yield server
