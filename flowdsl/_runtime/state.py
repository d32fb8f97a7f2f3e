"""The mutable state of one run, and the checks made before anything runs."""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._checks import CheckOutcome
from .._lazy import lazy_module
from .._mapping import ElementIndex
from .._model.graph import NO_DEFAULT
from .._options import Settings
from .._suggest import did_you_mean
from ..errors import MissingAndUnknownInputError, MissingInputError, UnknownInputError
from .call_plan import CallPlan, call_plan
from .checking import check_given_output
from .emitter import Emitter
from .plan import Plan
from .workers import WorkerBudget

if TYPE_CHECKING:
    import anyio

    from .._services.cache import CacheStore
    from .checkpointing import Checkpoint
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = ["MISSING", "ElementRunner", "RunState", "new_run_id"]

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


#: Each plan's slots as a run starts: the None slot and the ``bind=`` constants
#: set, the rest missing. Built once per plan: a run copies it, rather than
#: setting a flow of expanded vertices' constants one by one every time.
_STARTING: weakref.WeakKeyDictionary[Plan, list[Any]] = weakref.WeakKeyDictionary()


def _starting_values(plan: Plan) -> list[Any]:
    found = _STARTING.get(plan)
    if found is None:
        found = [MISSING] * plan.slot_count
        found[plan.none_slot] = None
        for slot, value in plan.constants:
            found[slot] = value
        _STARTING[plan] = found
    return found


def new_run_id() -> str:
    """A new random run id: 32 hex digits."""
    # As random as ``uuid.uuid4().hex``, without importing ``uuid`` (about 1 ms,
    # most of a small flow's first run).
    return os.urandom(16).hex()


