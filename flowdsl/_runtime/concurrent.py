"""The thread and async backends: dependency-driven scheduling on an anyio task group.

A step starts the moment its last input exists; there is no barrier between
stages. All bookkeeping happens on the event loop's thread (worker threads
only run user functions), so it needs no locks. Ready steps that run inline
(sync glue under the async backend) are called straight away from a ready
queue instead of becoming tasks, so a chain of them costs about what the
serial loop costs.
"""

from __future__ import annotations

import time
from collections import deque

import anyio

from .calls import call_step, gather
from .plan import CallMode
from .state import MISSING, RunState

__all__ = ["DEFAULT_MAX_WORKERS", "run_concurrent"]

#: Worker threads per run when ``max_workers`` is not given (anyio's own default).
DEFAULT_MAX_WORKERS = 40


async def run_concurrent(state: RunState) -> None:
    """Run ``state.plan`` with every ready step started as soon as it is ready."""
    plan = state.plan
    steps = plan.steps
    values = state.values
    options = state.options
    modes = plan.call_modes(options.backend)
    keep_going = options.on_error == "continue"
    waiting = [len(step.upstream) for step in steps]
    dead = [False] * len(steps)
    readers_left = list(plan.reader_counts) if plan.reader_counts is not None else None
    thread_limiter = anyio.CapacityLimiter(options.max_workers or DEFAULT_MAX_WORKERS)
    task_limiter = (
        anyio.CapacityLimiter(options.max_concurrency) if options.max_concurrency else None
    )
    ready = deque(i for i, count in enumerate(waiting) if count == 0)

    async with anyio.create_task_group() as group:

        def settle(position: int) -> None:
            # ``position`` is done (completed, failed or skipped): wake its
            # dependents and release inputs nobody will read again.
            for child in steps[position].downstream:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
            if readers_left is not None:
                for parent in steps[position].upstream:
                    readers_left[parent] -= 1
                    if readers_left[parent] == 0:
                        values[parent] = MISSING

        def fail(position: int, error: BaseException) -> None:
            state.errors[position] = error
            if keep_going:
                dead[position] = True
            else:
                state.failed_fast = True
                group.cancel_scope.cancel()

        def succeed(position: int, output: object, duration: float) -> None:
            state.durations[position] = duration
            values[position] = output
            state.completed.append(position)

        def drain() -> None:
            while ready and not state.failed_fast:
                position = ready.popleft()
                step = steps[position]
                if any(dead[u] for u in step.upstream):
                    dead[position] = True
                    state.skipped.append(position)
                    settle(position)
                    continue
                if modes[position] is not CallMode.INLINE:
                    group.start_soon(run_task, position)
                    continue
                start = time.perf_counter()
                try:
                    args, kwargs = gather(step, values)
                    output = step.function(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - recorded as the vertex's failure
                    state.durations[position] = time.perf_counter() - start
                    fail(position, exc)
                else:
                    succeed(position, output, time.perf_counter() - start)
                settle(position)

        async def run_task(position: int) -> None:
            # Left in ``running`` when cancelled: the partial result shows it in flight.
            state.running.add(position)
            try:
                output, duration = await call_step(
                    steps[position], modes[position], values, thread_limiter, task_limiter
                )
            except Exception as exc:  # noqa: BLE001 - recorded as the vertex's failure
                state.running.discard(position)
                fail(position, exc)
            else:
                state.running.discard(position)
                succeed(position, output, duration)
            settle(position)
            drain()

        drain()
