"""The serial backend: one vertex at a time, in the plan's deterministic order.

Coroutine vertices are awaited in turn. When the plan has none, the whole
run completes without an event loop (see ``executor.run_blocking``).
"""

from __future__ import annotations

import time

from .state import MISSING, RunState, resolution_error

__all__ = ["run_serial"]


async def run_serial(state: RunState) -> None:
    """Run every step of ``state.plan`` in order, recording outcomes in ``state``."""
    values = state.values
    durations = state.durations
    completed = state.completed
    keep_going = state.options.on_error == "continue"
    # dead[i]: step i failed or was skipped, so its dependents are skipped.
    dead = [False] * len(state.plan.steps)
    any_dead = False
    clock = time.perf_counter
    for step in state.plan.steps:
        position = step.position
        if any_dead and any(dead[u] for u in step.upstream):
            dead[position] = True
            state.skipped.append(position)
            continue
        start = clock()
        try:
            try:
                args = [values[s] if r is None else r(values[s]) for s, r in step.args]
                kwargs = {k: values[s] if r is None else r(values[s]) for k, s, r in step.kwargs}
            except Exception as exc:
                raise resolution_error(step, values, exc) from exc
            output = step.function(*args, **kwargs)
            if step.is_async:
                output = await output
        except Exception as exc:
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
