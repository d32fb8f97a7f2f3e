"""The cyclic collector is paused only while graphs and plans are built, then restored."""

from __future__ import annotations

import gc

import pytest

import flowdsl
from flowdsl import vertex
from flowdsl._gc import collector_paused


def test_the_collector_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("restored on errors too")
    assert gc.isenabled()


def test_a_collector_the_user_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()

        @vertex
        def one(x: int) -> int:
            return x

        flowdsl.Flow.from_functions(one).run({"x": 1})
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_compiling_and_running_leave_the_collector_enabled() -> None:
    @vertex
    def broken(broken: int) -> int:
        return broken

    with pytest.raises(flowdsl.CycleError):
        flowdsl.Flow.from_functions(broken)
    assert gc.isenabled()

    @vertex
    def fine(x: int) -> int:
        return x

    flowdsl.Flow.from_functions(fine).run({"x": 1}, outputs=["fine"])
    assert gc.isenabled()


def test_the_collector_is_restored_after_an_interrupt_or_a_cancellation() -> None:
    for stop in (KeyboardInterrupt, SystemExit, GeneratorExit):
        with pytest.raises(stop), collector_paused():
            raise stop()
        assert gc.isenabled()
