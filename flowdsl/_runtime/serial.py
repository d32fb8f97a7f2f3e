"""The serial backend: one vertex at a time, in the plan's deterministic order.

Coroutine vertices are awaited in turn, and a sync vertex with a timeout runs
on a worker thread (the only way to stop waiting for it). When every step is
a plain sync call, the run completes without an event loop (see
``executor.run_blocking``).
"""

from __future__ import annotations

import time

from .calls import call_step
from .plan import CallMode
from .state import MISSING, RunState, resolution_error

__all__ = ["run_serial"]


async def run_serial(state: RunState) -> None:
    """Run every step of ``state.plan`` in order, recording outcomes in ``state``."""
    values = state.values
    durations = state.durations
    completed = state.completed
    modes = state.plan.call_modes("serial")
    keep_going = state.options.on_error == "continue"
    # Inline calls never yield to the event loop, whose timer would enforce the
    # run's deadline, so the serial loop checks the clock itself between steps.
    timeout = state.options.timeout
    deadline = None if timeout is None else time.perf_counter() + timeout
    # dead[i]: step i failed or was skipped, so its dependents are skipped.
    dead = [False] * len(state.plan.steps)
    any_dead = False
    clock = time.perf_counter
    for step in state.plan.steps:
        position = step.position
        if deadline is not None and time.perf_counter() >= deadline:
            state.timed_out = True
            return
        if any_dead and any(dead[u] for u in step.upstream):
            dead[position] = True
            state.skipped.append(position)
            continue
        start = clock()
        try:
            if modes[position] is CallMode.INLINE:
                try:
                    args = [values[s] if r is None else r(values[s]) for s, r in step.args]
                    kwargs = (
                        {k: values[s] if r is None else r(values[s]) for k, s, r in step.kwargs}
                        if step.kwargs
                        else None
                    )
                except Exception as exc:
                    raise resolution_error(step, values, exc) from exc
                output = step.function(*args, **kwargs) if kwargs else step.function(*args)
            else:
                state.running.add(position)
                output, _ = await call_step(step, modes[position], values, None, None)
                state.running.discard(position)
        except Exception as exc:
            state.running.discard(position)
            durations[position] = clock() - start
            state.errors[position] = exc
            if not keep_going:
                state.failed_fast = True
                return
            dead[position] = any_dead = True
            continue
        durations[position] = clock() - start
        values[position] = output
        completed.append(position)
        for slot in step.release:
            values[slot] = MISSING
    if deadline is not None and time.perf_counter() >= deadline:
        state.timed_out = True
