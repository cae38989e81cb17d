"""Command lines refuse what does not apply instead of ignoring it (no pipeline run needed)."""

from __future__ import annotations

import pytest

from tools import inspect as tc_inspect


@pytest.mark.parametrize(
    "argv, words",
    [
        (["slices", "--html", "report.html"], "unrecognized arguments: --html report.html"),
        (["runs", "--slice-by", "label"], "unrecognized arguments: --slice-by label"),
        (["lineage", "--run", "r1", "--model", "runs/imdb/serving/1"], "unrecognized arguments: --run r1"),
        (["report", "--name", "imdb"], "the following arguments are required: --html"),
        (["lineage"], "the following arguments are required: --model"),
    ],
)
def test_inspect_refuses_a_flag_its_sub_command_does_not_take(argv, words, capsys):
    with pytest.raises(SystemExit) as stop:
        tc_inspect.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert words in err and f"python -m tools.inspect {argv[0]}" in err


def test_progress_lines_go_to_a_terminal_only():
    """A long command's steps (inspect report's) are shown in place on a terminal; a pipe or file gets nothing."""
    import io

    from pipeline import quiet

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        show = quiet.terminal_progress(stream)
        show("report: reading the evaluation")
        show("")
    assert terminal.getvalue() == "\rreport: reading the evaluation\x1b[K\r\x1b[K"
    assert pipe.getvalue() == ""


def test_a_datasets_gate_is_a_knobs_preset_and_its_flag_wins():
    """--dataset imdb's 0.85 is EvaluationConfig.min_accuracy's value for that corpus, as a recipe's values are:
    the field's default < the dataset's < the flag, one name from flag to executor (issue 33)."""
    from models.evaluation_settings import EvaluationConfig
    from pipeline import cli, configs, run_request

    every_knob = {f.name for c in run_request.GROUP_TITLES for f, _ in run_request.knobs(c)}
    for spec in configs.DATASETS.values():
        assert set(spec.knob_values) <= every_knob, spec.name  # a typo would be ignored silently

    def gate(argv, dataset):
        return run_request.resolve(cli.parse_args(argv), dataset).evaluation.min_accuracy

    imdb = configs.DATASETS["imdb"]
    assert gate(["--dataset", "imdb"], imdb) == imdb.knob_values["min_accuracy"] == 0.85
    assert gate(["--dataset", "imdb", "--min-accuracy", "0.6"], imdb) == 0.6
    assert gate(["--data-dir", "/corpus"], None) == EvaluationConfig.min_accuracy == 0.5
