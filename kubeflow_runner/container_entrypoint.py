"""The command of every Kubeflow step: TFX's KFP v2 executor entrypoint, made fit for s3://.

    python -m kubeflow_runner.container_entrypoint --executor_class_path ... --json_serialized_invocation_args {{$}}

Two things TFX's own entrypoint (`kubeflow_v2_run_executor`) lacks:
  * TensorFlow knows `gs://` but not `s3://`: tensorflow-io's file system
    plugin must be imported before an executor touches an s3:// URI (TFX and
    TFMA write through `tf.io.gfile`; Beam's own writes go through
    `apache-beam[aws]`, which reads the same environment variables).
  * tensorflow-io's AWS SDK aborts at interpreter teardown ("pure virtual
    method called"): a step whose work succeeded would exit with SIGABRT and the
    launcher would fail it. The process ends with `os._exit` after flushing, so
    the exit code is the executor's.
"""

from __future__ import annotations

import os
import sys
import traceback


def needs_s3(argv) -> bool:
    """The executor input (every artifact URI) is in the arguments."""
    return any("s3://" in arg for arg in argv)


def main(argv) -> int:
    from pipeline import startup

    with startup.imports_without_gc():
        if needs_s3(argv):
            import tensorflow_io  # noqa: F401 (registers the s3:// file system with tf.io.gfile)
        from absl import app
        from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as tfx_entrypoint

        from pipeline import executor_process

    executor_process.install()  # as the local runner does: no package build per task, Beam signatures read once
    sys.argv = [sys.argv[0], *argv]
    try:
        app.run(tfx_entrypoint.main, flags_parser=tfx_entrypoint._parse_flags)  # noqa: SLF001 (TFX's own parser)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - any executor failure: print it, exit non-zero
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # noqa: WPS421 - skip the AWS SDK's teardown (see the module docstring)
