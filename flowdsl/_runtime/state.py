"""The mutable state of one run, and the checks made before anything runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._checks import CheckOutcome
from .._lazy import lazy_module
from .._mapping import ElementIndex
from .._model.graph import NO_DEFAULT
from .._services.cache import CacheStore
from .._suggest import did_you_mean
from ..errors import MissingAndUnknownInputError, MissingInputError, UnknownInputError
from .checking import check_given_output
from .checkpointing import Checkpoint
from .emitter import Emitter
from .options import RunOptions
from .plan import Plan
from .workers import WorkerBudget

if TYPE_CHECKING:
    import anyio
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = ["MISSING", "ElementRunner", "RunState"]

#: Runs one element of a mapped step: (its runner, args, kwargs) -> its output.
ElementRunner = Callable[[Any, list[Any], dict[str, Any]], Awaitable[Any]]


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"

    def __reduce__(self) -> str:
        # Unpickled (from a Dask worker) as the one MISSING, so ``is MISSING`` holds.
        return "MISSING"


#: A slot with no value: not computed yet, skipped, or released.
MISSING: Any = _Missing()


class SharedWorkers:
    """The worker threads that the runs of one sweep share: ``max_workers`` in all."""

    def __init__(self, size: int) -> None:
        self.budget = WorkerBudget(size)
        self.limiter = anyio.CapacityLimiter(size)


class RunState:
    """Values, timings and outcomes of one run, indexed like the plan's steps."""

    __slots__ = (
        "announces_checks",
        "attempt_log",
        "attempts",
        "began",
        "cache_outcomes",
        "cache_store",
        "cancel_requested",
        "cancellable",
        "cancelled",
        "check_outcomes",
        "checkpoint",
        "completed",
        "dask_client",
        "durations",
        "element_errors",
        "element_runner",
        "elements",
        "emitter",
        "errors",
        "failed_fast",
        "fallback_errors",
        "fallbacks",
        "home",
        "inputs",
        "iterations",
        "lanes",
        "loop_free",
        "on_loop",
        "options",
        "overrides",
        "placed",
        "plan",
        "restored",
        "rolled_back",
        "run_id",
        "running",
        "shared_workers",
        "skip_reasons",
        "skip_times",
        "skipped",
        "started_at",
        "starts",
        "stop_waits",
        "timed_out",
        "total",
        "values",
        "waits",
    )

    def __init__(
        self,
        plan: Plan,
        inputs: Mapping[str, Any],
        options: RunOptions,
        overrides: Mapping[str, Any] | None = None,
        listeners: Iterable[object] = (),
        run_id: str | None = None,
        checkpoint: Checkpoint | None = None,
        restored: Iterable[str] = (),
        dask_client: Any = None,
    ) -> None:
        check_inputs(plan, inputs)
        self.plan = plan
        self.inputs = inputs
        self.options = options
        self.run_id = run_id or uuid.uuid4().hex
        # Where completed outputs are written as they complete (None: nowhere),
        # and the given outputs that were restored from it (not overrides).
        self.checkpoint = checkpoint
        self.restored = frozenset(restored)
        listeners = tuple(listeners)
        # Who hears about the run as it goes (None: nobody, and nothing is sent).
        emitter = Emitter(listeners, self.run_id) if listeners else None
        self.emitter = emitter if emitter is not None and emitter.listening else None
        self.values: list[Any] = [MISSING] * plan.slot_count
        self.values[plan.none_slot] = None
        # Outputs given for vertices that are not run (``run(overrides=...)``).
        self.overrides = overrides or {}
        for name, slot in plan.overrides:
            node = plan.graph.vertices[name]
            check_given_output(node, self.overrides[name], options.contracts)
            self.values[slot] = self.overrides[name]
        for fill in plan.fills:
            self.values[fill.slot] = inputs.get(fill.name, fill.default)
        for fill in plan.input_outputs:
            self.values[fill.slot] = inputs.get(fill.name, fill.default)
        for slot, value in plan.constants:
            self.values[slot] = value
        self.durations = [0.0] * len(plan.steps)
        # Where and when things ran, for the run's timeline (``_report.timeline``),
        # kept off the serial loop's fast path: ``began`` is the schedulers'
        # clock (``time.perf_counter``) when the run began and ``home`` the
        # thread the run's own steps ran on (its event loop's, or the caller's
        # when ``on_loop`` is false). The concurrent schedulers record each
        # step's ``starts`` and, by thread id, ``lanes``; the serial loop records
        # neither (its steps follow each other: each starts where the last
        # ended). ``placed``: steps called on a worker thread through
        # ``calls.call_placed``, to (thread id, when the call began there).
        # ``attempt_log``: the calls of steps with a runner, each
        # [position, attempt, start, end, thread id, error, fallback name, retried].
        self.began = 0.0
        self.home = 0
        self.on_loop = True
        self.starts: list[float] | None = None
        self.lanes: dict[int, int] = {}
        self.placed: dict[int, tuple[int, float]] = {}
        self.attempt_log: list[list[Any]] = []
        self.skip_times: dict[int, float] = {}
        # Per step, seconds its calls waited for a worker thread.
        self.waits: dict[int, float] = {}
        self.completed: list[int] = []
        self.errors: dict[int, BaseException] = {}
        self.skipped: list[int] = []
        # Why each skipped step was skipped (a condition, a failure upstream).
        self.skip_reasons: dict[int, str] = {}
        # For steps called through the resilience runner (control.py): calls
        # made (retries included), loop iterations, mapped elements, the
        # fallback that stood in (or those that failed too), and per-element
        # failures of a mapped step.
        self.attempts: dict[int, int] = {}
        self.iterations: dict[int, int] = {}
        self.elements: dict[int, int] = {}
        self.fallbacks: dict[int, str] = {}
        self.fallback_errors: dict[int, list[tuple[str, BaseException]]] = {}
        self.element_errors: dict[int, dict[ElementIndex, BaseException]] = {}
        # Per step, what its checks found on each call (see check_log.py);
        # False on a Dask worker, whose driver announces failed warn-checks.
        self.check_outcomes: dict[int, list[CheckOutcome]] = {}
        self.announces_checks = True
        # Vertices of a failed atomic group that were undone, and per member
        # stopped on a worker thread, the seconds the group waited for it to
        # return before undoing (see ``calls.Holder``).
        self.rolled_back: set[int] = set()
        self.stop_waits: dict[int, float] = {}
        # The run's cache store (opened by the executor) and, per pure step,
        # "hit", "miss" or "uncacheable".
        self.cache_store: CacheStore | None = None
        self.cache_outcomes: dict[int, str] = {}
        # Steps whose call is in flight (what a cancelled or timed-out run was doing).
        self.running: set[int] = set()
        # Set when on_error="raise" stopped the run at a failure.
        self.failed_fast = False
        # Set when the run's own timeout expired.
        self.timed_out = False
        # A run that a handle may cancel from another thread: the schedulers
        # then look at ``cancel_requested`` between inline steps, which never
        # yield to the event loop, and set ``cancelled`` when they stop for it.
        self.cancellable = False
        self.cancel_requested = False
        self.cancelled = False
        self.started_at = time.time()
        self.total = 0.0
        # backend="dask": the client the caller gave (None: by address, or a
        # cluster of the run's own); on a worker, how a mapped step's
        # elements run as Dask tasks of their own (None: in the runner).
        self.dask_client = dask_client
        self.element_runner: ElementRunner | None = None
        # Set by a synchronous caller whose thread run needs no event loop
        # (``concurrent.runs_on_workers_alone``): its thread waits for the workers.
        self.loop_free = False
        # The worker threads of the sweep this run is part of (None: the run's own).
        self.shared_workers: SharedWorkers | None = None

    def must_stop(self, deadline: float | None, now: float) -> bool:
        """Whether a cancel request or the deadline says to stop now (and record which)."""
        if self.cancel_requested:
            self.cancelled = True
            return True
        if deadline is not None and now >= deadline:
            self.timed_out = True
            return True
        return False

    def skip(self, position: int, reason: str) -> None:
        """Record that ``position`` was skipped, and why."""
        self.skipped.append(position)
        self.skip_reasons[position] = reason
        self.skip_times[position] = time.perf_counter()
        if self.emitter is not None:
            self.emitter.skipped(self.plan.steps[position].name, reason)

    def given_inputs(self) -> dict[str, Any]:
        """The flow inputs the caller gave (or a resumed run stored) that this run read,
        restored vertices included."""
        names = set(self.plan.input_names)
        for name in self.restored.intersection(name for name, _ in self.plan.overrides):
            node = self.plan.graph.vertices[name]
            bindings = (*node.bindings, *([node.condition] if node.condition else []))
            names.update(b.source for b in bindings if b.is_input)
        return {name: value for name, value in self.inputs.items() if name in names}


