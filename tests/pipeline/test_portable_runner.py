"""The Beam components on Beam's portable runner: the path Flink, Spark and Dataflow take.

A job service on 127.0.0.1 (Beam's local_job_service_main) receives each Beam
component's job over gRPC, as a Flink or Spark job server would; LOOPBACK runs
its work back in this process. The run uses the shared tiny run's corpus and
settings, so its results can be compared with the in-memory runner's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import outputs_of, read_records, run_cli, vocabulary_files


@pytest.fixture(scope="module")
def job_service(tmp_path_factory):
    base = tmp_path_factory.mktemp("job_service")
    port_file, log = base / "port", base / "job_service.log"
    with open(log, "w") as out:
        service = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "apache_beam.runners.portability.local_job_service_main",
                "--port",
                "0",
                "--port_file",
                str(port_file),
            ],
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 120
        while not (port_file.exists() and port_file.read_text().strip()):
            assert service.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the job service did not start in 120 s"
            time.sleep(0.2)
        yield f"localhost:{port_file.read_text().strip()}", log
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_pipeline_runs_unchanged_on_the_portable_runner(tiny_run, job_service, tmp_path):
    endpoint, log = job_service
    args = list(tiny_run.args)
    args[args.index("--work-dir") + 1] = str(tmp_path / "runs")
    portable = [
        f"--beam-arg={a}"
        for a in ("--runner=PortableRunner", f"--job_endpoint={endpoint}", "--environment_type=LOOPBACK")
    ]
    code, summary = run_cli(tmp_path, [*args, *portable])
    assert code == 0, summary["failure"]
    assert {row["state"] for row in summary["components"]} == {"ran"}
    assert summary["push"]["pushed"] is True

    # Every Beam component sent its work to the job service, and each job finished.
    jobs = log.read_text().count("with state DONE")
    assert jobs >= 4, log.read_text()  # ExampleGen, StatisticsGen, Transform, Evaluator
    assert "FAILED" not in log.read_text()

    # The same examples, vocabulary and model as on the in-memory runner.
    here = outputs_of(tmp_path / "runs" / "corpus" / "metadata.sqlite", summary["run_id"])
    there = outputs_of(tiny_run.metadata, tiny_run.summary["run_id"])
    for split in ("train", "eval", "test"):
        pattern = f"Split-{split}/*"
        assert read_records(str(Path(here["DirectoryExampleGen"]["Examples"]) / pattern)) == read_records(
            str(Path(there["DirectoryExampleGen"]["Examples"]) / pattern)
        )
    assert vocabulary_files(here["Transform"]["TransformGraph"]) == vocabulary_files(
        there["Transform"]["TransformGraph"]
    )
    for name, value in tiny_run.summary["evaluation"]["overall"].items():
        assert summary["evaluation"]["overall"][name] == pytest.approx(value, abs=1e-6), name
