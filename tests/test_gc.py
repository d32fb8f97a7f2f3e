"""The cyclic collector is paused only while graphs and plans are built, then restored."""

from __future__ import annotations

import gc
import threading

import anyio
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


def test_overlapping_pauses_in_two_threads_leave_the_collector_enabled() -> None:
    """Whichever block ends last, and in whatever order they began, it ends enabled."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert first_out.is_set()
    assert gc.isenabled()


@pytest.mark.anyio
async def test_a_cancelled_task_that_compiles_leaves_the_collector_enabled() -> None:
    """A compile in a task that is cancelled, before it, or around it, restores the
    collector: the pause never spans an await."""

    @vertex
    def one(x: int) -> int:
        return x

    with anyio.move_on_after(0.01) as scope:
        while True:
            flowdsl.Flow.from_functions(one)
            await anyio.sleep(0)
    assert scope.cancelled_caught
    assert gc.isenabled()
