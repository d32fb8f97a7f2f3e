"""How the runs of one plan call each step, decided once per configuration.

A ``Plan`` depends only on the selection of vertices; how a run calls each
step depends on the run's options too: the backend (where each function
runs), the run's default retry policy (which steps need a runner), the
contracts mode (which invokers check values) and, under the concurrent
backends, whether coroutines are limited. ``call_plan`` builds an immutable
``CallPlan`` for each such configuration on first use and keeps it with the
plan, so that a warm run only looks it up. It also answers, once, what the
run needs: an event loop, or only worker threads.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from .._gc import collector_paused
from .._model.graph import VertexNode
from .._policies import RetryPolicy
from .calls import awaited_directly
from .checking import Invoker, PlanChecks
from .plan import CallMode, Plan, call_mode

if TYPE_CHECKING:
    from .._options import Settings

__all__ = ["CallPlan", "SchedulerTables", "call_plan", "needs_runner", "retry_policy"]


def retry_policy(node: VertexNode, run_retry: RetryPolicy | None) -> RetryPolicy | None:
    """The retry policy ``node`` follows (its own, else the run's), or None when it never
    retries."""
    own = node.options.retry
    policy = own if own is not None else run_retry
    return policy if policy is not None and policy.max_retries > 0 else None


def needs_runner(node: VertexNode, run_retry: RetryPolicy | None) -> bool:
    """Whether a step of ``node`` is more than one plain call in a run with this default
    retry policy."""
    options = node.options
    return bool(
        options.group is not None
        or options.fallbacks
        or options.map_over is not None
        or options.until is not None
        or options.max_concurrency is not None
        or options.rate_limit is not None
        or retry_policy(node, run_retry) is not None
    )


@attrs.frozen(eq=False)
class SchedulerTables:
    """Per step, how the concurrent scheduler dispatches it (``concurrent._Scheduler``)."""

    #: May continue a worker's chain: a sync thread step on the fast path,
    #: without a deadline of its own (a deadline needs the loop to stop waiting).
    chainable: tuple[bool, ...]
    #: A coroutine step the scheduler awaits itself, one coroutine frame fewer.
    awaited: tuple[bool, ...]
    #: The step fused after it, or -1 (see ``_Scheduler.run_steps``).
    fused: tuple[int, ...]
    #: How many steps it waits for, and the steps that wait for none.
    waiting: tuple[int, ...]
    sources: tuple[int, ...]


@attrs.frozen(eq=False)
class CallPlan:
    """How a run under one configuration calls each step of its plan (see the module)."""

    #: Where each step's function runs.
    modes: tuple[CallMode, ...]
    #: The steps' contract checks: what the fast path compares, and the invokers.
    checks: PlanChecks
    #: Whether each step always goes through its runner (retries, fallbacks, map,
    #: loop, limits, atomic group: ``control.StepRunner``).
    via_runner: tuple[bool, ...]
    #: Whether each step is off the schedulers' fast path: it has a runner, or a
    #: condition to look at before it runs.
    off_fast_path: tuple[bool, ...]
    #: Whether every step is a plain sync call for a worker thread (thread backend):
    #: a synchronous caller's thread then waits for the workers, no loop started.
    workers_alone: bool
    #: Whether a run (with no deadline and no coroutine listener) must start an
    #: event loop: it awaits, waits on a timer, or calls on worker threads that
    #: the loop waits for.
    needs_event_loop: bool
    #: The concurrent scheduler's tables (None for the serial and Dask backends).
    tables: SchedulerTables | None

    @property
    def invokers(self) -> tuple[Invoker | None, ...]:
        """Each step's invoker that checks its contracts, or None (``Step.invoke`` will do)."""
        return self.checks.invokers


#: Per plan, its call plans by (backend, run retry policy, contracts mode, coroutines limited).
_CallPlanKey = tuple[str, "RetryPolicy | None", str, bool]
_call_plans: weakref.WeakKeyDictionary[Plan, dict[_CallPlanKey, CallPlan]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def call_plan(plan: Plan, options: Settings) -> CallPlan:
    """The call plan of ``plan`` under ``options`` (built on first use, then kept)."""
    backend = options.backend
    limited = backend in ("thread", "async") and bool(options.max_concurrency)
    key = (backend, options.retry, options.contracts, limited)
    known = _call_plans.get(plan)
    found = None if known is None else known.get(key)
    if found is None:
        with collector_paused():
            found = _build(plan, backend, options.retry, options.contracts, limited)
        with _lock:
            _call_plans.setdefault(plan, {})[key] = found
    return found


def _build(
    plan: Plan, backend: str, run_retry: RetryPolicy | None, contracts: str, limited: bool
) -> CallPlan:
    nodes = plan.nodes
    modes: tuple[CallMode, ...] = ()
    via_runner: tuple[bool, ...] = ()
    off_fast_path: tuple[bool, ...] = ()
    if plan.common_options is not None:  # every step is called alike (plain ``@vertex``)
        runner = needs_runner(nodes[0], run_retry)
        modes = (call_mode(False, nodes[0], backend),) * len(nodes)
        via_runner = off_fast_path = (runner,) * len(nodes)
    else:
        modes, via_runner, off_fast_path = _rows(nodes, backend, run_retry)
    workers_alone = backend == "thread" and all(
        mode is CallMode.THREAD and node.options.timeout is None and not off
        for mode, node, off in zip(modes, nodes, off_fast_path, strict=True)
    )
    # A runner may wait (retries, rate limits) and a condition may route a step
    # to one, so either needs the loop's timer; plain inline calls do not.
    loop_or_workers = (
        backend != "serial" or modes.count(CallMode.INLINE) != len(modes) or any(off_fast_path)
    )
    return CallPlan(
        modes=modes,
        checks=PlanChecks(plan, contracts),
        via_runner=via_runner,
        off_fast_path=off_fast_path,
        workers_alone=workers_alone,
        needs_event_loop=loop_or_workers and not workers_alone,
        tables=_tables(plan, modes, off_fast_path, limited)
        if backend in ("thread", "async")
        else None,
    )


def _rows(
    nodes: Sequence[VertexNode], backend: str, run_retry: RetryPolicy | None
) -> tuple[tuple[CallMode, ...], tuple[bool, ...], tuple[bool, ...]]:
    # Per step: its mode, via_runner and off_fast_path. Where a sync call runs and
    # whether a step needs a runner depend only on the vertex's options, which most
    # vertices share.
    decided: dict[int, tuple[CallMode, bool, bool]] = {}
    rows: list[tuple[CallMode, bool, bool]] = []
    append = rows.append
    for node in nodes:
        row = decided.get(id(node.options))
        if row is None:
            runner = needs_runner(node, run_retry)
            row = decided[id(node.options)] = (call_mode(False, node, backend), runner, runner)
        if node.is_async or node.condition is not None:
            mode = CallMode.AWAIT if node.is_async else row[0]
            row = (mode, row[1], row[1] or node.condition is not None)
        append(row)
    if not rows:
        return (), (), ()
    modes, via_runner, off_fast_path = zip(*rows, strict=True)
    return modes, via_runner, off_fast_path


def _tables(
    plan: Plan, modes: tuple[CallMode, ...], off_fast_path: tuple[bool, ...], limited: bool
) -> SchedulerTables:
    chainable = tuple(
        mode is CallMode.THREAD and step.node.options.timeout is None and not off
        for mode, step, off in zip(modes, plan.steps, off_fast_path, strict=True)
    )
    return SchedulerTables(
        chainable=chainable,
        awaited=tuple(
            awaited_directly(step, mode, limited)
            for step, mode in zip(plan.steps, modes, strict=True)
        ),
        fused=_fused(plan, modes, off_fast_path, chainable),
        waiting=tuple(len(step.after) for step in plan.steps),
        sources=tuple(step.position for step in plan.steps if not step.after),
    )


def _fused(
    plan: Plan,
    modes: tuple[CallMode, ...],
    off_fast_path: tuple[bool, ...],
    chainable: tuple[bool, ...],
) -> tuple[int, ...]:
    # Step s is fused after step p when s is p's only dependent, waits for
    # nothing but p, and runs where p runs: inline on the loop, or on a worker.
    inline = tuple(
        mode is CallMode.INLINE and not off for mode, off in zip(modes, off_fast_path, strict=True)
    )
    fused = [-1] * len(plan.steps)
    for step in plan.steps:
        if len(step.downstream) != 1:
            continue
        (child,) = step.downstream
        if plan.steps[child].after != (step.position,):
            continue
        p = step.position
        if (inline[p] and inline[child]) or (chainable[p] and chainable[child]):
            fused[p] = child
    return tuple(fused)
