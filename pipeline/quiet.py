"""One switch for every command's output: the project's own lines without -v, the libraries' too with it.

Every command (`run_local.py`, `run_kubeflow.py`, `python -m tools.predict`,
`infer`, `inspect`) calls `setup(verbose)` right after parsing its flags and
before TensorFlow, TFX or Beam is imported: TensorFlow reads its C++ log level
once, at its first log line, and some libraries warn while they are imported
(google.api_core's "non-supported Python version" FutureWarning). So a command
module imports nothing heavy at its top; tests/code/test_structure.py checks it.

Without -v: Python warnings are ignored, TensorFlow's C++ logs are cut below
FATAL, and log records below ERROR pass only when they come from this
project's code. Errors from anywhere still show: a failure is never hidden.
This module imports nothing heavy: the standard library, and the project's package list (pipeline/code_version.py).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import warnings

from pipeline.code_version import PROJECT_PACKAGES

_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_PROJECT_CODE = tuple(_PROJECT_ROOT + package + os.sep for package in PROJECT_PACKAGES)


def setup(verbose: bool) -> None:
    """Library notices hidden unless `verbose` (see the module docstring). Call before importing TensorFlow."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1" if verbose else "3")
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.WARNING)
    except ImportError:
        pass
    if verbose:
        return
    warnings.simplefilter("ignore")
    for handler in logging.getLogger().handlers:
        if _own_records_below_error not in handler.filters:
            handler.addFilter(_own_records_below_error)


def _own_records_below_error(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR or record.pathname.startswith(_PROJECT_CODE)


def add_flag(parser) -> None:
    """The -v flag every command takes."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also show the libraries' logs and warnings (TensorFlow, TFX, Beam)",
    )


def exit_with(main) -> None:
    """sys.exit(main()), ending quietly when the reader of stdout stops reading (`| head -1`, `less` quit).

    Python's documented recipe: stdout goes to /dev/null so the interpreter's last flush cannot raise again,
    and the exit status is 1, as for any write that failed; no traceback. Every command's `__main__` ends here.

    The objects made so far are frozen out of the garbage collector first. The interpreter's last collections
    walk every object TensorFlow, TFX and Beam made: with them loaded, the process ended 1.7-1.8 s after the
    last atexit handler, and 0.1-0.2 s with them frozen (bench/NOTES.md, "The end of a command"). Atexit
    handlers, the joins of threads and the modules' teardown run as before; the process's memory is freed by
    its end either way.
    """
    try:
        try:
            code = main()
        except SystemExit as done:  # argparse's --help and errors: their output is flushed here too
            code = done.code
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    gc.freeze()
    sys.exit(code)


def terminal_progress(stream=None):
    """A callable that shows a step of a long command on one line of a terminal, rewritten in place (the empty
    message clears it). Nothing when stderr is a pipe or a file: scripts and logs get the result alone."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return lambda message: None

    def show(message: str) -> None:
        stream.write(f"\r{message}\x1b[K")
        stream.flush()

    return show
