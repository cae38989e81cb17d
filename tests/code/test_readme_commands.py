"""Every line of the README's shell blocks runs as pasted: each command of a line (split at `|`, `&&`, `;`) is a
program this project or the machine has, a `make` target exists, a project command's flags are accepted by its
own parser, and the cheap lines (`--help`) are run. A line that reads `runs | lineage` (meaning "or") fails here,
as it fails in a shell."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO

# Programs the README names that this machine need not have: the image is pushed with Docker (or Podman).
ELSEWHERE = {"docker"}
SEPARATORS = {"|", "||", "&&", ";", "&"}
# What the README's variables hold once its earlier lines ran (IMAGE: what `docker inspect` prints after a push).
EXAMPLE_VALUES = {
    "REGISTRY": "registry.example.com/ml",
    "IMAGE": "registry.example.com/ml/tfx-text-classifier@sha256:" + "0" * 64,
}


def readme_lines() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, re.S):
        lines += [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    return lines


def commands(line: str) -> list[list[str]]:
    """The commands of a shell line, comments dropped, environment assignments (X=Y) removed."""
    for name, value in EXAMPLE_VALUES.items():
        line = line.replace(f'"${name}', f'"{value}')
    line = re.sub(r"\$\((.*)\)", lambda m: shlex.quote(m.group(1)), line)  # $(...) checked as a value, not run
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    out, current = [], []
    for token in lexer:
        if token in SEPARATORS:
            out.append(current)
            current = []
        else:
            current.append(token)
    out.append(current)
    return [c[_first_word(c) :] for c in out if c[_first_word(c) :]]  # a line that only assigns runs nothing


def _first_word(command: list[str]) -> int:
    return next((i for i, t in enumerate(command) if not re.match(r"^\w+=", t)), len(command))


def _parser_of(argv: list[str]):
    """The project parser that reads `python ARGV`'s flags, and the flags; None when ARGV is no project command."""
    from kubeflow_runner import command_line
    from pipeline import cli
    from tools import audit, infer, inspect, predict, retire

    modules = {
        "tools.audit": audit,
        "tools.infer": infer,
        "tools.inspect": inspect,
        "tools.predict": predict,
        "tools.retire": retire,
    }
    if argv[0] == "run_local.py":
        return cli.parse_args, argv[1:]
    if argv[0] == "run_kubeflow.py":
        return command_line.parse_args, argv[1:]
    if argv[0] == "-m" and argv[1] in modules:
        return modules[argv[1]].parse_args, argv[2:]
    return None


def make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))


LINES = readme_lines()


def test_the_readme_has_shell_lines_to_check():
    assert len(LINES) >= 10


@pytest.mark.parametrize("line", LINES)
def test_each_readme_line_runs_as_pasted(line, capsys):
    for command in commands(line):
        program = command[0]
        if program == "make":
            assert set(command[1:]) - {"VARIANT=cpu"} <= make_targets(), f"{line}: no such make target"
            continue
        if program in ELSEWHERE:
            continue
        assert (REPO / program).exists() or shutil.which(program), f"{line}: `{program}`: command not found"
        if program.endswith("python"):
            found = _parser_of(command[1:])
            assert found, f"{line}: not a command of this project"
            parse, flags = found
            try:
                parse(flags)
            except SystemExit as done:
                assert done.code == 0, f"{line}: {capsys.readouterr().err.strip()}"


@pytest.mark.parametrize("line", [line for line in LINES if "--help" in line])
def test_the_readme_help_lines_run(line):
    [command] = commands(line)
    done = subprocess.run([sys.executable, *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.startswith("usage: "), done.stderr[-2000:]


def test_a_pipe_meant_as_or_is_caught():
    [first, second] = commands(".venv/bin/python -m tools.inspect runs --name imdb | lineage --model runs/x")
    assert second[0] == "lineage" and not shutil.which("lineage")
