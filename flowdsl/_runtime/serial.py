"""The serial backend: one vertex at a time, in the plan's deterministic order.

Coroutine vertices are awaited in turn, and a sync vertex with a timeout runs
on a worker thread (the only way to stop waiting for it). When every step is
a plain sync call, the run completes without an event loop (see
``executor.run_blocking``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .calls import CallPlacement, call_step
from .checking import NO_KEYWORDS, Invoker
from .control import StepRunners
from .exacts import THROUGH_INVOKER
from .plan import CallMode, Step
from .preconditions import Preconditions, StartDecision
from .state import MISSING, RunState

__all__ = ["run_serial"]

RUN, DEFAULTS, SKIP, FAIL = (
    StartDecision.RUN,
    StartDecision.DEFAULTS,
    StartDecision.SKIP,
    StartDecision.FAIL,
)


async def run_serial(state: RunState) -> None:
    """Run every step of ``state.plan`` in order, recording outcomes in ``state``."""
    calls = StepRunners(state, CallPlacement(state.waits, state.placed))
    values = state.values
    # Where ``state.step_completed`` writes, written here directly while nobody
    # listens: a call per step would cost the warm loop a sixth of its time.
    durations, completed = state.durations, state.completed
    plan = state.call_plan
    modes, via_runner, off_fast_path = plan.modes, plan.via_runner, plan.off_fast_path
    # Contract checks: the exact-type tests of the steps on the fast path are made
    # here (``PlanChecks.exacts``), the rest through their invokers, built as met.
    # With a cache, the pure steps go through the run's invokers (lookups first),
    # which are all built: a tuple's own lookup finds them quickest.
    checks = plan.checks
    through_invoker = THROUGH_INVOKER
    invoker: Callable[[int], Invoker | None]
    if calls.cached:
        exacts, invoker = checks.exacts_with_cache, calls.invokers.__getitem__
    else:
        exacts, invoker = checks.exacts, calls.invoker
    events = state.emitter
    checkpoint = state.checkpoint
    if (events is not None and events.vertex_events) or checkpoint is not None:
        # Every step off the fast path, which neither sends events nor records.
        off_fast_path = (True,) * len(off_fast_path)
    preconditions = Preconditions(state)
    inline = CallMode.INLINE  # a local: enum attribute lookups are slow on the hot path
    # Inline calls never yield to the event loop, whose timer would enforce the
    # run's deadline, so the serial loop checks the clock itself between steps.
    timeout = state.options.timeout
    deadline = None if timeout is None else time.perf_counter() + timeout
    watched = deadline is not None or state.cancellable
    clock = time.perf_counter
    # One clock read per step: each step's time runs from the end of the last one
    # (which is also how the run's timeline placement them: ``_report.timeline``).
    last = state.began = clock()
    # The plan's columns: the steps off the fast path only are built (``Plan.steps``).
    planned = state.plan
    releases = planned.releases
    try:
        for position, node, fetch, unary in zip(
            range(len(modes)), planned.nodes, planned.fetches, planned.unary, strict=True
        ):
            if watched and state.must_stop(deadline, last):
                return
            try:
                if off_fast_path[position] or preconditions.any_missing:
                    # Off the fast path: a failure or skip so far, a condition, or a runner.
                    step = planned.step(position)
                    decision = preconditions.decide(step)
                    if decision is SKIP:
                        continue
                    if decision is FAIL:
                        raise preconditions.error  # type: ignore[misc]
                    if via_runner[position] or decision is DEFAULTS:
                        state.running.add(position)
                        output = await calls.runner(position).run(values, decision is DEFAULTS)
                        state.running.discard(position)
                    else:
                        if events is not None:
                            events.vertex_started(step.name, 1)
                        if modes[position] is inline:
                            output = (invoker(position) or step.invoke)(values)
                        else:
                            output = await _call(
                                step, modes[position], values, invoker(position), calls
                            )
                    if checkpoint is not None:
                        checkpoint.record(step.node, output)
                elif modes[position] is inline:
                    exact = exacts[position]
                    if exact is None:
                        if fetch is None:  # no arguments, or some by keyword or a field read
                            output = planned.step(position).invoke(values)
                        elif unary:  # ``fetch`` is its argument's slot (``Plan.fetches``)
                            output = node.function(values[fetch])  # type: ignore[index]
                        else:
                            output = node.function(*fetch(values))  # type: ignore[operator]
                    elif exact is through_invoker:
                        output = (invoker(position) or planned.step(position).invoke)(values)
                    else:
                        # What the step's invoker (``checking._unary_invoker``,
                        # ``_tuple_invoker``) does, without a call of it. A step
                        # with exact types has a ``fetch`` (``PlanChecks.exacts``).
                        argument_exact, result_exact = exact
                        if unary:
                            argument = values[fetch]  # type: ignore[index]
                            if argument_exact is not None and type(argument) is not argument_exact:
                                checks.of(planned.step(position)).arguments(
                                    (argument,), NO_KEYWORDS
                                )
                            output = node.function(argument)
                        else:
                            arguments = fetch(values)  # type: ignore[misc,operator]
                            for index, each in argument_exact:
                                if type(arguments[index]) is not each:
                                    checks.of(planned.step(position)).arguments(
                                        arguments, NO_KEYWORDS
                                    )
                                    break
                            output = node.function(*arguments)
                        if result_exact is not None and type(output) is not result_exact:
                            checks.of(planned.step(position)).result(output)
                else:
                    step = planned.step(position)
                    output = await _call(step, modes[position], values, invoker(position), calls)
            except Exception as exc:
                state.running.discard(position)
                now = clock()
                goes_on = state.step_failed(position, exc, now - last)
                last = now
                if not goes_on:
                    return
                preconditions.failed(position)
                continue
            now = clock()
            if events is None:
                durations[position] = now - last
                values[position] = output
                completed.append(position)
            else:
                state.step_completed(position, output, now - last)
            last = now
            if releases is not None:
                for slot in releases[position]:
                    values[slot] = MISSING
        if watched:
            state.must_stop(deadline, clock())
    finally:
        await calls.abandon_open_groups()


async def _call(
    step: Step, mode: CallMode, values: list[Any], invoke: Invoker | None, calls: StepRunners
) -> Any:
    # A step that is awaited, or sent to a worker thread (it has a timeout).
    running = calls.state.running
    running.add(step.position)
    output = await call_step(step, mode, values, invoke, calls.placement)
    running.discard(step.position)
    return output
