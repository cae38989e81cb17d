"""Pusher that publishes a blessed model into the serving folder atomically.

TFX's Pusher copies the model straight into `<base>/<version>/`, so a model
server (or a crash) can meet a half-written version. Here the model is copied
into a hidden staging folder beside the versions and renamed into place: a
reader sees no version, or a whole one. TF Serving ignores folders whose names
are not numbers, so the staging folder is never served. A model that is not
blessed is not pushed, and the versions already there stay as they are.

Versions are integers (Unix seconds, TF Serving's layout), strictly increasing
even when two pushes fall in the same second.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time
from collections.abc import Callable

from tfx.components.pusher import executor as pusher_executor
from tfx.components.pusher.component import Pusher
from tfx.dsl.components.base import executor_spec
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

STAGING_PREFIX = ".staging-"


def versions(base_directory: str) -> list[int]:
    """Published versions in a serving folder, oldest first."""
    if not os.path.isdir(base_directory):
        return []
    return sorted(int(name) for name in os.listdir(base_directory) if name.isdigit())


def next_version(base_directory: str) -> int:
    existing = versions(base_directory)
    return max([int(time.time())] + [v + 1 for v in existing[-1:]])


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_dead_staging(base_directory: str) -> list[str]:
    """Removes staging folders left by pushes that were killed; a live push's is left alone."""
    removed = []
    for name in os.listdir(base_directory):
        if not name.startswith(STAGING_PREFIX):
            continue
        pid = name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _is_running(int(pid)):
            continue
        shutil.rmtree(os.path.join(base_directory, name), ignore_errors=True)
        removed.append(name)
    return removed


def publish(model_path: str, base_directory: str, copy_function: Callable = shutil.copy2) -> str:
    """Copies `model_path` to `<base>/<version>` atomically; returns the new version's path."""
    os.makedirs(base_directory, exist_ok=True)
    for name in remove_dead_staging(base_directory):
        logging.warning("AtomicPusher: removed %s, left by a push that was killed", name)
    staging = os.path.join(base_directory, f"{STAGING_PREFIX}{int(time.time())}-{os.getpid()}")
    shutil.copytree(model_path, staging, copy_function=copy_function)
    while True:
        final = os.path.join(base_directory, str(next_version(base_directory)))
        try:
            os.rename(staging, final)  # atomic within one file system
            return final
        except OSError as err:  # another pusher took that version a moment ago: take the next
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise


class Executor(pusher_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            logging.warning("AtomicPusher: the model is not blessed; serving keeps its current version")
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        base = destination.filesystem.base_directory
        if not base or "://" in base:
            raise ValueError(f"AtomicPusher needs a local serving folder, got '{base}'")
        model_path = self.GetModelPath(input_dict)
        serving_path = publish(model_path, base)
        io_utils.copy_dir(model_path, model_push.uri)  # the archive copy TFX keeps with the artifact
        self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=os.path.basename(serving_path))
        logging.info("AtomicPusher: model published at %s", serving_path)


class AtomicPusher(Pusher):
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
