"""Coroutine steps of the concurrent scheduler: however they are started (plain asyncio
tasks on asyncio, anyio tasks on trio), none outlives its run and cancellation reaches
them. Every test runs on asyncio and trio; waits are bounded, never timed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

import flowdsl
from flowdsl import vertex

pytestmark = pytest.mark.anyio

PATIENCE = 10.0


class Bail(BaseException):
    """Not an Exception: not a vertex's failure."""


def _tasks(anyio_backend: str) -> set[Any]:
    if anyio_backend != "asyncio":
        return set()  # a trio nursery cannot be left with tasks: nothing to count
    return asyncio.all_tasks()


def _waiting_flow(cleaned_up: list[str], started: anyio.Event) -> list[Any]:
    def make(i: int) -> Any:
        async def waits(x: int) -> int:
            started.set()
            try:
                await anyio.sleep(PATIENCE * 10)
            finally:
                cleaned_up.append(f"w{i}")
            return x

        waits.__name__ = f"w{i}"
        return vertex(waits)

    return [make(i) for i in range(5)]


@pytest.mark.parametrize("backend", ["thread", "async"])
async def test_a_finished_run_leaves_no_task(anyio_backend: str, backend: str) -> None:
    before = _tasks(anyio_backend)

    @vertex
    async def first(x: int) -> int:
        await anyio.sleep(0)
        return x + 1

    @vertex
    async def second(first: int) -> int:
        return first + 1

    result = await flowdsl.Flow.from_functions(first, second).arun({"x": 1}, backend=backend)
    assert result["second"] == 3
    assert _tasks(anyio_backend) <= before


async def test_a_failure_cancels_and_awaits_every_coroutine_before_raising(
    anyio_backend: str,
) -> None:
    before = _tasks(anyio_backend)
    cleaned_up: list[str] = []
    started = anyio.Event()

    @vertex
    async def breaks(x: int) -> int:
        await started.wait()
        raise RuntimeError("boom")

    flow = flowdsl.Flow.from_functions(breaks, *_waiting_flow(cleaned_up, started))
    with anyio.fail_after(PATIENCE), pytest.raises(flowdsl.VertexFailed):
        await flow.arun({"x": 1}, backend="async")
    assert sorted(cleaned_up) == [f"w{i}" for i in range(5)]
    assert _tasks(anyio_backend) <= before


async def test_cancelling_the_caller_cancels_and_awaits_every_coroutine(
    anyio_backend: str,
) -> None:
    before = _tasks(anyio_backend)
    cleaned_up: list[str] = []
    started = anyio.Event()
    flow = flowdsl.Flow.from_functions(*_waiting_flow(cleaned_up, started))
    returned: list[bool] = []

    with anyio.fail_after(PATIENCE):
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:

                async def caller() -> None:
                    await flow.arun({"x": 1}, backend="async")
                    returned.append(True)

                group.start_soon(caller)
                await started.wait()
                scope.cancel()
        # Cleaned up by the time the cancelled run returned, not later.
        assert sorted(cleaned_up) == [f"w{i}" for i in range(5)]
    assert returned == []
    assert scope.cancelled_caught
    assert _tasks(anyio_backend) <= before


async def test_the_run_timeout_cancels_and_awaits_every_coroutine(anyio_backend: str) -> None:
    before = _tasks(anyio_backend)
    cleaned_up: list[str] = []
    flow = flowdsl.Flow.from_functions(*_waiting_flow(cleaned_up, anyio.Event()))
    with anyio.fail_after(PATIENCE), pytest.raises(flowdsl.VertexTimeout):
        await flow.arun({"x": 1}, backend="async", timeout=0.05)
    assert sorted(cleaned_up) == [f"w{i}" for i in range(5)]
    assert _tasks(anyio_backend) <= before


async def test_a_base_exception_from_a_coroutine_ends_the_run_and_propagates(
    anyio_backend: str,
) -> None:
    before = _tasks(anyio_backend)
    cleaned_up: list[str] = []
    started = anyio.Event()

    @vertex
    async def bails(x: int) -> int:
        await started.wait()
        raise Bail

    flow = flowdsl.Flow.from_functions(bails, *_waiting_flow(cleaned_up, started))
    with anyio.fail_after(PATIENCE), pytest.raises(Bail):  # plain, on both loops
        await flow.arun({"x": 1}, backend="async")
    assert sorted(cleaned_up) == [f"w{i}" for i in range(5)]
    assert _tasks(anyio_backend) <= before


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_cancelling_the_asyncio_task_of_the_caller_propagates(anyio_backend: str) -> None:
    before = _tasks(anyio_backend)
    cleaned_up: list[str] = []
    started = anyio.Event()
    flow = flowdsl.Flow.from_functions(*_waiting_flow(cleaned_up, started))
    caller = asyncio.ensure_future(flow.arun({"x": 1}, backend="async"))
    with anyio.fail_after(PATIENCE):
        await started.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
    assert sorted(cleaned_up) == [f"w{i}" for i in range(5)]
    assert _tasks(anyio_backend) <= before
