"""Lineage: walk an output back to the flow inputs through every vertex and binding."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._location import SourceLocation
from ._model.graph import Binding, Graph
from ._runtime.plan import parse_output_name
from ._runtime.state import MISSING

if TYPE_CHECKING:
    from ._result import RunResult

__all__ = ["Lineage", "Trace", "TraceEdge", "TraceStep"]


@attrs.frozen
class TraceEdge:
    """One binding on the way: ``parameter`` received ``source`` (a vertex ref or an input),
    or a constant given by ``bind=`` (``is_constant``; ``source`` is then ``"constant"``).

    ``value`` is what it received when the result still holds it, else ``MISSING``
    (``has_value`` tells which).

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> trace = flowdsl.Flow.from_functions(double).run({"x": 3}).lineage.trace("double")
        >>> edge = trace.steps[0].edges[0]
        >>> edge.parameter, edge.source, edge.is_input, edge.value
        ('x', 'x', True, 3)
    """

    parameter: str
    source: str
    is_input: bool
    value: Any = attrs.field(default=MISSING, repr=False)
    is_constant: bool = False

    @property
    def has_value(self) -> bool:
        """Whether the value is known (it is released when not requested)."""
        return self.value is not MISSING


@attrs.frozen
class TraceStep:
    """One vertex on the way, its state in the run, and what each parameter received.

    ``reason`` says why a skipped vertex was skipped; ``iterations`` and
    ``fallback`` tell how often a loop ran and which fallback stood in
    (``None`` where they do not apply). A conditional vertex has an edge
    ``"when"`` for its condition; a loop's ``Previous()`` parameter an edge
    whose source is the vertex itself.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> trace = flowdsl.Flow.from_functions(double).run({"x": 3}).lineage.trace("double")
        >>> step = trace.steps[0]
        >>> step.vertex, step.state, len(step.edges)
        ('double', 'completed', 1)
    """

    vertex: str
    state: str
    location: SourceLocation
    edges: tuple[TraceEdge, ...]
    reason: str | None = None
    iterations: int | None = None
    fallback: str | None = None


@attrs.frozen
class Trace:
    """Everything an output came from, upstream vertices first, the output's vertex last.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> trace = flowdsl.Flow.from_functions(double).run({"x": 3}).lineage.trace("double")
        >>> trace.vertices, trace.inputs
        (('double',), ('x',))
    """

    output: str
    steps: tuple[TraceStep, ...]

    @property
    def vertices(self) -> tuple[str, ...]:
        """The vertices on the way, in topological order."""
        return tuple(step.vertex for step in self.steps)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The flow inputs reached, each once."""
        return tuple(dict.fromkeys(e.source for s in self.steps for e in s.edges if e.is_input))

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def __str__(self) -> str:
        lines = [f"lineage of {self.output!r}:"]
        for step in reversed(self.steps):
            notes = [
                note
                for note in (
                    step.reason,
                    None if step.iterations is None else f"{step.iterations} iterations",
                    None if step.fallback is None else f"fallback {step.fallback} used",
                )
                if note is not None
            ]
            detail = f": {'; '.join(notes)}" if notes else ""
            lines.append(f"  {step.vertex} [{step.state}] ({step.location}){detail}")
            for edge in step.edges:
                origin = f"input {edge.source!r}" if edge.is_input else repr(edge.source)
                if edge.is_constant:
                    origin = "constant"
                shown = f" = {edge.value!r:.60}" if edge.has_value else ""
                lines.append(f"    {edge.parameter} <- {origin}{shown}")
        return "\n".join(lines)


class Lineage:
    """Traces outputs of one run back to its inputs.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> @vertex
        ... def inc(double: int) -> int:
        ...     return double + 1
        >>> result = flowdsl.Flow.from_functions(double, inc).run({"x": 2})
        >>> result.lineage.trace("inc").vertices
        ('double', 'inc')
    """

    def __init__(self, graph: Graph, result: RunResult, inputs: Mapping[str, Any]) -> None:
        self._graph = graph
        self._result = result
        self._inputs = inputs

    def trace(self, output: str) -> Trace:
        """The vertices and bindings ``output`` (``"u"`` or ``"u.field"``) came from."""
        vertex, _ = parse_output_name(self._graph, output)
        needed = self._graph.upstream_closure([vertex])
        states = self._result.states
        metrics = self._result.metrics.vertices
        reasons = self._result.skip_reasons
        steps = []
        for name in self._graph.order:
            if name not in needed:
                continue
            node = self._graph.vertices[name]
            bindings = node.bindings if node.condition is None else (*node.bindings, node.condition)
            edges = tuple(_edge(b, self._inputs, self._result) for b in bindings)
            state = states[name].value if name in states else "not planned"
            measured = metrics.get(name)
            steps.append(
                TraceStep(
                    name,
                    state,
                    node.location,
                    edges,
                    reason=reasons.get(name),
                    iterations=None if measured is None else measured.iterations,
                    fallback=None if measured is None else measured.fallback,
                )
            )
        return Trace(output, tuple(steps))


def _edge(binding: Binding, inputs: Mapping[str, Any], result: RunResult) -> TraceEdge:
    if binding.is_input:
        return TraceEdge(binding.parameter, binding.ref, True, _input_value(inputs, binding))
    if binding.is_constant:
        return TraceEdge(binding.parameter, "constant", False, binding.constant, is_constant=True)
    if binding.previous:  # each iteration's value differs: none is shown
        return TraceEdge(binding.parameter, binding.source, False)
    return TraceEdge(binding.parameter, binding.ref, False, _held(result, binding.ref))


def _held(result: RunResult, ref: str) -> Any:
    try:
        return result.value_of(ref)
    except KeyError:
        return MISSING


def _input_value(given: Mapping[str, Any], binding: Binding) -> Any:
    # An input not given reached this parameter as the parameter's own default.
    if binding.source in given:
        return given[binding.source]
    return binding.default if binding.has_default else MISSING
