"""The executor core: set up a run, hand it to a backend, time it."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import anyio

from .options import RunOptions
from .plan import Plan
from .serial import run_serial
from .state import RunState

__all__ = ["execute", "run_blocking"]

Scheduler = Callable[[RunState], Awaitable[None]]

_SCHEDULERS: dict[str, Scheduler] = {"serial": run_serial}


async def execute(plan: Plan, inputs: Mapping[str, Any], options: RunOptions) -> RunState:
    """Run ``plan`` on the backend ``options`` name; return the final state.

    Vertex failures are recorded in the state, not raised: the caller decides
    how to report them. Bad inputs raise before anything runs.
    """
    state = RunState(plan, inputs, options)
    start = time.perf_counter()
    try:
        await _SCHEDULERS[options.backend](state)
    finally:
        state.total = time.perf_counter() - start
    return state


def _drive(coroutine: Coroutine[Any, Any, RunState]) -> RunState:
    # A serial run of sync vertices never suspends, so one send() finishes it
    # and no event loop is needed.
    try:
        coroutine.send(None)
    except StopIteration as finished:
        result: RunState = finished.value
        return result
    coroutine.close()
    raise RuntimeError("a serial run without coroutine vertices suspended")


def run_blocking(plan: Plan, inputs: Mapping[str, Any], options: RunOptions) -> RunState:
    """``execute`` for a synchronous caller, starting an event loop only when needed."""
    if options.backend == "serial" and not plan.has_async:
        return _drive(execute(plan, inputs, options))
    return anyio.run(
        functools.partial(execute, plan, inputs, options), backend=options.anyio_backend
    )
