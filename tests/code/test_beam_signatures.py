"""pipeline/beam_signatures.py: Beam's method parameters, cached, read as Beam itself reads them."""

from __future__ import annotations

import functools

import apache_beam as beam
import pytest
from apache_beam.coders import VarIntCoder
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import core, userstate

from pipeline import beam_signatures


@pytest.fixture
def installed(monkeypatch):
    """The cache in front of Beam's function for one test (monkeypatch puts Beam's back)."""
    monkeypatch.setattr(core, "get_function_args_defaults", core.get_function_args_defaults)
    assert beam_signatures.install()
    return core.get_function_args_defaults


COUNT = userstate.ReadModifyWriteStateSpec("count", VarIntCoder())
SEEN = userstate.BagStateSpec("seen", VarIntCoder())
FLUSH = userstate.TimerSpec("flush", userstate.TimeDomain.WATERMARK)


class Counting(beam.DoFn):
    def process(self, element, count=beam.DoFn.StateParam(COUNT), seen=beam.DoFn.StateParam(SEEN)):
        n = (count.read() or 0) + 1
        count.write(n)
        seen.add(element[1])
        yield element[0], n


class WithTimer(beam.DoFn):
    def process(self, element, timestamp=beam.DoFn.TimestampParam, flush=beam.DoFn.TimerParam(FLUSH)):
        flush.set(timestamp)
        yield element

    @userstate.on_timer(FLUSH)
    def on_flush(self, window=beam.DoFn.WindowParam):
        yield window


def _logged(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        return method(*args, **kwargs)

    return wrapper


class Decorated(beam.DoFn):
    @_logged
    def process(self, element, window=beam.DoFn.WindowParam, key=beam.DoFn.KeyParam):
        yield element


class TwiceTheSameParam(beam.DoFn):
    def process(self, element, a=beam.DoFn.StateParam(COUNT), b=beam.DoFn.StateParam(COUNT)):
        yield element


DOFNS = [Counting, WithTimer, Decorated, beam.DoFn]


def _every_method(dofn):
    return [name for name in dir(dofn) if callable(getattr(dofn, name, None)) and not name.startswith("__")]


def test_the_installed_beam_is_the_one_the_cache_mirrors():
    """A Beam upgrade fails here: check core.get_function_args_defaults and userstate.get_dofn_specs, then move
    BEAM_VERSION."""
    assert beam.__version__ == beam_signatures.BEAM_VERSION


@pytest.mark.parametrize("dofn_class", DOFNS, ids=lambda c: c.__name__)
def test_each_method_reads_as_beam_reads_it_and_so_do_the_specs(dofn_class, installed):
    read = installed.wrapped
    for dofn in (dofn_class(), dofn_class()):  # the second instance is served from the cache
        for name in _every_method(dofn):
            method = getattr(dofn, name)
            try:
                expected = read(method)
            except (TypeError, ValueError) as err:
                with pytest.raises(type(err)):
                    installed(method)
                continue
            assert installed(method) == expected, name
        assert userstate.get_dofn_specs(dofn) == _specs_without_cache(dofn, read)


def _specs_without_cache(dofn, read):
    cached = core.get_function_args_defaults
    core.get_function_args_defaults = read
    try:
        return userstate.get_dofn_specs(dofn)
    finally:
        core.get_function_args_defaults = cached


def test_repeated_reads_of_a_method_are_served_once_per_function(installed, monkeypatch):
    calls = []
    read = installed.wrapped
    monkeypatch.setattr(
        core, "get_function_args_defaults", beam_signatures.cached(lambda f: calls.append(f) or read(f))
    )
    for _ in range(3):
        userstate.get_dofn_specs(Counting())
        userstate.get_dofn_specs(WithTimer())
    once = len(calls)
    for _ in range(3):
        userstate.get_dofn_specs(Counting())
    assert once > 0 and len(calls) == once  # nothing read again


def test_a_method_whose_defaults_change_is_read_again(installed):
    class Changing(beam.DoFn):
        def process(self, element, window=beam.DoFn.WindowParam):
            yield element

    assert installed(Changing().process)[1] == [beam.DoFn.WindowParam]
    Changing.process.__defaults__ = (beam.DoFn.TimestampParam,)
    assert installed(Changing().process)[1] == [beam.DoFn.TimestampParam]


def test_the_returned_lists_are_the_callers_own(installed):
    args, defaults = installed(Counting().process)
    args.append("x")
    defaults.clear()
    assert installed(Counting().process) == (
        ["element", "count", "seen"],
        [beam.DoFn.StateParam(COUNT), beam.DoFn.StateParam(SEEN)],
    )


def test_beam_still_refuses_a_dofn_with_one_state_twice(installed):
    with pytest.raises(ValueError, match="duplicate"):
        userstate.get_dofn_specs(TwiceTheSameParam())


def test_a_stateful_pipeline_runs_as_before(installed):
    with beam.Pipeline() as pipeline:
        counted = (
            pipeline
            | beam.Create([("a", 1), ("b", 2), ("a", 3), ("a", 4)], reshuffle=False)
            | beam.ParDo(Counting())
            | beam.combiners.Top.PerKey(1)
        )
        assert_that(counted, equal_to([("a", [3]), ("b", [1])]))


def test_install_is_idempotent_and_leaves_another_beam_alone(monkeypatch):
    monkeypatch.setattr(core, "get_function_args_defaults", core.get_function_args_defaults)
    beam_signatures.install()
    once = core.get_function_args_defaults
    beam_signatures.install()
    assert core.get_function_args_defaults is once and once.wrapped is not once
    monkeypatch.setattr(core, "get_function_args_defaults", once.wrapped)
    monkeypatch.setattr(beam, "__version__", "9.9.9")
    assert not beam_signatures.install() and not hasattr(core.get_function_args_defaults, "wrapped")
