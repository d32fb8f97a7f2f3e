"""Sweeps (``Flow.map``): the runs of one flow over several input sets, at once on one
event loop, sharing the sweep's worker threads (and, on Dask, one client)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._lazy import lazy_module
from .executor import alone_in, execute
from .state import RunState

if TYPE_CHECKING:
    import anyio
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = ["run_all"]


async def run_all(states: Sequence[RunState], stop_at_failure: bool) -> int | None:
    """Run ``states`` concurrently; return the index of the first to fail, or None.

    With ``stop_at_failure``, the first run to fail (a vertex, or its
    deadline) cancels the others still running.
    """
    first: list[int] = []
    try:
        if states and states[0].options.backend == "dask" and states[0].dask_client is None:
            # One client (and local cluster, when no address is set) for the whole sweep.
            from .dask_backend import client_for

            async with client_for(states[0]) as client:
                for state in states:
                    state.dask_client = client
                await _run_all(states, stop_at_failure, first)
        else:
            await _run_all(states, stop_at_failure, first)
    except BaseException as error:
        # What one run raised (not a vertex's failure: those are recorded),
        # plain rather than in the task group's exception group.
        plain = alone_in(error)
        if plain is error:
            raise
        raise plain from None
    finally:
        # A run cancelled before it started never reached its own cleanup.
        for state in states:
            if state.checkpoint is not None:
                state.checkpoint.close()
    return first[0] if first else None


async def _run_all(states: Sequence[RunState], stop_at_failure: bool, first: list[int]) -> None:
    async with anyio.create_task_group() as group:

        async def one(index: int) -> None:
            state = states[index]
            await execute(state)
            if stop_at_failure and (state.failed_fast or state.timed_out) and not first:
                first.append(index)
                group.cancel_scope.cancel()

        for index in range(len(states)):
            group.start_soon(one, index)