def check_inputs(plan: Plan, inputs: Mapping[str, Any]) -> None:
    """Report unknown input names and every missing required input together, before anything runs.

    Raises:
        MissingInputError: required inputs are missing (each named, with who reads it).
        UnknownInputError: names that are not flow inputs were given (each with
            its "did you mean").
        MissingAndUnknownInputError: both at once, in one error that is an
            instance of both.
    """
    graph = plan.graph
    unknown = [name for name in inputs if name not in graph.inputs]
    missing = [name for name in plan.required_inputs if name not in inputs]
    if not unknown and not missing:
        return
    parts = []
    if unknown:
        hints = ", ".join(_with_hint(name, graph.inputs) for name in unknown)
        known = ", ".join(graph.inputs) or "none"
        count = f"{len(unknown)} unknown input{'s' if len(unknown) > 1 else ''}"
        parts.append(f"{count}: {hints} (the flow inputs are: {known})")
    if missing:
        parts.append(_missing_message(plan, missing))
    message = "\n".join(parts)
    if not missing:
        raise UnknownInputError(message, unknown=unknown)
    if not unknown:
        raise MissingInputError(message, missing=missing)
    raise MissingAndUnknownInputError(message, missing=missing, unknown=unknown)


def _with_hint(name: str, known: Iterable[str]) -> str:
    hint = did_you_mean(name, known)
    return f"{name!r} ({hint.removeprefix('; ')})" if hint else repr(name)


def _missing_message(plan: Plan, missing: list[str]) -> str:
    graph = plan.graph
    planned = {step.name for step in plan.steps}
    requested = set(plan.outputs or ())
    lines = []
    for name in missing:
        consumers = graph.inputs[name].consumers
        readers = [
            f"{c.vertex}.{c.parameter} ({graph.vertices[c.vertex].location})"
            for c in consumers
            if c.vertex in planned and c.default is NO_DEFAULT
        ]
        uses = [f"read by {', '.join(readers)}"] if readers else []
        if name in requested:
            defaults = any(c.default is not NO_DEFAULT for c in consumers)
            why = "its readers' defaults differ" if defaults else "it has no default"
            uses.append(f"asked for in outputs= ({why})")
        hint = did_you_mean(name, graph.vertices)
        if hint:
            hint = f"{hint[:-1]} (a parameter named after a vertex reads its output)"
        lines.append(f"  - {name!r}, {' and '.join(uses)}{hint}")
    count = f"{len(missing)} required input{'s' if len(missing) > 1 else ''}"
    return f"missing {count}:\n" + "\n".join(lines)
