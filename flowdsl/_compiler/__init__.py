"""The compiler: vertices in, an immutable ``Graph`` out, every problem reported at once."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from .._dsl import VertexSpec
from .._gc import collector_paused
from .._model import topology
from .._model.graph import NO_DEFAULT, FlowInput, Graph, InputConsumer, VertexNode
from .._typing import type_name
from ..errors import CompileError, CycleError, TypeMismatchError
from .bindings import (
    SharedBindings,
    VertexSignature,
    bind_after,
    bind_condition,
    bind_vertex,
    output_shapes,
    read_other_signature,
    usual_signature,
)
from .collect import collect_specs
from .compatibility import clearly_incompatible
from .contracts import ContractCompiler
from .groups import order_groups
from .subflows import inline_subflow, subflow_shapes
from .unpack import unpacked_shapes, unpacked_vertices

__all__ = ["compile_graph"]


def compile_graph(*sources: object, config: Mapping[str, Any] | None = None) -> Graph:
    """Compile modules and vertices into one ``Graph``, with the config variants that
    ``config`` selects.

    Raises:
        CompileError: one of its subclasses for a single problem, or a
            ``CompileError`` listing every problem found.
    """
    with collector_paused():
        problems: list[CompileError] = []
        collected = collect_specs(sources, problems, config)
        absent = collected.absent
        specs = collected.specs
        subflows = collected.subflows
        signatures = _signatures(specs, problems)
        shapes = output_shapes(specs, signatures, problems)
        for sub in subflows:
            shapes.update(subflow_shapes(sub))
        unpacked = unpacked_shapes(specs, shapes, problems)
        contracts = ContractCompiler()
        vertices = []
        made = SharedBindings()
        for spec, signature in zip(specs, signatures, strict=True):
            name = spec.name
            options = spec.options
            shape = shapes[name]
            bindings = bind_vertex(spec, signature, shapes, problems, absent, made)
            # Most vertices have neither (and most share one options record).
            condition = (
                None if options.when is None else bind_condition(spec, shapes, problems, absent)
            )
            requires = bind_after(spec, shapes, problems, absent) if options.after else ()
            # By position, in the fields' order: a dozen keywords cost about 0.3 us
            # a vertex, a tenth of what building its node costs.
            node = VertexNode(
                name,
                spec.function,
                bindings,
                # ``spec.location``, left for the node to find when asked for.
                spec.made_at,
                shape.returns,
                shape.fields,
                spec.is_async,
                options,
                # Checked per call: for a mapped vertex, each element's result.
                contracts.build(spec, bindings, signature.hints.get("return", NO_DEFAULT)),
                condition,
                (),
                requires,
            )
            if options.bind:  # only bind= (and a partial's arguments) gives constants
                _check_constants(node, problems)
            vertices.append(node)
            if name in unpacked:
                vertices.extend(unpacked_vertices(node, unpacked[name]))
        for sub in subflows:
            vertices.extend(inline_subflow(sub, shapes, problems))
        # The maps of every vertex go before the graph is built, so that its
        # maps and the first run's reuse their memory, not grow the heap past them.
        del collected, specs, signatures, shapes, made, unpacked
        inputs = _flow_inputs(vertices, problems)
        _check_cycles(vertices, problems)
        vertices = order_groups(vertices, problems)
        if problems:
            raise CompileError.collect(problems)
        contracts.warn()
        return Graph.build(vertices, inputs)


def _signatures(specs: list[VertexSpec], problems: list[CompileError]) -> list[VertexSignature]:
    # Each spec's, in their order. Vertices made from one function (vertex.expand)
    # share its signature: it is read once, unless reading it found problems
    # (each vertex reports its own). The usual signature costs less to read
    # again than to look up.
    read: dict[tuple[int, int], VertexSignature] = {}
    signatures = []
    for spec in specs:
        usual = usual_signature(spec)
        if usual is not None:
            signatures.append(usual)
            continue
        key = (id(spec.function), id(spec.local_names))
        signature = read.get(key)
        if signature is None:
            reported = len(problems)
            signature = read_other_signature(spec, problems)
            if len(problems) == reported:
                read[key] = signature
        signatures.append(signature)
    return signatures


def _check_constants(node: VertexNode, problems: list[CompileError]) -> None:
    # A constant meets its parameter's contract now, by the check a run would make.
    if node.contracts is None:
        return
    for binding in node.bindings:
        contract = node.contracts.parameters.get(binding.parameter)
        if not binding.is_constant or contract is None:
            continue
        violation = contract.check(binding.constant, binding.parameter)
        if violation is not None:
            problems.append(
                TypeMismatchError(
                    f"the constant bound to {binding.parameter!r} breaks its annotation: at "
                    f"{violation.path}, expected {violation.expected}, got {violation.actual}",
                    vertex=node.name,
                    parameter=binding.parameter,
                    location=node.location,
                )
            )


def _flow_inputs(vertices: Iterable[VertexNode], problems: list[CompileError]) -> list[FlowInput]:
    consumers: dict[str, list[tuple[VertexNode, InputConsumer]]] = {}
    for vertex in vertices:
        for b in vertex.bindings:
            if b.is_input:
                annotation = b.annotation
                map_over = vertex.options.map_over
                if (
                    map_over is not None
                    and b.parameter in map_over
                    and annotation is not NO_DEFAULT
                ):
                    annotation = list[annotation]  # type: ignore[valid-type]
                consumer = InputConsumer(vertex.name, b.parameter, annotation, b.default)
                consumers.setdefault(b.source, []).append((vertex, consumer))
    for name, readers in consumers.items():
        _check_input_agreement(name, readers, problems)
    return [FlowInput(name, tuple(c for _, c in readers)) for name, readers in consumers.items()]


def _check_input_agreement(
    name: str, readers: list[tuple[VertexNode, InputConsumer]], problems: list[CompileError]
) -> None:
    # Each consumer against the first consumer of every other annotation seen
    # before it (not only the very first: an ``Any`` there would hide an
    # ``int`` and a ``str`` after it); one problem per consumer. Comparing
    # distinct annotations keeps it linear when thousands read one input.
    first_of: dict[Any, tuple[VertexNode, InputConsumer]] = {}
    for vertex, consumer in readers:
        ours = consumer.annotation
        if ours is NO_DEFAULT or _seen(first_of, ours):
            continue
        for earlier_vertex, earlier in first_of.values():
            theirs = earlier.annotation
            if clearly_incompatible(theirs, ours) and clearly_incompatible(ours, theirs):
                problems.append(
                    TypeMismatchError(
                        f"flow input {name!r} is {type_name(ours)} here but "
                        f"{type_name(theirs)} in vertex {earlier_vertex.name!r} "
                        f"({earlier_vertex.location})",
                        vertex=vertex.name,
                        parameter=consumer.parameter,
                        location=vertex.location,
                    )
                )
                break
        _remember(first_of, ours, (vertex, consumer))


def _seen(first_of: dict[Any, Any], annotation: Any) -> bool:
    try:
        return annotation in first_of
    except TypeError:  # unhashable (Annotated with unhashable metadata): compare it anyway
        return False


def _remember(first_of: dict[Any, Any], annotation: Any, reader: Any) -> None:
    try:
        first_of.setdefault(annotation, reader)
    except TypeError:
        first_of[id(annotation)] = reader


def _check_cycles(vertices: list[VertexNode], problems: list[CompileError]) -> None:
    cycles = topology.find_cycles({v.name: v.upstream for v in vertices})
    by_name = {v.name: v for v in vertices} if cycles else {}
    for cycle in cycles:
        steps = []
        for producer, consumer in itertools.pairwise(cycle):
            parameter = _reader_of(by_name[consumer], producer)
            steps.append(f"{consumer}.{parameter} reads {producer} ({by_name[consumer].location})")
        path = " -> ".join(cycle)
        first = by_name[cycle[1]]
        parameter = _reader_of(first, cycle[0])
        problems.append(
            CycleError(
                f"dependency cycle {path}: " + "; ".join(steps),
                cycle=cycle,
                vertex=first.name,
                parameter=parameter,
                location=first.location,
            )
        )


def _reader_of(vertex: VertexNode, producer: str) -> str:
    """The first parameter of ``vertex`` reading ``producer`` (``"when"`` for a condition,
    ``"after"`` for an ``after=`` entry)."""
    for b in vertex.bindings:
        if b.source == producer and b.reads_vertex:
            return b.parameter
    if vertex.condition is not None and vertex.condition.source == producer:
        return "when"
    return "after"
