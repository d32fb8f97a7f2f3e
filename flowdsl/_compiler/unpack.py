"""``@vertex(unpack=...)``: each field (or key, or tuple position) of an output becomes a
vertex of its own name, readable by parameter name like any vertex.

Each unpacked field is a small vertex that reads the whole output and takes
one part of it, so outputs, pruning, exports, lineage and every backend see
an ordinary vertex. The whole output stays under the vertex's own name.
"""

from __future__ import annotations

from typing import Any

import typing_extensions

from .._dsl import VertexSpec
from .._model.graph import NO_DEFAULT, Binding, FieldAccess, VertexNode
from .._suggest import did_you_mean
from .._typing import annotated_parts, structured_fields, type_name
from ..errors import CompileError
from .bindings import OutputShape, report

__all__ = ["Position", "unpacked_shapes", "unpacked_vertices", "whole"]

# Outputs indexed by position, not by key: a field read of these is refused.
_SEQUENCES = (str, bytes, bytearray, list, range)

#: How an unpacked vertex reads its part: a field access, or a tuple position.
Part = tuple[str, "FieldAccess | int", Any]


def whole(value: Any) -> Any:
    """An unpacked vertex's function: its binding has already read the part."""
    return value


class Position:
    """An unpacked vertex's function for one position of a tuple output."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.__name__ = self.__qualname__ = f"position_{index}"

    def __call__(self, value: tuple[Any, ...]) -> Any:
        return value[self.index]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Position, (self.index,))


def _keys(spec: VertexSpec, shape: OutputShape) -> list[Part] | str:
    """(key, access or position, annotation) per part, or why the output cannot be unpacked."""
    unpack = spec.options.unpack
    fields = {f.name: f for f in shape.fields or ()}
    if unpack is True:
        if shape.fields is None:
            return (
                f"unpack=True takes the fields of a TypedDict, attrs class, dataclass or "
                f"NamedTuple return; this vertex returns {_returns(shape)}: name the keys "
                f"with unpack=('a', 'b')"
            )
        return [(f.name, f.access, f.annotation) for f in shape.fields]
    assert isinstance(unpack, tuple)
    if shape.fields is not None:
        for key in unpack:
            if key not in fields:
                return (
                    f"unpack= names {key!r}, but {_returns(shape)} has no such field"
                    f"{did_you_mean(key, fields)} (fields: {', '.join(fields)})"
                )
        return [(key, fields[key].access, fields[key].annotation) for key in unpack]
    base, _ = annotated_parts(shape.returns)
    origin = typing_extensions.get_origin(base) or base
    if (
        shape.returns is not NO_DEFAULT
        and isinstance(origin, type)
        and (issubclass(origin, _SEQUENCES) or not hasattr(origin, "__getitem__"))
    ):
        return f"unpack= reads keys with [key], but {_returns(shape)} has none to read"
    if origin is tuple:  # tuple[A, B]: by position
        items = typing_extensions.get_args(base)
        fixed = Ellipsis not in items
        if fixed and len(items) != len(unpack):
            return f"unpack= names {len(unpack)} parts, but {_returns(shape)} has {len(items)}"
        return [(key, i, items[i] if fixed else NO_DEFAULT) for i, key in enumerate(unpack)]
    return [(key, "lookup", NO_DEFAULT) for key in unpack]


def _returns(shape: OutputShape) -> str:
    return "no annotation" if shape.returns is NO_DEFAULT else type_name(shape.returns)


def unpacked_shapes(
    specs: list[VertexSpec], shapes: dict[str, OutputShape], problems: list[CompileError]
) -> dict[str, list[Part]]:
    """Per vertex with ``unpack=``, its parts; the shape of each part joins ``shapes``
    (a dict) so that parameters bind to it by name. Problems are appended."""
    parts: dict[str, list[Part]] = {}
    for spec in specs:
        if not spec.options.unpack:
            continue
        keys = _keys(spec, shapes[spec.name])
        if isinstance(keys, str):
            report(problems, spec, "return", keys)
            continue
        for key, _, _ in keys:
            if key in shapes:
                report(
                    problems,
                    spec,
                    "return",
                    f"unpack= makes a vertex {key!r}, but that name is already a vertex",
                )
                break
        else:
            parts[spec.name] = keys
    for keys in parts.values():
        for key, _, annotation in keys:
            try:
                fields = None if annotation is NO_DEFAULT else structured_fields(annotation)
            except Exception:
                fields = None
            shapes[key] = OutputShape(annotation, fields)
    return parts


def unpacked_vertices(source: VertexNode, parts: list[Part]) -> list[VertexNode]:
    """One vertex per unpacked part of ``source``'s output: its binding reads the field
    (a missing key is a ``DataResolutionError`` naming both vertices), or its function
    takes the tuple position."""
    nodes = []
    for key, how, annotation in parts:
        if isinstance(how, int):
            function: Any = Position(how)
            binding = Binding(parameter=source.name, source=source.name)
        else:
            function = whole
            binding = Binding(parameter=source.name, source=source.name, field=key, access=how)
        nodes.append(
            VertexNode(
                name=key,
                function=function,
                bindings=(binding,),
                location=source.location,
                returns=annotation,
            )
        )
    return nodes
