"""The imports without the garbage collector (pipeline/startup.py): off inside the block, on again after it
(also after an error), what the block made frozen out of later collections, and a collector that was off stays
off."""

from __future__ import annotations

import gc

import pytest

from pipeline import startup


@pytest.fixture(autouse=True)
def collector_restored():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # this test process's objects back under the collector
    (gc.enable if enabled else gc.disable)()


def test_the_collector_is_off_in_the_block_and_on_after_it_with_what_it_made_frozen():
    gc.enable()
    frozen_before = gc.get_freeze_count()
    with startup.imports_without_gc():
        assert not gc.isenabled()
        made = [[i] for i in range(1000)]  # tracked containers, as imported modules' objects are
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(made)
    collected = {id(x) for x in gc.get_objects()}  # what later collections walk: the permanent generation is not
    assert not any(id(x) in collected for x in made)


def test_an_error_in_the_block_still_turns_the_collector_on():
    gc.enable()
    with pytest.raises(ImportError), startup.imports_without_gc():
        raise ImportError("no module named x")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with startup.imports_without_gc():
        pass
    assert not gc.isenabled()
