"""The atomic publish step of AtomicPusher (the component itself runs in test_pipeline_e2e)."""
from __future__ import annotations

import os

from components import atomic_pusher


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
    leftover = serving / f"{atomic_pusher.STAGING_PREFIX}123-999"
    leftover.mkdir(parents=True)
    (leftover / "half-written").write_bytes(b"")
    assert atomic_pusher.versions(str(serving)) == []  # a reader ignores it
    atomic_pusher.publish(str(make_model(tmp_path / "model")), str(serving))
    assert not leftover.exists()
    assert len(atomic_pusher.versions(str(serving))) == 1
    assert all(name.isdigit() for name in os.listdir(serving))
