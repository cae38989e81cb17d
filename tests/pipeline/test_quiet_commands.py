"""Every command the README shows, run as a user runs it (its own process, no -v, no TF_CPP_MIN_LOG_LEVEL in
the environment), prints its own lines only: no library warning, log record or TensorFlow C++ line (NOISE).
One switch does it for all of them (pipeline/quiet.py); -v shows the libraries again."""

from __future__ import annotations

from tests.helpers import NOISE, run_as_a_user, write_doc


def _noise(output: str):
    return [line for line in output.splitlines() if any(p.search(line) for p in NOISE)]


def test_each_command_prints_its_own_lines_only(tiny_run, tmp_path):
    folder = tmp_path / "to_label"
    write_doc(folder / "a.txt", "A wonderful, excellent film.")
    metadata = str(tiny_run.metadata)
    commands = {
        "predict": (["-m", "tools.predict", "--model", str(tiny_run.serving), "a wonderful film"], "pos\t"),
        "infer": (
            [
                "-m",
                "tools.infer",
                "--work-dir",
                str(tiny_run.base / "runs"),
                "--name",
                "corpus",
                "--data-dir",
                str(folder),
                "--output",
                str(tmp_path / "labels"),
            ],
            "labelled 1 of 1 files",
        ),
        "inspect slices": (["-m", "tools.inspect", "slices", "--metadata", metadata], "blessed: yes"),
        "inspect report": (
            ["-m", "tools.inspect", "report", "--metadata", metadata, "--html", str(tmp_path / "report.html")],
            "wrote ",
        ),
        "run_kubeflow.py compile": (
            [
                "run_kubeflow.py",
                "compile",
                "--dataset",
                "imdb",
                "--image",
                "tc:1",
                "--output",
                str(tmp_path / "kfp.json"),
            ],
            "wrote ",
        ),
    }
    for name, (argv, expected) in commands.items():
        done = run_as_a_user(*argv)
        assert done.returncode == 0, f"{name}: {done.stdout[-3000:]}"
        assert expected in done.stdout, f"{name}: {done.stdout[-2000:]}"
        assert _noise(done.stdout) == [], f"{name}:\n" + "\n".join(_noise(done.stdout)[:20])


def test_an_error_is_the_only_line_and_verbose_shows_the_libraries(tiny_run, tmp_path):
    done = run_as_a_user("-m", "tools.inspect", "runs", "--work-dir", str(tmp_path), "--name", "nosuch")
    assert done.returncode == 2
    assert done.stdout.strip().splitlines() == [
        f"error: no ML Metadata store at {tmp_path / 'nosuch' / 'metadata.sqlite'}; pass --metadata FILE or "
        "--work-dir/--name of a run_local.py run"
    ]
    verbose = run_as_a_user("-m", "tools.predict", "--model", str(tiny_run.serving), "-v", "a wonderful film")
    assert verbose.returncode == 0 and _noise(verbose.stdout), verbose.stdout[-2000:]
