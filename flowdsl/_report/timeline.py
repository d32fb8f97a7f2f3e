"""A run's timeline: each vertex call on the lane it ran on, and the critical path.

Built after the run from what the schedulers recorded in its state (see
``RunState``: ``began``, ``starts``, ``lanes``, ``placed``, ``attempt_log``),
so that the run itself only stores a few numbers per step. The serial loop
stores none: its steps follow each other, each starting where the last one
ended, so their starts are the running sum of their durations.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .._runtime.state import RunState

__all__ = ["Span", "Timeline", "timeline_of"]


@attrs.frozen
class Span:
    """One call of a vertex (an attempt, or a fallback), or its cache hit, on the lane
    (thread or event loop) it ran on. Times are seconds since the run began.

    ``outcome`` is ``"completed"``, ``"failed"``, ``"retried"`` (failed, and the
    vertex was called again) or ``"cache hit"``; ``waited`` is how long the call
    waited for a worker thread just before ``start``; ``fallback`` names the
    fallback function this call was, if it was one.

    Examples:
        >>> from flowdsl import Span
        >>> span = Span("load", 1, 0.5, 0.75, "worker 1", "completed")
        >>> span.duration
        0.25
    """

    vertex: str
    attempt: int
    start: float
    end: float
    lane: str
    outcome: str
    waited: float = 0.0
    fallback: str | None = None

    @property
    def duration(self) -> float:
        """``end - start``."""
        return self.end - self.start


def _read_only(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping))


@attrs.frozen
class Timeline:
    """What ran when and where in one run (``result.timeline``).

    ``spans`` are ordered by start; ``lanes`` lists the lanes in the order they
    are drawn: the run's own thread (its event loop, or the caller's thread)
    first, then each worker thread as it was first used. ``skips`` maps each
    skipped vertex to when it was skipped. ``critical_path`` is the chain of
    dependencies whose calls took longest, ``critical_length`` the sum of their
    durations: no scheduler can finish the run sooner than that, so
    ``makespan`` (the run's wall time) against it shows what scheduling cost.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> timeline = flowdsl.Flow.from_functions(double).run({"x": 1}).timeline
        >>> [span.vertex for span in timeline.spans], timeline.critical_path
        (['double'], ('double',))
    """

    spans: tuple[Span, ...]
    lanes: tuple[str, ...]
    skips: Mapping[str, float] = attrs.field(converter=_read_only)
    makespan: float
    critical_path: tuple[str, ...]
    critical_length: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data, ready for ``json.dumps``."""
        return {
            "makespan": self.makespan,
            "critical_path": list(self.critical_path),
            "critical_length": self.critical_length,
            "lanes": list(self.lanes),
            "skips": dict(self.skips),
            "spans": [attrs.asdict(span) for span in self.spans],
        }


class _Lanes:
    """Names thread ids as lanes: the run's own thread, then ``worker 1``, ``worker 2``..."""

    def __init__(self, state: RunState) -> None:
        self.home = state.home
        home = "event loop" if state.on_loop else "caller thread"
        self.names: dict[int, str] = {state.home: home}

    def __call__(self, thread: int) -> str:
        name = self.names.get(thread or self.home)
        if name is None:
            name = self.names[thread] = f"worker {len(self.names)}"
        return name


def _step_times(state: RunState) -> dict[int, tuple[float, float]]:
    # Each step that ran (completed or failed): its start and end, on the run's clock.
    durations = state.durations
    ran = sorted({*state.completed, *state.errors})
    if state.starts is not None:
        # A step with no start never began (a Dask task cancelled on the cluster).
        starts = state.starts
        return {p: (starts[p], starts[p] + durations[p]) for p in ran if starts[p]}
    # The serial loop: each step starts where the one before it ended.
    times: dict[int, tuple[float, float]] = {}
    cursor = state.began
    for position in ran:
        end = cursor + durations[position]
        times[position] = (cursor, end)
        cursor = end
    return times


def timeline_of(state: RunState) -> Timeline:
    """The timeline of the finished run ``state`` (see ``Timeline``)."""
    steps, began = state.plan.steps, state.began
    lanes = _Lanes(state)
    times = _step_times(state)
    logged: dict[int, list[list[Any]]] = {}
    for entry in sorted(
        (e for e in state.attempt_log if e[2] is not None), key=lambda e: float(e[2])
    ):
        logged.setdefault(entry[0], []).append(entry)
    # Calls by start, so that lanes are numbered in the order threads were first used.
    calls: list[tuple[float, int, list[Any] | None]] = []
    for position, (start, _) in times.items():
        if position in logged:
            calls.extend((entry[2], position, entry) for entry in logged[position])
        else:
            calls.append((state.placed.get(position, (0, start))[1], position, None))
    calls.sort(key=lambda call: call[0])
    spans = [
        _logged(state, lanes, entry) if entry is not None else _step_span(state, lanes, p, times[p])
        for _, p, entry in calls
    ]
    path, length = _critical_path(state, times)
    return Timeline(
        spans=tuple(spans),
        lanes=tuple(lanes.names.values()),
        skips={steps[p].name: when - began for p, when in state.skip_times.items()},
        makespan=state.total,
        critical_path=tuple(steps[p].name for p in path),
        critical_length=length,
    )


def _logged(state: RunState, lanes: _Lanes, entry: list[Any]) -> Span:
    # One call of a step with a runner, from the attempt log.
    position, attempt, start, end, thread, error, fallback, retried = entry
    outcome = "completed" if error is None else "retried" if retried else "failed"
    name, began = state.plan.steps[position].name, state.began
    return Span(name, attempt, start - began, end - began, lanes(thread), outcome, 0.0, fallback)


def _step_span(state: RunState, lanes: _Lanes, position: int, times: tuple[float, float]) -> Span:
    # A step called once (or a cache hit), from its recorded start and duration.
    start, end = times
    name, began = state.plan.steps[position].name, state.began
    hit = state.cache_outcomes.get(position) == "hit"
    outcome = "cache hit" if hit else "failed" if position in state.errors else "completed"
    placed = state.placed.get(position)
    if placed is not None:  # called on a worker thread, after waiting for one
        thread, really = placed
        return Span(name, 1, really - began, end - began, lanes(thread), outcome, really - start)
    waited = state.waits.get(position, 0.0)
    thread = state.lanes.get(position, 0)
    attempt = 0 if hit else 1
    return Span(name, attempt, start - began, end - began, lanes(thread), outcome, waited)


def _critical_path(
    state: RunState, times: Mapping[int, tuple[float, float]]
) -> tuple[list[int], float]:
    # The heaviest chain of dependencies among the steps that ran, weighted by
    # their durations (steps are in topological order, so one pass finds it).
    durations, steps = state.durations, state.plan.steps
    best: dict[int, tuple[float, int]] = {}
    for position in sorted(times):
        before = [(best[p][0], p) for p in steps[position].after if p in best]
        length, parent = max(before) if before else (0.0, -1)
        best[position] = (length + durations[position], parent)
    if not best:
        return [], 0.0
    position = max(best, key=lambda p: best[p][0])
    total = best[position][0]
    path: list[int] = []
    while position >= 0:
        path.append(position)
        position = best[position][1]
    return path[::-1], total
