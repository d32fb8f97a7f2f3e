"""Calling one step under its deadline: await it, send it to a worker thread, or call it.

The serial loop and the concurrent scheduler call inline steps themselves
(``Step.invoke``); everything with a deadline, a coroutine or a thread goes
through here, for every backend.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from ..errors import VertexTimeout
from .checking import Invoker
from .plan import CallMode, Step

__all__ = ["call_placed", "call_step"]


def _timeout_error(step: Step) -> VertexTimeout:
    node = step.node
    return VertexTimeout(
        f"did not finish within its timeout of {node.timeout:g}s",
        vertex=node.name,
        location=node.location,
    )


async def call_step(
    step: Step,
    mode: CallMode,
    values: list[Any],
    invoke: Invoker | None,
    thread_limiter: anyio.CapacityLimiter | None,
    task_limiter: anyio.CapacityLimiter | None,
) -> tuple[Any, float]:
    """Run ``step`` where ``mode`` says; return its output and the call's wall time.

    ``invoke`` is the step's checked invoker (``None``: no contracts to check).
    """
    start = time.perf_counter()
    output = await call_placed(
        step, mode, functools.partial(invoke or step.invoke, values), thread_limiter, task_limiter
    )
    return output, time.perf_counter() - start


async def call_placed(
    step: Step,
    mode: CallMode,
    call: Callable[[], Any],
    thread_limiter: anyio.CapacityLimiter | None,
    task_limiter: anyio.CapacityLimiter | None,
) -> Any:
    """``call()`` (awaited in ``AWAIT`` mode) where ``mode`` says, under the step's timeout.

    A call with a timeout is abandoned at its deadline (``VertexTimeout``): a
    coroutine is cancelled; a worker thread cannot be, so it finishes in the
    background and its result is dropped here, never stored.
    """
    timeout = step.node.timeout
    if timeout is None:
        # A cancel scope costs tens of microseconds on asyncio: only a deadline needs one.
        return await _place(call, mode, thread_limiter, task_limiter)
    with anyio.move_on_after(timeout) as deadline:
        output = await _place(call, mode, thread_limiter, task_limiter)
    if deadline.cancelled_caught:
        raise _timeout_error(step)
    return output


async def _place(
    call: Callable[[], Any],
    mode: CallMode,
    thread_limiter: anyio.CapacityLimiter | None,
    task_limiter: anyio.CapacityLimiter | None,
) -> Any:
    if mode is CallMode.AWAIT:
        if task_limiter is None:
            return await call()
        async with task_limiter:
            return await call()
    if mode is CallMode.THREAD:
        return await anyio.to_thread.run_sync(call, limiter=thread_limiter, abandon_on_cancel=True)
    return call()
