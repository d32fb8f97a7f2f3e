"""What a Dask worker runs: one vertex, through the same machinery as a local run.

The dask backend (``dask_backend.py``) makes each planned step one Dask task,
``run_packed(job, *values)`` (the job packed as bytes). ``job.step`` is the
step renumbered so that it reads its ``i``-th parameter from ``values[i]``
(then its condition, if it has one): its dependencies, as Dask resolved them
on this worker. The task
decides what a local scheduler's preconditions decide (a producer skipped, its own
``when=``), then runs the step in a one-step serial run here, so that
contracts, the cache, retries, fallbacks, loops and timeouts behave exactly as
they do locally. It returns

- the step's output;
- ``MISSING`` when the step is skipped, which the driver recognizes by the
  result's type without fetching it;
- or raises the vertex's own exception: Dask hands it to the driver and runs
  no dependent.

What the result cannot say (attempts, time, why it skipped, retries as they
happen) goes to the driver as Dask events on the run's topic, sent before the
task ends. A mapped step's task submits one task per element
(``run_element``) and collects their outputs, out of the worker's thread pool
while it waits.
"""

from __future__ import annotations

import functools
import pickle
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

import anyio
import anyio.to_thread
import attrs

from .._checks import CheckOutcome
from .._events import Listener, VertexRetrying
from .._options import Settings
from .check_log import keep
from .executor import run_blocking
from .plan import Step, argument_fetcher, one_step_plan
from .preconditions import condition_skips, needs_skipped
from .state import MISSING, RunState

__all__ = [
    "PICKLED",
    "ElementOutcome",
    "Job",
    "local_step",
    "run_element",
    "run_packed",
    "run_step",
]


@attrs.frozen(eq=False)
class Job:
    """One step as a Dask task: the step (see ``local_step``) and the run it belongs to."""

    step: Step
    position: int  # in the driver's plan: how reports name the step
    options: Settings  # for the one-step serial run on the worker
    run_id: str
    topic: str  # the Dask event topic the driver listens to
    # The vertices after= names that the task reads (after the step's own
    # values), by name: a skipped one is named in the step's skip reason.
    after: tuple[str, ...] = ()

    def packed(self) -> bytes:
        """The job as cloudpickle bytes, for ``run_packed``."""
        import cloudpickle

        return bytes(cloudpickle.dumps(attrs.astuple(self, recurse=False)))


def _unpacked(data: bytes) -> Job:
    import cloudpickle

    return Job(*cloudpickle.loads(data))


@attrs.frozen(eq=False)
class ElementOutcome:
    """One mapped element's output or exception, and what its calls took."""

    value: Any
    error: BaseException | None
    attempts: int
    iterations: int
    fallback: str | None
    checks: list[CheckOutcome]


def local_step(step: Step) -> Step:
    """``step`` renumbered to read its ``i``-th parameter from slot ``i`` (positional
    ones, then keyword-only ones), its condition from the slot after them; the
    ``None`` slot comes last. Its producers are the slots that read a vertex."""
    positional = len(step.args)
    args = tuple((i, reader) for i, (_, reader) in enumerate(step.args))
    kwargs = tuple(
        (name, positional + j, reader) for j, (name, _, reader) in enumerate(step.kwargs)
    )
    count = len(step.sources)
    reading = tuple(i for i, binding in enumerate(step.sources) if binding.reads_vertex)
    return step.replace(
        position=0,
        args=args,
        kwargs=kwargs,
        upstream=reading,
        downstream=(),
        release=(),
        fetch=argument_fetcher(args, kwargs),
        condition=None if step.condition is None else (count, step.condition[1]),
        needs=tuple(i for i in reading if not step.sources[i].has_default),
        after=(),
    )


def _plain(step: Step, defaulted: frozenset[int]) -> Step:
    # ``step`` reading the whole slot for the parameters in ``defaulted``
    # (they hold a default, not an output to read a field of).
    args = tuple((i, None if i in defaulted else r) for i, r in step.args)
    kwargs = tuple((k, i, None if i in defaulted else r) for k, i, r in step.kwargs)
    return step.replace(args=args, kwargs=kwargs, fetch=argument_fetcher(args, kwargs))


def _skip_reason(
    step: Step, values: tuple[Any, ...], after: Iterable[tuple[str, Any]]
) -> str | None:
    # The local preconditions' decision, from the values at hand: a parameter without
    # a default reads a skipped step, so does a vertex after= names (by name,
    # with its value), or the step's own condition says no.
    for i in step.needs:
        if values[i] is MISSING:
            return needs_skipped(step.sources[i].source)
    for name, value in after:
        if value is MISSING:
            return needs_skipped(name)
    if step.condition is not None:
        return condition_skips(step, values[step.condition[0]])
    return None


def run_packed(data: bytes, *values: Any) -> Any:
    """The Dask task of one step (see the module docstring); ``data`` is its packed job.

    Jobs travel as bytes made by cloudpickle, which sends user code by value
    (see ``dask_backend``): Dask would try the standard pickle first, which
    names modules the workers may not have, and the scheduler, which unpacks
    nothing, needs none of them.
    """
    return run_step(_unpacked(data), *values, packed=data)


