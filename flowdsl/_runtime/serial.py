"""The serial backend: one vertex at a time, in the plan's deterministic order.

Coroutine vertices are awaited in turn, and a sync vertex with a timeout runs
on a worker thread (the only way to stop waiting for it). When every step is
a plain sync call, the run completes without an event loop (see
``executor.run_blocking``).
"""

from __future__ import annotations

import time

from .caching import run_invokers
from .calls import call_step
from .plan import CallMode
from .state import MISSING, RunState

__all__ = ["run_serial"]


async def run_serial(state: RunState) -> None:
    """Run every step of ``state.plan`` in order, recording outcomes in ``state``."""
    values = state.values
    durations = state.durations
    completed = state.completed
    modes = state.plan.call_modes("serial")
    checked = run_invokers(state)
    inline = CallMode.INLINE  # a local: enum attribute lookups are slow on the hot path
    keep_going = state.options.on_error == "continue"
    # Inline calls never yield to the event loop, whose timer would enforce the
    # run's deadline, so the serial loop checks the clock itself between steps.
    timeout = state.options.timeout
    deadline = None if timeout is None else time.perf_counter() + timeout
    watched = deadline is not None or state.cancellable
    # dead[i]: step i failed or was skipped, so its dependents are skipped.
    dead = [False] * len(state.plan.steps)
    any_dead = False
    clock = time.perf_counter
    # One clock read per step: each step's time runs from the end of the last one.
    last = clock()
    for step in state.plan.steps:
        position = step.position
        if watched and state.must_stop(deadline, last):
            return
        if any_dead and any(dead[u] for u in step.upstream):
            dead[position] = True
            state.skipped.append(position)
            continue
        try:
            if modes[position] is inline:
                fetch = step.fetch
                invoke = checked[position]
                if invoke is not None:
                    output = invoke(values)
                elif fetch is None:
                    output = step.invoke(values)
                elif step.unary:
                    output = step.function(fetch(values))
                else:
                    output = step.function(*fetch(values))
            else:
                state.running.add(position)
                output, _ = await call_step(
                    step, modes[position], values, checked[position], None, None
                )
                state.running.discard(position)
        except Exception as exc:
            state.running.discard(position)
            now = clock()
            durations[position] = now - last
            last = now
            state.errors[position] = exc
            if not keep_going:
                state.failed_fast = True
                return
            dead[position] = any_dead = True
            continue
        now = clock()
        durations[position] = now - last
        last = now
        values[position] = output
        completed.append(position)
        if step.release:
            for slot in step.release:
                values[slot] = MISSING
    if watched:
        state.must_stop(deadline, clock())
