"""Calling one step under its deadline: await it, send it to a worker thread, or call it.

The serial loop and the concurrent scheduler call inline steps themselves
(``Step.invoke``); everything with a deadline, a coroutine or a thread goes
through here, for every backend.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.to_thread

from ..errors import VertexTimeout
from .checking import Invoker
from .plan import CallMode, Step

__all__ = ["Places", "awaited_directly", "call_placed", "call_step", "named_call"]


def _timeout_error(step: Step) -> VertexTimeout:
    node = step.node
    return VertexTimeout(
        f"did not finish within its timeout of {node.options.timeout:g}s",
        vertex=node.name,
        location=node.location,
    )


class Places:
    """Where one run's calls go: its worker-thread and coroutine limits; per step, the
    seconds its calls waited for a worker thread (``waits``), and the thread and time
    its last call there began (``placed``)."""

    __slots__ = ("placed", "tasks", "threads", "waits")

    def __init__(
        self,
        waits: dict[int, float],
        placed: dict[int, tuple[int, float]],
        threads: anyio.CapacityLimiter | None = None,
        tasks: anyio.CapacityLimiter | None = None,
    ) -> None:
        self.waits = waits
        self.placed = placed
        self.threads = threads
        self.tasks = tasks


def named_call(function: Callable[..., Any], named: Mapping[str, Any]) -> Callable[[], Any]:
    """A call of ``function`` with the keyword arguments of ``named`` it takes (all of
    them when it has ``**kwargs``): how fallbacks and compensations are called."""
    parameters = inspect.signature(function).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        accepted = {p.name for p in parameters}
        named = {k: v for k, v in named.items() if k in accepted}
    return functools.partial(function, **named)


def awaited_directly(step: Step, mode: CallMode, places: Places) -> bool:
    """Whether ``step`` is a coroutine step with no deadline and no limit to take first:
    its invoker's awaitable is awaited as it is, without the general path's two coroutine
    frames, which every resumption of the coroutine would pass through."""
    return mode is CallMode.AWAIT and places.tasks is None and step.node.options.timeout is None


async def call_step(
    step: Step, mode: CallMode, values: list[Any], invoke: Invoker | None, places: Places
) -> tuple[Any, float]:
    """Run ``step`` where ``mode`` says; return its output and the call's wall time.

    ``invoke`` is the step's checked invoker (``None``: no contracts to check).
    """
    start = time.perf_counter()
    if awaited_directly(step, mode, places):
        output = await (invoke or step.invoke)(values)
    else:
        call = functools.partial(invoke or step.invoke, values)
        output = await call_placed(step, mode, call, places)
    return output, time.perf_counter() - start


async def call_placed(step: Step, mode: CallMode, call: Callable[[], Any], places: Places) -> Any:
    """``call()`` (awaited in ``AWAIT`` mode) where ``mode`` says, under the step's timeout.

    A call with a timeout is abandoned at its deadline (``VertexTimeout``): a
    coroutine is cancelled; a worker thread cannot be, so it finishes in the
    background and its result is dropped here, never stored.
    """
    timeout = step.node.options.timeout
    if timeout is None:
        # A cancel scope costs tens of microseconds on asyncio: only a deadline needs one.
        return await _place(call, mode, places, step.position)
    with anyio.move_on_after(timeout) as deadline:
        output = await _place(call, mode, places, step.position)
    if deadline.cancelled_caught:
        raise _timeout_error(step)
    return output


async def _place(call: Callable[[], Any], mode: CallMode, places: Places, position: int) -> Any:
    if mode is CallMode.AWAIT:
        if places.tasks is None:
            return await call()
        async with places.tasks:
            return await call()
    if mode is CallMode.THREAD:
        dispatched = time.perf_counter()
        waits, placed = places.waits, places.placed

        def timed() -> Any:
            began = time.perf_counter()
            waits[position] = waits.get(position, 0.0) + began - dispatched
            placed[position] = (threading.get_ident(), began)
            return call()

        return await anyio.to_thread.run_sync(timed, limiter=places.threads, abandon_on_cancel=True)
    return call()
