"""Each command's refusals: one `error:` line naming the flag or file, a non-zero exit, no traceback, and no
work done first. None of these needs a trained model or a pipeline run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import inspect as tc_inspect
from tools import predict


def _one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in out + err
    return lines[0]


def _serving_with_newest_version_empty(tmp_path: Path) -> Path:
    serving = tmp_path / "serving"
    (serving / "1700000000").mkdir(parents=True)
    (serving / "1700000000" / "saved_model.pb").write_bytes(b"")
    (serving / "1800000000").mkdir()  # newest, and empty
    return serving


@pytest.mark.parametrize("case", ["missing file", "folder", "empty file"])
def test_predict_file_that_cannot_be_read_is_one_error_line(tmp_path, capsys, case):
    target = {"missing file": tmp_path / "nope.txt", "folder": tmp_path, "empty file": tmp_path / "empty.txt"}[case]
    if case == "empty file":
        target.write_text("")
    code = predict.main(["--model", str(tmp_path), "--file", str(target)])
    line = _one_error_line(capsys)
    assert code == 2 and line.startswith(f"error: --file {target}: ")
    words = {
        "missing file": "No such file or directory",
        "folder": "a folder; pass a text file",
        "empty file": "empty or whitespace-only",
    }[case]
    assert words in line


def test_predict_file_is_decoded_as_ingestion_decodes_with_a_note(tmp_path, capsys):
    latin1 = tmp_path / "reviews.txt"
    latin1.write_bytes("Un film génial\n\nTrès émouvant\n".encode("latin-1"))
    assert predict.read_texts(latin1) == [(1, "Un film génial"), (3, "Très émouvant")]  # numbered, blank skipped
    assert f"note: --file {latin1} is not UTF-8; decoded as cp1252" in capsys.readouterr().err


def test_predict_on_a_serving_folder_whose_newest_version_is_empty(tmp_path, capsys):
    serving = _serving_with_newest_version_empty(tmp_path)
    assert predict.main(["--model", str(serving), "some text"]) == 2
    line = _one_error_line(capsys)
    assert f"its newest version {serving / '1800000000'} holds no saved_model.pb" in line


def test_predict_on_a_folder_that_is_no_model(tmp_path, capsys):
    assert predict.main(["--model", str(tmp_path), "some text"]) == 2
    assert "neither a SavedModel nor a serving folder" in _one_error_line(capsys)


def test_predict_top_below_one_is_refused_naming_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        predict.main(["--model", str(tmp_path), "--explain", "--top", "-2", "text"])
    assert stop.value.code == 2
    assert "argument --top: must be at least 1, got -2" in capsys.readouterr().err


def test_inspect_report_into_a_folder_is_refused_before_any_work(tmp_path, capsys):
    code = tc_inspect.main(["report", "--metadata", str(tmp_path / "none.sqlite"), "--html", str(tmp_path)])
    assert code == 2
    assert f"--html {tmp_path}: a folder; pass a file name" in _one_error_line(capsys)


def test_inspect_without_a_store_is_one_error_line(tmp_path, capsys):
    code = tc_inspect.main(["runs", "--work-dir", str(tmp_path), "--name", "nosuch"])
    assert code == 2 and f"no ML Metadata store at {tmp_path / 'nosuch' / 'metadata.sqlite'}" in _one_error_line(capsys)


def test_lineage_of_a_serving_folder_whose_newest_version_is_empty(tmp_path, capsys):
    serving = _serving_with_newest_version_empty(tmp_path)
    assert tc_inspect.main(["lineage", "--model", str(serving)]) == 2
    assert "holds no saved_model.pb" in _one_error_line(capsys)


def test_predict_on_a_run_folder_points_to_its_serving_folder(tmp_path, capsys):
    (tmp_path / "imdb" / "serving").mkdir(parents=True)
    assert predict.main(["--model", str(tmp_path / "imdb"), "some text"]) == 2
    line = _one_error_line(capsys)
    assert line.endswith(f"pass --model {tmp_path / 'imdb' / 'serving'} (the run's serving folder)")
