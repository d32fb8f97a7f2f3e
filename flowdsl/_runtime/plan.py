"""A run plan: the graph turned into integer-indexed steps, built once per selection.

The per-vertex hot path only indexes lists: each step knows the slots its
arguments come from (with a field reader where a binding reads one field),
the slot its output goes to, and which slots can be released once it ran.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .._model.graph import Binding, Graph, VertexNode
from .._suggest import did_you_mean
from .._typing import type_name
from ..errors import DataResolutionError
from .fields import FieldReader, field_reader

__all__ = ["CallMode", "Plan", "Step", "build_plan", "parse_output_name"]

ArgSource = tuple[int, "FieldReader | None"]


@attrs.frozen(eq=False)
class Step:
    """One vertex of a plan."""

    position: int
    node: VertexNode
    function: Callable[..., Any]
    is_async: bool
    args: tuple[ArgSource, ...]
    kwargs: tuple[tuple[str, int, FieldReader | None], ...]
    upstream: tuple[int, ...]
    downstream: tuple[int, ...]
    release: tuple[int, ...]
    # Per argument (positional, then keyword): the binding it came from, and
    # the vertices it reads, to explain a failed field read.
    sources: tuple[Binding, ...]
    producers: Mapping[str, VertexNode]

    @property
    def name(self) -> str:
        """The vertex name."""
        return self.node.name


@attrs.frozen(eq=False)
class InputFill:
    """At run start, ``slot`` receives input ``name`` or, when absent, ``default``."""

    slot: int
    name: str
    default: Any
    required: bool


class CallMode(enum.Enum):
    """Where a step's function runs."""

    AWAIT = "await"  # a coroutine function, awaited on the event loop
    INLINE = "inline"  # a sync function called on the scheduler's own thread
    THREAD = "thread"  # a sync function called on a worker thread


def _call_mode(node: VertexNode, backend: str) -> CallMode:
    if node.is_async:
        return CallMode.AWAIT
    # Only a worker thread lets the run stop waiting for a sync call at a deadline.
    if node.timeout is not None or backend == "thread" or (backend == "async" and node.blocking):
        return CallMode.THREAD
    return CallMode.INLINE


@attrs.frozen(eq=False)
class Plan:
    """Steps in deterministic topological order plus what the run must set up."""

    graph: Graph
    steps: tuple[Step, ...]
    fills: tuple[InputFill, ...]
    slot_count: int
    outputs: tuple[str, ...] | None
    has_async: bool
    # For each vertex slot, how many steps read it, when unrequested outputs
    # are released (``outputs=`` given); ``None`` keeps every output.
    reader_counts: tuple[int, ...] | None
    _modes: dict[str, tuple[CallMode, ...]] = attrs.field(factory=dict, repr=False)

    def call_modes(self, backend: str) -> tuple[CallMode, ...]:
        """Per step, where its function runs under ``backend`` (computed once per backend)."""
        modes = self._modes.get(backend)
        if modes is None:
            modes = self._modes[backend] = tuple(_call_mode(s.node, backend) for s in self.steps)
        return modes

    def needs_event_loop(self, backend: str) -> bool:
        """Whether a run must start an event loop (it awaits or uses worker threads)."""
        return backend != "serial" or any(
            m is not CallMode.INLINE for m in self.call_modes(backend)
        )

    @property
    def input_names(self) -> frozenset[str]:
        """The flow inputs this plan reads."""
        return frozenset(fill.name for fill in self.fills)

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """Inputs that must be given, each once, in first-use order."""
        return tuple(dict.fromkeys(fill.name for fill in self.fills if fill.required))


def parse_output_name(graph: Graph, name: str) -> tuple[str, str | None]:
    """Split ``"u"`` / ``"u.field"`` and check that ``u`` is a vertex of ``graph``."""
    vertex, _, field = name.partition(".")
    if vertex not in graph.vertices:
        raise DataResolutionError(
            f"cannot resolve the output {name!r}: no vertex named {vertex!r}"
            f"{did_you_mean(vertex, graph.vertices)}"
        )
    node = graph.vertices[vertex]
    if field and node.fields is not None and field not in node.field_names:
        raise DataResolutionError(
            f"cannot resolve the output {name!r}: {vertex!r} returns "
            f"{type_name(node.returns)}, which has no field {field!r}"
            f"{did_you_mean(field, node.field_names)} (fields: {', '.join(node.field_names)})",
            vertex=vertex,
            location=node.location,
        )
    return vertex, field or None


