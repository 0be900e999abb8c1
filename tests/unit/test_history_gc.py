"""history reads with the cyclic collector paused, and gives it back as it found it."""

from __future__ import annotations

import gc

import pytest

from runwrap.commands.history import _acyclic

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def collector_on():
    """The collector on, as in a fresh runwrap, whatever a test before left."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_paused_for_the_read_and_restored_after() -> None:
    assert gc.isenabled()
    assert _acyclic(lambda: [gc.isenabled()]) == [False]
    assert gc.isenabled()


def test_restored_when_the_read_fails_and_left_off_when_it_was_off() -> None:
    def broken() -> list:
        raise OSError("disk")

    with pytest.raises(OSError):
        _acyclic(broken)
    assert gc.isenabled()
    gc.disable()
    try:
        _acyclic(list)
        assert not gc.isenabled()
    finally:
        gc.enable()