class RunState:
    """Values, timings and outcomes of one run, indexed like the plan's steps."""

    __slots__ = (
        "announces_checks",
        "attempt_log",
        "attempts",
        "began",
        "cache_outcomes",
        "cache_store",
        "call_plan",
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
        options: Settings,
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
        # How this run calls each step (kept with the plan, per configuration).
        self.call_plan: CallPlan = call_plan(plan, options)
        self.run_id = run_id or new_run_id()
        # Where completed outputs are written as they complete (None: nowhere),
        # and the given outputs that were restored from it (not overrides).
        self.checkpoint = checkpoint
        self.restored = frozenset(restored)
        listeners = tuple(listeners)
        # Who hears about the run as it goes (None: nobody, and nothing is sent).
        emitter = Emitter(listeners, self.run_id) if listeners else None
        self.emitter = emitter if emitter is not None and emitter.listening else None
        self.values: list[Any] = _starting_values(plan).copy()
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
        self.durations = [0.0] * len(plan.nodes)
        # Where and when things ran, for the run's timeline (``_report.timeline``),
        # kept off the serial loop's fast path: ``began`` is the schedulers'
        # clock (``time.perf_counter``) when the run began and ``home`` the
        # thread the run's own steps ran on (its event loop's, or the caller's
        # when ``on_loop`` is false: ``run_blocking`` runs a plan of inline
        # calls, or of sync calls the caller's thread waits for the workers to
        # make, without a loop). The concurrent schedulers record each
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

    # How a step ended: the one place the schedulers (serial, concurrent, Dask)
    # record it, with its events. Nothing else writes these slots.

    def step_completed(self, position: int, output: Any, duration: float) -> None:
        """Record that step ``position`` returned ``output`` after ``duration`` seconds."""
        self.durations[position] = duration
        self.values[position] = output
        self.completed.append(position)
        if self.emitter is not None:
            self.emitter.vertex_done(
                self.plan.nodes[position].name, self.attempts.get(position, 1), duration, None
            )

    def step_failed(self, position: int, error: Exception, duration: float) -> bool:
        """Record that step ``position`` raised ``error``; return whether the run goes on
        (``on_error="continue"``), else mark it as stopped at this failure."""
        self.durations[position] = duration
        self.errors[position] = error
        if self.emitter is not None:
            self.emitter.vertex_done(
                self.plan.nodes[position].name, self.attempts.get(position, 1), duration, error
            )
        if self.options.on_error == "continue":
            return True
        self.failed_fast = True
        return False

    def step_ended(
        self, position: int, output: Any, duration: float, error: Exception | None
    ) -> Exception | None:
        """Record how step ``position`` ended (``error``: it failed), its output kept in
        the run's checkpoint first; return its failure (None: it completed).

        An output that cannot be kept fails the step. Whether the run goes on
        after a failure: ``failed_fast`` says.
        """
        if error is None and self.checkpoint is not None:
            try:
                self.checkpoint.record(self.plan.nodes[position], output)
            except Exception as exc:  # the output could not be kept: the vertex failed
                error = exc
        if error is None:
            self.step_completed(position, output, duration)
        else:
            self.step_failed(position, error, duration)
        return error

    def step_skipped(self, position: int, reason: str) -> None:
        """Record that step ``position`` was skipped, and why."""
        self.skipped.append(position)
        self.skip_reasons[position] = reason
        self.skip_times[position] = time.perf_counter()
        if self.emitter is not None:
            self.emitter.skipped(self.plan.nodes[position].name, reason)

    def step_undone(self, position: int, error: BaseException | None = None) -> None:
        """Record that an atomic group undid step ``position`` (rolled back, or
        compensated); ``error``: undoing it failed, which is its failure."""
        if position in self.completed:
            self.completed.remove(position)
        self.values[position] = MISSING
        if error is None:
            self.rolled_back.add(position)
        else:
            self.errors[position] = error

    # What a step's calls took, as its runner (control.py) counts them.

    def count_attempts(self, position: int, count: int = 1) -> int:
        """Count ``count`` more calls of step ``position``; return how many it made."""
        attempts = self.attempts
        made = attempts[position] = attempts.get(position, 0) + count
        return made

    def log_attempt(self, position: int, fallback: str | None) -> list[Any]:
        """A new entry of ``attempt_log`` for a call of step ``position`` (or of its
        ``fallback``), for the caller to fill in as the call runs."""
        entry = [position, self.attempts.get(position, 0), None, None, 0, None, fallback, False]
        self.attempt_log.append(entry)
        return entry

    def cache_outcome(self, position: int, outcome: str) -> None:
        """A call of step ``position`` was a cache "hit", "miss", or "uncacheable"; of a
        step called many times (mapped, looped) the worst outcome stays."""
        current = self.cache_outcomes.get(position)
        if current is None or _CACHE_RANK[outcome] > _CACHE_RANK[current]:
            self.cache_outcomes[position] = outcome

    def checks_made(self, position: int, outcomes: list[CheckOutcome]) -> None:
        """What the checks of a call of step ``position`` found (see ``check_log.py``)."""
        kept = self.check_outcomes.get(position)
        if kept is None:
            self.check_outcomes[position] = outcomes
        else:
            kept.extend(outcomes)

    def waited_for_stop(self, position: int, waited: float) -> None:
        """Step ``position``, a member of an atomic group stopped on a worker thread,
        returned ``waited`` seconds after it was stopped (see ``calls.Holder``)."""
        self.stop_waits[position] = self.stop_waits.get(position, 0.0) + waited

    def count_iterations(self, position: int, count: int = 1) -> None:
        """Count ``count`` more iterations of step ``position``'s loop."""
        self.iterations[position] = self.iterations.get(position, 0) + count

    def mapped(self, position: int, count: int) -> None:
        """Step ``position`` maps over ``count`` elements (its calls not counted yet)."""
        self.elements[position] = count
        self.attempts.setdefault(position, 0)

    def elements_failed(self, position: int, failures: dict[ElementIndex, BaseException]) -> None:
        """The elements of mapped step ``position`` that failed, by index."""
        self.element_errors[position] = failures

    def fell_back(
        self, position: int, used: str | None, failed: list[tuple[str, BaseException]]
    ) -> None:
        """Fallback ``used`` stood in for step ``position`` (None: every one failed, as
        ``failed`` lists)."""
        if used is None:
            self.fallback_errors[position] = failed
        else:
            self.fallbacks[position] = used

    # A step run on a Dask worker: its worker's run reports what the step took,
    # and the driver's run takes the report in (``remote.py``, ``dask_backend.py``).

    def step_report(self, position: int) -> dict[str, Any]:
        """What step ``position`` took, by ``_REPORTED`` name (those it has)."""
        report: dict[str, Any] = {"attempts": 1}
        for name, slot in _REPORTED:
            kept = getattr(self, slot)
            if position in kept:
                report[name] = kept[position]
        return report

    def take_report(self, position: int, report: Mapping[str, Any]) -> None:
        """Take in what step ``position`` took on its worker (``step_report``'s names)."""
        self.durations[position] = report.get("duration", 0.0)
        for name, slot in _REPORTED:
            if name in report:
                getattr(self, slot)[position] = report[name]

    def given_inputs(self) -> dict[str, Any]:
        """The flow inputs the caller gave (or a resumed run stored) that this run read,
        restored vertices included."""
        names = set(self.plan.input_names)
        for name in self.restored.intersection(name for name, _ in self.plan.overrides):
            node = self.plan.graph.vertices[name]
            bindings = (*node.bindings, *([node.condition] if node.condition else []))
            names.update(b.source for b in bindings if b.is_input)
        return {name: value for name, value in self.inputs.items() if name in names}


#: Of several calls of one step, the cache outcome reported is the worst.
_CACHE_RANK = {"hit": 0, "miss": 1, "uncacheable": 2}

#: What a worker reports of a step: (name in the report, RunState slot).
_REPORTED = (
    ("attempts", "attempts"),
    ("iterations", "iterations"),
    ("elements", "elements"),
    ("fallback", "fallbacks"),
    ("cache", "cache_outcomes"),
    ("waited", "waits"),
    ("fallback_errors", "fallback_errors"),
    ("element_errors", "element_errors"),
)


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
    planned = {node.name for node in plan.nodes}
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
