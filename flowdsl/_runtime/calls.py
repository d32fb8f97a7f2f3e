"""Calling one step: gather its arguments, then await it or send it to a worker thread.

The serial loop inlines the common case (a sync call on its own thread) for
speed; everything else goes through here, for every backend.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import anyio
import anyio.to_thread

from ..errors import VertexTimeout
from .plan import CallMode, Step
from .state import resolution_error

__all__ = ["call_step", "gather"]


def gather(step: Step, values: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword arguments of ``step`` from the run's slots."""
    try:
        args = [values[s] if r is None else r(values[s]) for s, r in step.args]
        kwargs = {k: values[s] if r is None else r(values[s]) for k, s, r in step.kwargs}
    except Exception as exc:
        raise resolution_error(step, values, exc) from exc
    return args, kwargs


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
    args, kwargs = gather(step, values)
    call = functools.partial(step.function, *args, **kwargs) if kwargs else None
    start = time.perf_counter()
    with anyio.move_on_after(step.node.timeout) as deadline:
        if mode is CallMode.AWAIT:
            if task_limiter is None:
                output = await (call() if call else step.function(*args))
            else:
                async with task_limiter:
                    output = await (call() if call else step.function(*args))
        elif mode is CallMode.THREAD:
            output = await anyio.to_thread.run_sync(
                call or functools.partial(step.function, *args),
                limiter=thread_limiter,
                abandon_on_cancel=True,
            )
        else:
            output = call() if call else step.function(*args)
    if deadline.cancelled_caught:
        raise _timeout_error(step)
    return output, time.perf_counter() - start
