"""Refusals and pipes, each command in its own process as a user's shell runs it: one `error:` line naming
the flag or file and what to do, no traceback, nothing started first; a reader that stops reading (`| head
-1`) ends the command quietly. None needs a trained model."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO, run_as_a_user, write_doc


def _one_error_line(result) -> str:
    lines = result.stdout.strip().splitlines()
    assert "Traceback" not in result.stdout, result.stdout
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stdout
    return errors[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["run_local.py", "--help"],
        ["run_kubeflow.py", "compile", "--help"],
        ["-m", "tools.inspect", "runs", "--help"],
        ["-m", "tools.predict", "--help"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_a_reader_that_stops_reading_ends_the_command_quietly(argv):
    # The read end is closed before the command starts: its first write to stdout meets a broken pipe, as
    # `| head -1` makes it once head has its line.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, *argv], cwd=REPO, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300
        )
    finally:
        os.close(write_end)
    assert done.stderr == "", done.stderr  # no BrokenPipeError traceback, no "Exception ignored" line
    assert done.returncode == 1


def test_a_command_ends_with_its_objects_frozen_out_of_the_last_collections_and_its_status_kept():
    # quiet.exit_with freezes the objects made so far (the interpreter's last garbage collections walked all of
    # TensorFlow's, TFX's and Beam's); the atexit handlers still run, and the command's status is its own.
    code = (
        "import atexit, gc\n"
        "from pipeline import quiet\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "quiet.exit_with(lambda: 3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.stderr, done.returncode) == ("frozen True\n", "", 3)


@pytest.mark.parametrize("case", ["an existing folder", "a path under a file"])
def test_kubeflow_compile_refuses_an_output_it_cannot_write_before_compiling(tmp_path, case):
    write_doc(tmp_path / "file.txt", "x")
    output = {"an existing folder": tmp_path, "a path under a file": tmp_path / "file.txt" / "a.json"}[case]
    image = "registry.example/tfx-text-classifier@sha256:" + "0" * 64
    result = run_as_a_user(
        "run_kubeflow.py", "compile", "--dataset", "imdb", "--image", image, "--output", output, timeout=300
    )
    line = _one_error_line(result)
    assert result.returncode == 2 and line.startswith(f"error: --output {output}: ")
    assert ("a folder; pass a file name" if case == "an existing folder" else "is a file, not a folder") in line


def test_inspect_refuses_a_metadata_file_that_is_not_a_store(tmp_path):
    not_a_store = write_doc(tmp_path / "notes.txt", "not a database\n" * 100)
    result = run_as_a_user("-m", "tools.inspect", "slices", "--metadata", not_a_store, timeout=300)
    line = _one_error_line(result)
    assert result.returncode == 2
    assert line == (
        f"error: {not_a_store}: not an ML Metadata store (not a SQLite database); pass a run's metadata.sqlite"
    )


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--max-file-bytes", "0"], "error: --max-file-bytes (IngestConfig.max_file_bytes) must be at least 1, got 0"),
        (
            ["--output", "{tmp}/file.txt/labels"],
            "error: --output {tmp}/file.txt/labels.jsonl: {tmp}/file.txt is a file",
        ),
        (["--data-dir", "{tmp}/file.txt"], "error: --data-dir {tmp}/file.txt: a file, not a folder"),
    ],
    ids=["max-file-bytes 0", "output under a file", "data-dir a file"],
)
def test_infer_refuses_bad_flags_before_any_work(tmp_path, flags, expected):
    write_doc(tmp_path / "file.txt", "x")
    write_doc(tmp_path / "to_label" / "a.txt", "a review")
    work_dir = tmp_path / "runs"  # no run there: each refusal comes before the run is looked for
    argv = ["--work-dir", work_dir, "--name", "imdb", "--data-dir", tmp_path / "to_label"]
    argv += [flag.format(tmp=tmp_path) for flag in flags]
    result = run_as_a_user("-m", "tools.infer", *argv, timeout=300)
    line = _one_error_line(result)
    assert result.returncode == 2 and line.startswith(expected.format(tmp=tmp_path)), line
    assert not work_dir.exists()
