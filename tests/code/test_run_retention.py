"""The Kubeflow pipeline's RunRetention step (components/run_retention.py), its executor run on a folder laid
out as KFP lays out a bucket: `<root>/<pipeline>/<run id>/<task>/<uuid>/<key>`. The step in a compiled pipeline,
on the KFP stand-in's S3 bucket: tests/pipeline/kubeflow_executions.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tfx.types import standard_artifacts

from components import run_retention
from components.retention_policy import RetentionPolicy
from models.recipe import settings_json

BULKY = {
    "examples": ("DirectoryExampleGen", standard_artifacts.Examples),
    "transform_graph": ("Transform", standard_artifacts.TransformGraph),
    "model": ("Trainer", standard_artifacts.Model),
    "model_run": ("Trainer", standard_artifacts.ModelRun),
    "pushed_model": ("Pusher", standard_artifacts.PushedModel),
}


def _artifact(cls, uri: str, **custom):
    a = cls()
    a.uri = uri
    for key, value in custom.items():
        a.set_int_custom_property(key, value) if isinstance(value, int) else a.set_string_custom_property(key, value)
    return a


def run_step(runs: Path, serving: Path, run_id: str, pushed_version: str | None, policy: RetentionPolicy, reuse=None):
    """One run's bulky outputs written, then its RunRetention step; `reuse`: key -> a URI reused from the cache."""
    inputs = {}
    for key, (task, cls) in BULKY.items():
        uri = (reuse or {}).get(key) or str(runs / run_id / task / "u1" / key)
        Path(uri).mkdir(parents=True, exist_ok=True)
        (Path(uri) / "data").write_bytes(b"x" * 100)
        custom = (
            {"pushed": int(bool(pushed_version)), "pushed_version": pushed_version or ""}
            if key == "pushed_model"
            else {}
        )
        inputs[key] = [_artifact(cls, uri, **custom)]
    if pushed_version:
        (serving / pushed_version).mkdir(parents=True)
        (serving / pushed_version / "saved_model.pb").write_bytes(b"m")
    record = _artifact(run_retention.RunRecord, str(runs / run_id / "RunRetention" / f"uuid-{run_id}" / "record"))
    run_retention.Executor().Do(
        inputs,
        {"record": [record]},
        {"runs_folder": str(runs), "serving_dir": str(serving), "custom_config": settings_json(policy)},
    )
    return json.loads((Path(record.uri) / run_retention.RECORD_FILE).read_text()), {
        k: v[0].uri for k, v in inputs.items()
    }


def test_old_runs_lose_their_bulky_artifacts_and_keep_their_records(tmp_path):
    runs, serving = tmp_path / "root" / "text-classifier-x", tmp_path / "serving"
    policy = RetentionPolicy(keep_runs=1, keep_versions=2)
    (runs / "still-running" / "Trainer" / "u" / "model").mkdir(parents=True)  # no record: never touched
    uris = {}
    for n, version in enumerate(["100", None, "300", "400"], start=1):
        record, uris[n] = run_step(runs, serving, f"run-{n}", version, policy)
    retention = record["retention"]
    # run-4 is the newest; run-3 pushed the other kept version (300); run-1's version (100) and run-2 are old.
    assert retention["kept_runs"] == ["run-3", "run-4"]
    assert sorted(p.name for p in serving.iterdir()) == ["300", "400"]
    for n in (1, 2):
        assert all(not Path(uri).exists() for uri in uris[n].values()), n
        old = json.loads(next((runs / f"run-{n}" / "RunRetention").glob("*/record/record.json")).read_text())
        assert "retired_at" in old and old["artifacts"] == sorted(uris[n].values())
    for n in (3, 4):
        assert all(Path(uri).exists() for uri in uris[n].values()), n
    assert (runs / "still-running" / "Trainer" / "u" / "model").is_dir()
    # A retired run is retired once: the next run's step lists only the runs it retires itself.
    record, _ = run_step(runs, serving, "run-5", None, policy)
    assert record["retention"]["retired_runs"] == []  # run-3 pushed 300, still kept; run-4 pushed 400


def test_an_artifact_a_kept_run_reused_from_the_cache_stays(tmp_path):
    runs, serving = tmp_path / "root" / "p", tmp_path / "serving"
    policy = RetentionPolicy(keep_runs=1, keep_versions=1)
    _, first = run_step(runs, serving, "run-1", "100", policy)
    record, second = run_step(
        runs, serving, "run-2", "200", policy, reuse={"transform_graph": first["transform_graph"]}
    )
    assert record["retention"]["retired_runs"] == ["run-1"]
    assert Path(first["transform_graph"]).is_dir()  # run-2 uses it
    assert not Path(first["model"]).exists() and Path(second["model"]).is_dir()


def test_an_output_outside_kfps_layout_is_refused_and_nothing_is_removed(tmp_path):
    runs = tmp_path / "root" / "p"
    with pytest.raises(ValueError, match="nothing was removed"):
        run_retention.run_of(str(tmp_path / "elsewhere" / "record"), str(runs))