def run_step(job: Job, *values: Any, packed: bytes = b"") -> Any:
    """One step of ``job`` on the values it reads; ``packed`` is the job as bytes
    (a mapped step sends it along with each element)."""
    start = time.perf_counter()
    # When and where it began, for the run's timeline (the driver's clock is not
    # this process's: the wall clock is common to both).
    report: dict[str, Any] = {
        "kind": "done",
        "step": job.position,
        "began": time.time(),
        "thread": threading.get_ident(),
    }
    try:
        step = job.step
        # After the values it reads come those of the vertices after= names
        # (Dask dependencies, for the order): a skipped one skips this step.
        reads = len(step.sources) + (step.condition is not None)
        values, required = values[:reads], values[reads:]
        reason = _skip_reason(step, values, zip(job.after, required, strict=True))
        if reason is not None:
            report["skip"] = reason
            return MISSING
        slots = [*values, None]
        defaulted = frozenset(i for i in step.upstream if values[i] is MISSING)
        if defaulted:
            # A producer skipped by its condition: its readers take their defaults.
            for i in defaulted:
                slots[i] = step.sources[i].default
            step = _plain(step, defaulted)
        if step.map_indices is None:
            return _run_one(job, step, slots, report)
        import distributed

        with distributed.worker_client() as client:
            elements = functools.partial(_element, client, packed or job.packed())
            return _run_one(job, step, slots, report, elements)
    finally:
        report.setdefault("duration", time.perf_counter() - start)
        _send(job.topic, report)


def run_element(data: bytes, args: list[Any], kwargs: dict[str, Any]) -> ElementOutcome:
    """The Dask task of one element of a mapped step (``data``: its packed job): the
    element's loop, retries and fallbacks."""
    job = _unpacked(data)
    step = job.step
    count = len(step.sources)
    element = _plain(step, frozenset(range(count))).replace(
        condition=None,
        map_indices=None,
        upstream=(),
        needs=(),
    )
    report: dict[str, Any] = {}
    try:
        value = _run_one(job, element, [*args, *kwargs.values(), None], report)
        error = None
    except Exception as exc:  # handed to the mapped step, which records it per element
        value, error = None, exc
    return ElementOutcome(
        value,
        error,
        report.get("attempts", 1),
        report.get("iterations", 0),
        report.get("fallback"),
        pickle.loads(report["checks"]) if "checks" in report else [],
    )


async def _element(
    client: Any, data: bytes, runner: Any, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    # One element as a task of its own, within the vertex's concurrency
    # limit and rate (held here, where the elements start).
    if runner.limiter is None:
        outcome = await _submitted(client, data, runner, args, kwargs)
    else:
        async with runner.limiter:
            outcome = await _submitted(client, data, runner, args, kwargs)
    state = runner.state
    state.count_attempts(0, outcome.attempts)
    if outcome.iterations:
        state.count_iterations(0, outcome.iterations)
    if outcome.fallback is not None:
        state.fell_back(0, outcome.fallback, [])
    if outcome.checks:
        keep(state, 0, outcome.checks)
    if outcome.error is not None:
        raise outcome.error
    return outcome.value


async def _submitted(
    client: Any, data: bytes, runner: Any, args: list[Any], kwargs: dict[str, Any]
) -> ElementOutcome:
    await runner.wait_turn()
    key = f"{runner.step.name}-element-{uuid.uuid4().hex}"
    future = client.submit(run_element, data, args, kwargs, key=key)
    try:
        outcome: ElementOutcome = await anyio.to_thread.run_sync(
            future.result, abandon_on_cancel=True
        )
    finally:
        if not future.done():  # a sibling failed, or the run stopped
            future.cancel()
    return outcome


class _Forwarder(Listener):
    """Sends a step's retries to the driver as they happen."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def on_retry(self, event: VertexRetrying) -> None:
        _send(
            self.job.topic,
            {
                "kind": "retry",
                "step": self.job.position,
                "attempt": event.attempt,
                "error": _pickled(event.error),
                "delay": event.delay,
            },
        )


def _run_one(
    job: Job,
    step: Step,
    slots: list[Any],
    report: dict[str, Any],
    element_runner: Any = None,
) -> Any:
    # ``step`` in a one-step serial run on this worker; what it took goes to ``report``.
    plan = one_step_plan(step, len(slots))
    # Only a step that may retry has events to forward (a run without
    # listeners keeps the serial loop's fast path).
    may_retry = step.node.options.retry is not None or job.options.retry is not None
    listeners = (_Forwarder(job),) if may_retry else ()
    state = RunState(plan, {}, job.options, listeners=listeners, run_id=job.run_id)
    state.values = slots
    state.element_runner = element_runner
    state.announces_checks = False  # the driver announces them, where the user sees them
    run_blocking(state)
    report.update(state.step_report(0))
    for name in PICKLED:
        if name in report:
            report[name] = _pickled(report[name])
    if 0 in state.check_outcomes:
        report["checks"] = _pickled(state.check_outcomes[0])
    error = state.errors.get(0)
    if error is not None:
        raise error
    return state.values[0]


#: Report entries that hold exceptions, sent pickled.
PICKLED = ("fallback_errors", "element_errors")


def _pickled(value: Any) -> bytes:
    # Exceptions travel in events as bytes (events take msgpack data only).
    try:
        return pickle.dumps(value)
    except Exception as exc:
        return pickle.dumps(RuntimeError(f"{value!r:.200} (could not be pickled: {exc})"))


def _send(topic: str, message: dict[str, Any]) -> None:
    import distributed

    try:
        worker = distributed.get_worker()
    except ValueError:  # not on a worker: nobody to tell
        return
    worker.log_event(topic, message)
