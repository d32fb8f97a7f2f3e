"""Sub-flows in a flow: each one's vertices written in under ``"name/inner"``, plus the
vertex ``name`` that collects its outputs into a mapping.

The sub-flow's inputs are the vertex's parameters: each is bound by
``bind=`` (``From(...)`` or a decorated function: that output; anything
else: a constant), else by the rules of 1.1 in the flow that holds it (a
vertex of that name, else a flow input of that name). Its vertices read
what the parameter is bound to directly, so a sub-flow costs its vertices
and one small vertex more, and runs wherever the outer run runs.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .._dsl import spec_of
from .._groups import AtomicGroup
from .._markers import From
from .._model.graph import NO_DEFAULT, Binding, VertexNode
from .._subflow import SubFlow
from .._typing import StructuredField, element_type, type_name
from ..errors import CompileError, TypeMismatchError
from .bindings import OutputShape, ref_label, report, resolve_or_report
from .compatibility import clearly_incompatible

__all__ = ["inline_subflow", "subflow_shapes"]


def _collected(names: tuple[str, ...], *values: Any) -> dict[str, Any]:
    # The sub-flow vertex's own call: its outputs by name.
    return dict(zip(names, values, strict=True))


def _constant(value: Any) -> Any:
    return value


def subflow_shapes(sub: SubFlow) -> dict[str, OutputShape]:
    """The output shapes a sub-flow adds: its own mapping and each inner vertex's."""
    vertices = sub.graph.vertices
    fields = tuple(StructuredField(o, vertices[o].returns, "item") for o in sub.outputs)
    shapes = {sub.name: OutputShape(dict[str, Any], fields)}
    for name, node in vertices.items():
        shapes[f"{sub.name}/{name}"] = OutputShape(node.returns, node.fields)
    return shapes


def inline_subflow(
    sub: SubFlow, shapes: Mapping[str, OutputShape], problems: list[CompileError]
) -> list[VertexNode]:
    """The vertices ``sub`` adds to the flow that holds it (``shapes``: every output
    there); each problem found is appended."""
    prefix = f"{sub.name}/"
    vertices: list[VertexNode] = []
    rebinders: dict[str, Callable[[Binding], Binding]] = {}
    for parameter in sub.graph.inputs:
        rebind = _input_binding(sub, parameter, shapes, problems, vertices)
        if rebind is not None:
            rebinders[parameter] = rebind
    groups: dict[int, AtomicGroup] = {}
    for node in sub.graph.vertices.values():
        vertices.append(_renamed(node, prefix, rebinders, groups))
    vertices.append(
        VertexNode(
            name=sub.name,
            function=functools.partial(_collected, sub.outputs),
            bindings=tuple(Binding(parameter=o, source=prefix + o) for o in sub.outputs),
            location=sub.location,
            returns=shapes[sub.name].returns,
            fields=shapes[sub.name].fields,
        )
    )
    return vertices


def _input_binding(
    sub: SubFlow,
    parameter: str,
    shapes: Mapping[str, OutputShape],
    problems: list[CompileError],
    vertices: list[VertexNode],
) -> Callable[[Binding], Binding] | None:
    # How the inner bindings of flow input ``parameter`` read it in the outer flow.
    value = sub.bind.get(parameter, NO_DEFAULT)
    if value is NO_DEFAULT:
        if parameter in shapes:
            value = From(parameter)
        else:
            return lambda b: b  # a flow input of the outer flow, of the same name
    ref = value.ref if isinstance(value, From) else value
    if isinstance(value, From) or spec_of(value) is not None:
        label = f"the sub-flow's input {parameter!r} reads {ref_label(ref)}"
        resolved = resolve_or_report(ref, label, sub, parameter, shapes, problems)
        if resolved is None:
            return None
        source, field, access = resolved
        _check_types(sub, parameter, shapes[source], field, problems)
        return lambda b: attrs.evolve(b, source=source, is_input=False, field=field, access=access)
    # A constant: a vertex of the sub-flow that gives it.
    name = f"{sub.name}/{parameter}"
    vertices.append(
        VertexNode(
            name=name,
            function=functools.partial(_constant, value),
            bindings=(),
            location=sub.location,
            returns=type(value),
        )
    )
    return lambda b: attrs.evolve(b, source=name, is_input=False)


def _check_types(
    sub: SubFlow,
    parameter: str,
    shape: OutputShape,
    field: str | None,
    problems: list[CompileError],
) -> None:
    produced = shape.returns if field is None else shape.field_annotation(field)
    if produced is NO_DEFAULT:
        return
    for consumer in sub.graph.inputs[parameter].consumers:
        expected = consumer.annotation
        if expected is NO_DEFAULT:
            continue
        node = sub.graph.vertices[consumer.vertex]
        given = produced
        map_over = node.options.map_over
        if map_over is not None and consumer.parameter in map_over:
            given = element_type(produced)
        if given is not NO_DEFAULT and clearly_incompatible(given, expected):
            report(
                problems,
                sub,
                parameter,
                f"the sub-flow's input {parameter!r} is read by "
                f"{consumer.vertex}.{consumer.parameter} as {type_name(expected)}, but "
                f"it is bound to an output of type {type_name(given)}",
                TypeMismatchError,
            )
            return


def _renamed(
    node: VertexNode,
    prefix: str,
    rebinders: Mapping[str, Callable[[Binding], Binding]],
    groups: dict[int, AtomicGroup],
) -> VertexNode:
    def rebound(binding: Binding) -> Binding:
        if binding.is_input:
            return rebinders.get(binding.source, _unchanged)(binding)
        return attrs.evolve(binding, source=prefix + binding.source)

    group = node.options.group
    if group is not None:
        # Each use of the sub-flow has groups of its own.
        if id(group) not in groups:
            groups[id(group)] = copy.copy(group)
            groups[id(group)].name = prefix + group.name
        group = groups[id(group)]
    return attrs.evolve(
        node,
        name=prefix + node.name,
        bindings=tuple(rebound(b) for b in node.bindings),
        condition=None if node.condition is None else rebound(node.condition),
        after=tuple(prefix + name for name in node.after),
        # Named flows of the sub-flow are its own: the outer flow's are the outer vertex's.
        options=attrs.evolve(node.options, flows=(), group=group),
    )


def _unchanged(binding: Binding) -> Binding:
    return binding
