"""Which Beam runs need the workers' code named, and that local ones never make TFX build its package."""

from __future__ import annotations

import pytest

from pipeline import beam_workers

LOCAL = [
    [],
    ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    ["--runner=DirectRunner"],
    ["--runner=PortableRunner", "--job_endpoint=localhost:8099", "--environment_type=LOOPBACK"],
]
REMOTE = [
    ["--runner=DataflowRunner", "--project=p", "--region=r"],
    ["--runner=FlinkRunner", "--flink_master=localhost:8081"],
    ["--runner=PortableRunner", "--job_endpoint=localhost:8099", "--environment_type=DOCKER"],
]


@pytest.mark.parametrize("args", LOCAL, ids=lambda a: " ".join(a) or "none")
def test_local_runners_need_nothing_and_tfx_builds_nothing(args, monkeypatch):
    assert beam_workers.runs_locally(args)
    beam_workers.check(args)  # no refusal
    from tfx.utils import dependency_utils

    monkeypatch.setattr(dependency_utils, "make_beam_dependency_flags", dependency_utils.make_beam_dependency_flags)
    monkeypatch.setattr(dependency_utils, "build_ephemeral_package", lambda: pytest.fail("TFX built its package"))
    beam_workers.install()
    assert dependency_utils.make_beam_dependency_flags(list(args)) == list(args)


@pytest.mark.parametrize("args", REMOTE, ids=lambda a: a[0])
def test_remote_runners_are_refused_until_the_workers_code_is_named(args):
    assert not beam_workers.runs_locally(args)
    with pytest.raises(ValueError) as refused:
        beam_workers.check(args)
    message = str(refused.value)
    assert args[0].split("=")[1] in message and "--sdk_container_image=IMAGE" in message
    beam_workers.check([*args, "--sdk_container_image=registry.example/text-classifier:0.1.0"])
    beam_workers.check([*args, "--extra_package=dist/text_classifier-0.1.0.tar.gz"])
    if "--environment_type=DOCKER" in args:  # the image named Beam's older way
        beam_workers.check([*args, "--environment_config=registry.example/text-classifier:0.1.0"])


def test_remote_runners_keep_tfx_s_own_handling_once_installed(monkeypatch):
    from tfx.utils import dependency_utils

    seen = []
    monkeypatch.setattr(dependency_utils, "make_beam_dependency_flags", lambda a: seen.append(a) or [*a, "--x"])
    beam_workers.install()
    beam_workers.install()  # idempotent: wrapped once
    named = [*REMOTE[0], "--sdk_container_image=i"]
    assert dependency_utils.make_beam_dependency_flags(named) == named and not seen  # as TFX itself would
    unnamed = REMOTE[0]  # check() refuses it first; were it called, TFX's own handling applies
    assert dependency_utils.make_beam_dependency_flags(unnamed) == [*unnamed, "--x"] and seen == [unnamed]
