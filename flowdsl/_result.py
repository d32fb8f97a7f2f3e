"""``RunResult``: a read-only mapping of qualified output names to values, with the run's story."""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._checks import CheckOutcome
from ._mapping import ElementIndex
from ._runtime.fields import field_reader
from ._runtime.state import MISSING, RunState
from ._suggest import did_you_mean

# A result's metrics, timeline, lineage and DataFrame are built when they are
# read, and their modules imported then: a run that reads only values needs none.
if TYPE_CHECKING:
    from pathlib import Path

    from ._lineage import Lineage
    from ._metrics import RunMetrics
    from ._report.timeline import Timeline

__all__ = ["RunResult", "VertexState"]


class VertexState(str, enum.Enum):
    """Where a vertex ended up in a run; a ``str`` enum.

    - ``pending``: never started (the run stopped first);
    - ``running``: in flight when a cancelled or timed-out run stopped;
    - ``completed``: ran, and its output is in the result;
    - ``failed``: raised (``result.errors`` has what), or, in an atomic group,
      what it did could not be undone (its compensation or the rollback
      raised: the run raises ``RollbackFailed``);
    - ``skipped``: not run: its condition was false, or something it needs
      failed or was skipped (as the members after a failed one in an atomic
      group);
    - ``overridden``: not run, its output was given (``run(overrides=...)``);
    - ``restored``: not run, its output was loaded from the run's checkpoint;
    - ``rolled_back``: ran in an atomic group that failed or was stopped, and
      what it did was undone (its output is not in the result).

    Examples:
        >>> from flowdsl import VertexState
        >>> VertexState.COMPLETED == "completed", str(VertexState.SKIPPED)
        (True, 'skipped')
    """

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    OVERRIDDEN = "overridden"
    RESTORED = "restored"
    ROLLED_BACK = "rolled_back"

    def __str__(self) -> str:
        return self.value


