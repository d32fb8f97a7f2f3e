"""Calling one step under its deadline: await it, send it to a worker thread, or call it.

The serial loop and the concurrent scheduler call inline steps themselves
(``Step.invoke``); everything with a deadline, a coroutine or a thread goes
through here, for every backend.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import anyio.to_thread

from ..errors import VertexTimeout
from .plan import CallMode, Step

__all__ = ["call_step"]


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
    thread_limiter: anyio.CapacityLimiter | None,
    task_limiter: anyio.CapacityLimiter | None,
) -> tuple[Any, float]:
    """Run ``step`` where ``mode`` says; return its output and the call's wall time.

    A step with a timeout is abandoned at its deadline (``VertexTimeout``): a
    coroutine is cancelled; a worker thread cannot be, so it finishes in the
    background and its result is dropped here, never stored.
    """
    start = time.perf_counter()
    with anyio.move_on_after(step.node.timeout) as deadline:
        if mode is CallMode.AWAIT:
            if task_limiter is None:
                output = await step.invoke(values)
            else:
                async with task_limiter:
                    output = await step.invoke(values)
        elif mode is CallMode.THREAD:
            output = await anyio.to_thread.run_sync(
                step.invoke, values, limiter=thread_limiter, abandon_on_cancel=True
            )
        else:
            output = step.invoke(values)
    if deadline.cancelled_caught:
        raise _timeout_error(step)
    return output, time.perf_counter() - start
