"""The atomic publish step of AtomicPusher (the component itself runs in test_pipeline_e2e)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from components import atomic_pusher
from tests.helpers import REPO, same_tree


def make_model(path):
    (path / "variables").mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"graph")
    (path / "variables" / "variables.index").write_bytes(b"index")
    return path


def test_versions_are_whole_and_strictly_increasing(tmp_path):
    model = make_model(tmp_path / "model")
    serving = tmp_path / "serving"
    first = atomic_pusher.publish(str(model), str(serving))
    second = atomic_pusher.publish(str(model), str(serving))  # within the same second
    assert int(os.path.basename(second)) == int(os.path.basename(first)) + 1
    assert atomic_pusher.versions(str(serving)) == [int(os.path.basename(first)), int(os.path.basename(second))]
    for version in (first, second):
        assert sorted(os.listdir(version)) == ["saved_model.pb", "variables"]


def test_leftover_staging_of_a_killed_push_is_removed_and_never_a_version(tmp_path):
    serving = tmp_path / "serving"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = serving / f"{atomic_pusher.STAGING_PREFIX}123-{int(dead.stdout)}"
    leftover.mkdir(parents=True)
    (leftover / "half-written").write_bytes(b"")
    assert atomic_pusher.versions(str(serving)) == []  # a reader ignores it
    atomic_pusher.publish(str(make_model(tmp_path / "model")), str(serving))
    assert not leftover.exists()
    assert len(atomic_pusher.versions(str(serving))) == 1
    assert all(name.isdigit() for name in os.listdir(serving))


def test_staging_of_a_live_push_is_left_alone(tmp_path):
    serving = tmp_path / "serving"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        other = serving / f"{atomic_pusher.STAGING_PREFIX}123-{live.pid}"
        other.mkdir(parents=True)
        atomic_pusher.publish(str(make_model(tmp_path / "model")), str(serving))
        assert other.exists()  # another pipeline pushing into the same folder
    finally:
        live.kill()
        live.wait()


# Publishes MODEL into SERVING, one file per 50 ms: a wide window to be killed in.
SLOW_PUBLISH = """
import shutil, sys, time
from components import atomic_pusher
def slow_copy(src, dst):
    shutil.copy2(src, dst)
    time.sleep(0.05)
atomic_pusher.publish(sys.argv[1], sys.argv[2], copy_function=slow_copy)
"""


def test_push_killed_mid_copy_leaves_the_old_version_whole_and_no_new_one(tmp_path):
    old_model, new_model = make_model(tmp_path / "old"), make_model(tmp_path / "new")
    for i in range(100):
        (new_model / "variables" / f"variables.data-{i:05d}-of-00100").write_bytes(os.urandom(4096))
    serving = tmp_path / "serving"
    old = atomic_pusher.publish(str(old_model), str(serving))

    child = subprocess.Popen([sys.executable, "-c", SLOW_PUBLISH, str(new_model), str(serving)], cwd=REPO)
    staging = []
    while child.poll() is None and not staging:  # wait until the copy is under way
        staging = [
            n
            for n in os.listdir(serving)
            if n.startswith(atomic_pusher.STAGING_PREFIX)
            and (serving / n / "variables").is_dir()
            and len(os.listdir(serving / n / "variables")) >= 10
        ]
        time.sleep(0.01) if not staging else None
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert staging, "the push ended before it could be killed"
    assert len(os.listdir(serving / staging[0] / "variables")) < 101  # it was killed half-way

    assert atomic_pusher.versions(str(serving)) == [int(os.path.basename(old))]
    assert same_tree(old, old_model)
    new = atomic_pusher.publish(str(new_model), str(serving))  # the next push: whole, leftovers gone
    assert sorted(os.listdir(serving)) == sorted([os.path.basename(old), os.path.basename(new)])
    assert same_tree(new, new_model)