def _selection(graph: Graph, outputs: Sequence[str] | None, flow: str | None) -> frozenset[str]:
    targets: set[str] = set()
    if outputs is not None:
        targets.update(parse_output_name(graph, name)[0] for name in outputs)
    if flow is not None:
        flows = graph.flows
        if flow not in flows:
            known = ", ".join(sorted(flows)) or "none"
            raise DataResolutionError(
                f"no flow named {flow!r}{did_you_mean(flow, flows)} (flows: {known})"
            )
        targets.update(flows[flow])
    if outputs is None and flow is None:
        return frozenset(graph.order)
    return graph.upstream_closure(targets)


def build_plan(graph: Graph, outputs: Sequence[str] | None = None, flow: str | None = None) -> Plan:
    """Plan the vertices that ``outputs`` and ``flow`` need (all of them when neither is given)."""
    selected = _selection(graph, outputs, flow)
    nodes = [graph.vertices[name] for name in graph.order if name in selected]
    position = {node.name: i for i, node in enumerate(nodes)}
    fills: list[InputFill] = []

    def source(binding: Binding) -> ArgSource:
        if binding.is_input:
            fills.append(
                InputFill(
                    len(nodes) + len(fills),
                    binding.source,
                    binding.default,
                    not binding.has_default,
                )
            )
            return (fills[-1].slot, None)
        reader = None
        if binding.field is not None and binding.access is not None:
            reader = field_reader(binding.access, binding.field)
        return (position[binding.source], reader)

    arg_plans = []
    for node in nodes:
        positional = tuple(source(b) for b in node.bindings if not b.keyword_only)
        keywords = tuple((b.parameter, *source(b)) for b in node.bindings if b.keyword_only)
        arg_plans.append((positional, keywords))

    kept = _kept_vertices(graph, outputs)
    releases = _release_points(nodes, position, kept)
    steps = tuple(
        Step(
            position=i,
            node=node,
            function=node.function,
            is_async=node.is_async,
            args=arg_plans[i][0],
            kwargs=arg_plans[i][1],
            upstream=tuple(position[name] for name in node.upstream),
            downstream=tuple(position[n] for n in graph.downstream[node.name] if n in position),
            release=releases[i],
            sources=tuple(b for b in node.bindings if not b.keyword_only)
            + tuple(b for b in node.bindings if b.keyword_only),
            producers={name: graph.vertices[name] for name in node.upstream},
        )
        for i, node in enumerate(nodes)
    )
    return Plan(
        graph=graph,
        steps=steps,
        fills=tuple(fills),
        slot_count=len(nodes) + len(fills),
        outputs=None if outputs is None else tuple(outputs),
        has_async=any(node.is_async for node in nodes),
        reader_counts=None if kept is None else _reader_counts(nodes, position, kept),
    )


def _kept_vertices(graph: Graph, outputs: Sequence[str] | None) -> frozenset[str] | None:
    if outputs is None:
        return None
    return frozenset(parse_output_name(graph, name)[0] for name in outputs)


def _reader_counts(
    nodes: Sequence[VertexNode], position: Mapping[str, int], kept: frozenset[str]
) -> tuple[int, ...]:
    """How many steps read each vertex slot; kept outputs get a count no run reaches."""
    counts = [0] * len(nodes)
    for node in nodes:
        for parent in node.upstream:
            counts[position[parent]] += 1
    return tuple(
        -1 if node.name in kept else count for node, count in zip(nodes, counts, strict=True)
    )


def _release_points(
    nodes: Sequence[VertexNode], position: Mapping[str, int], kept: frozenset[str] | None
) -> list[tuple[int, ...]]:
    """After which step each unrequested output is last read (serial order)."""
    releases: list[list[int]] = [[] for _ in nodes]
    if kept is None:
        return [() for _ in nodes]
    last_reader: dict[int, int] = {}
    for node in nodes:
        for parent in node.upstream:
            last_reader[position[parent]] = position[node.name]
    for slot, reader in last_reader.items():
        if nodes[slot].name not in kept:
            releases[reader].append(slot)
    return [tuple(r) for r in releases]