class RunResult(Mapping[str, Any]):
    """The outputs of one run, by qualified name (``"save"``, ``"fetch_user.id"``).

    Without ``outputs=`` every completed vertex's output is there, and each
    field of a structured output; with ``outputs=``, exactly the requested
    names (a flow input's name holds the input's value). ``"u.key"`` also
    reads a key of a plain ``dict`` output.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> result = flowdsl.Flow.from_functions(double).run({"x": 21})
        >>> result["double"], str(result.states["double"])
        (42, 'completed')
    """

    def __init__(self, state: RunState) -> None:
        self._state = state
        self._graph = state.plan.graph

    @property
    def run_id(self) -> str:
        """A unique id of this run (hex)."""
        return self._state.run_id

    @cached_property
    def _position(self) -> dict[str, int]:
        # Each vertex's slot: a step's own, or an overridden vertex's given value;
        # and the slot of each flow input asked for in ``outputs=``.
        plan = self._state.plan
        return {
            **{node.name: position for position, node in enumerate(plan.nodes)},
            **dict(plan.overrides),
            **{fill.name: fill.slot for fill in plan.input_outputs},
        }

    @cached_property
    def _done(self) -> frozenset[int]:
        plan = self._state.plan
        given = [slot for _, slot in plan.overrides] + [fill.slot for fill in plan.input_outputs]
        return frozenset(self._state.completed) | frozenset(given)

    @cached_property
    def _keys(self) -> tuple[str, ...]:
        requested = self._state.plan.outputs
        if requested is not None:
            return tuple(dict.fromkeys(requested))
        plan = self._state.plan
        nodes = [name for name, _ in plan.overrides] + [
            plan.nodes[position].name for position in self._state.completed
        ]
        keys: list[str] = []
        for name in nodes:
            keys.append(name)
            keys.extend(f"{name}.{field}" for field in self._graph.vertices[name].field_names)
        return tuple(keys)

    def value_of(self, name: str) -> Any:
        """The value of ``"u"`` or ``"u.field"`` while the run still holds it; ``KeyError`` if not.

        Unlike ``result[name]`` this also reads intermediate outputs that were
        not requested, as long as they were not released.
        """
        vertex, _, field = name.partition(".")
        position = self._position.get(vertex)
        if position is None or position not in self._done:
            raise KeyError(name)
        value = self._state.values[position]
        if value is MISSING:
            raise KeyError(name)
        if not field:
            return value
        node = self._graph.vertices.get(vertex)
        if node is None:  # a flow input: returned whole
            raise KeyError(name)
        access = next((f.access for f in node.fields or () if f.name == field), "lookup")
        try:
            return field_reader(access, field)(value)
        except (LookupError, AttributeError, TypeError):
            raise KeyError(name) from None

    def __getitem__(self, name: str) -> Any:
        if self._state.plan.outputs is not None and name not in self._keys:
            raise KeyError(
                f"{name!r} was not requested; this run kept only: {', '.join(self._keys)}"
            )
        try:
            return self.value_of(name)
        except KeyError:
            hint = did_you_mean(name, self._keys)
            raise KeyError(f"no output {name!r} in this run{hint}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    @cached_property
    def states(self) -> Mapping[str, VertexState]:
        """Each planned vertex to its state, in topological order.

        ``running`` appears only in the partial result of a run stopped by
        cancellation or its timeout: the vertex was in flight at that moment.
        """
        steps = self._state.plan.nodes
        planned = dict.fromkeys((s.name for s in steps), VertexState.PENDING)
        restored = self._state.restored
        planned.update(
            (n, VertexState.RESTORED if n in restored else VertexState.OVERRIDDEN)
            for n, _ in self._state.plan.overrides
        )
        states = {name: planned[name] for name in self._graph.order if name in planned}
        for position in self._state.running:
            states[steps[position].name] = VertexState.RUNNING
        for position in self._state.completed:
            states[steps[position].name] = VertexState.COMPLETED
        for position in self._state.skipped:
            states[steps[position].name] = VertexState.SKIPPED
        for position in self._state.errors:
            states[steps[position].name] = VertexState.FAILED
        for position in self._state.rolled_back:
            states[steps[position].name] = VertexState.ROLLED_BACK
        return MappingProxyType(states)

    @cached_property
    def order(self) -> tuple[str, ...]:
        """Vertex names in the order they completed."""
        steps = self._state.plan.nodes
        return tuple(steps[position].name for position in self._state.completed)

    @cached_property
    def errors(self) -> Mapping[str, BaseException]:
        """Each failed vertex to the exception it raised."""
        steps = self._state.plan.nodes
        return MappingProxyType(
            {steps[position].name: exc for position, exc in self._state.errors.items()}
        )

    @cached_property
    def skip_reasons(self) -> Mapping[str, str]:
        """Each skipped vertex to why: its condition was false, or what it needed was missing."""
        steps = self._state.plan.nodes
        return MappingProxyType(
            {steps[p].name: reason for p, reason in self._state.skip_reasons.items()}
        )

    @cached_property
    def element_errors(self) -> Mapping[str, Mapping[ElementIndex, BaseException]]:
        """Each failed mapped vertex to its failed elements: index to exception (a tuple
        of indices for ``map_over=product(...)``)."""
        steps = self._state.plan.nodes
        return MappingProxyType(
            {
                steps[p].name: MappingProxyType(dict(errors))
                for p, errors in self._state.element_errors.items()
            }
        )

    @cached_property
    def checks(self) -> Mapping[str, tuple[CheckOutcome, ...]]:
        """Each vertex whose ``Check``s ran to their outcomes, call by call, in topological order.

        Only the checks on a parameter's or the return value's own annotation
        are listed (a mapped or looping vertex has one set per call); a cache
        hit runs none. ``[o for v in result.checks.values() for o in v if o.warned]``
        are the warn-checks that did not hold.
        """
        steps = self._state.plan.nodes
        found = {steps[p].name: tuple(o) for p, o in self._state.check_outcomes.items()}
        return MappingProxyType({name: found[name] for name in self._graph.order if name in found})

    @cached_property
    def inputs(self) -> Mapping[str, Any]:
        """The flow inputs the caller gave that this run read (defaults are not listed)."""
        return MappingProxyType(self._state.given_inputs())

    @cached_property
    def metrics(self) -> RunMetrics:
        """Per-vertex wall time, attempts, cache use, iterations, elements and fallback used;
        and the run's total time."""
        from ._metrics import RunMetrics, VertexMetrics

        state = self._state
        steps = state.plan.nodes
        # Also the atomic group members that ran and were undone.
        ran = dict.fromkeys(
            [*state.completed, *state.errors, *sorted(state.rolled_back), *state.stop_waits]
        )
        outcomes = state.cache_outcomes
        restored = {
            name: VertexMetrics(0.0, attempts=0, restored=True)
            for name, _ in state.plan.overrides
            if name in state.restored
        }
        return RunMetrics(
            vertices=restored
            | {
                steps[p].name: VertexMetrics(
                    state.durations[p],
                    attempts=state.attempts.get(p, 0 if outcomes.get(p) == "hit" else 1),
                    cache=outcomes.get(p),
                    iterations=state.iterations.get(p),
                    elements=state.elements.get(p),
                    fallback=state.fallbacks.get(p),
                    waited=state.waits.get(p, 0.0),
                    stop_wait=state.stop_waits.get(p, 0.0),
                )
                for p in ran
            },
            total=self._state.total,
            started_at=self._state.started_at,
            backend=self._state.options.backend,
        )

    def to_dict(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        """The outputs as a plain ``dict`` of name to value (all of them, or ``names``).

        Examples:
            >>> import flowdsl
            >>> from flowdsl import vertex
            >>> @vertex
            ... def double(x: int) -> int:
            ...     return 2 * x
            >>> flowdsl.Flow.from_functions(double).run({"x": 2}).to_dict()
            {'double': 4}
        """
        return {name: self[name] for name in (self if names is None else names)}

    def to_frame(self, names: Iterable[str] | None = None) -> Any:
        """The outputs that are columns or scalars as one pandas DataFrame (needs pandas).

        ``names`` picks and orders the outputs (default: all of this result's).
        A pandas Series is a column, aligned on its index; a polars Series, a
        one-dimensional array, a list or a tuple is a column by position; a
        scalar is repeated down its column; a DataFrame output gives one column
        per column of its own, named ``"output.column"``. Any other output is a
        ``TypeError`` naming it; columns of different lengths are a ``ValueError``.

        Examples:
            >>> import flowdsl, pandas as pd
            >>> from flowdsl import vertex
            >>> @vertex
            ... def spend(days: int) -> pd.Series:
            ...     return pd.Series([10.0 * d for d in range(days)])
            >>> @vertex
            ... def total(spend: pd.Series) -> float:
            ...     return float(spend.sum())
            >>> flowdsl.Flow.from_functions(spend, total).run({"days": 3}).to_frame()
               spend  total
            0    0.0   30.0
            1   10.0   30.0
            2   20.0   30.0
        """
        from ._frame_result import to_frame

        return to_frame(self, self if names is None else names)

    @cached_property
    def timeline(self) -> Timeline:
        """What ran when and where: each call on its thread or event loop, the skips,
        and the critical path against the run's wall time (see ``Timeline``)."""
        from ._report.timeline import timeline_of

        return timeline_of(self._state)

    @cached_property
    def lineage(self) -> Lineage:
        """Where each output came from: ``result.lineage.trace("save")``."""
        from ._lineage import Lineage

        return Lineage(self._graph, self, self.inputs)

    def report(self, path: str | os.PathLike[str]) -> Path:
        """Write an HTML report of this run to ``path`` and return the path.

        One self-contained file that opens offline in any browser: the graph
        colored by state, a timeline with a bar per call on the thread or event
        loop it ran on (waits, retries, cache hits, skips), the critical path
        against the run's wall time, and each vertex's details on hover or
        click. The file is written whole or not at all.

        Examples:
            >>> import flowdsl, pathlib, tempfile
            >>> from flowdsl import vertex
            >>> @vertex
            ... def double(x: int) -> int:
            ...     return 2 * x
            >>> result = flowdsl.Flow.from_functions(double).run({"x": 2})
            >>> path = result.report(pathlib.Path(tempfile.mkdtemp()) / "run.html")
            >>> path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
            True
        """
        from ._report.page import write_report

        return write_report(self, path)

    def _repr_html_(self) -> str:
        # Jupyter's rich display: states and timings, and the graph colored by state.
        from ._report.notebook import result_html

        return result_html(self)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for state in self.states.values():
            counts[state.value] = counts.get(state.value, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        return f"<RunResult {self.run_id[:8]}: {summary}>"
