"""Find the vertices (and sub-flows) in modules and function lists, in declaration order."""

from __future__ import annotations

import types
from collections.abc import Iterable

from .._dsl import VertexSpec, spec_of
from .._location import SourceLocation
from .._subflow import SubFlow
from ..errors import CompileError, DuplicateVertexError, InvalidVertexError

__all__ = ["collect_specs"]


Part = VertexSpec | SubFlow


def _part(value: object) -> Part | None:
    return value if isinstance(value, SubFlow) else spec_of(value)


def _specs_in(source: object, problems: list[CompileError]) -> Iterable[Part]:
    if isinstance(source, types.ModuleType):
        for value in list(vars(source).values()):
            part = _part(value)
            if part is not None:
                yield part
        return
    part = _part(source)
    if part is not None:
        yield part
        return
    location = SourceLocation.of(source) if callable(source) else None
    hint = " (decorate it with @vertex)" if callable(source) else ""
    problems.append(
        InvalidVertexError(
            f"compile() takes modules and @vertex functions (and sub-flows: "
            f"flow.as_vertex); got {source!r}{hint}",
            location=location,
        )
    )


def collect_specs(sources: Iterable[object], problems: list[CompileError]) -> list[Part]:
    """Every distinct vertex and sub-flow in ``sources``; duplicate names go to ``problems``.

    The same function (or sub-flow) reached twice (imported into a second
    module) is one vertex; two different ones with one name are a duplicate.
    """
    by_name: dict[str, Part] = {}
    for source in sources:
        for spec in _specs_in(source, problems):
            known = by_name.get(spec.name)
            if known is None:
                by_name[spec.name] = spec
            elif _identity(known) is not _identity(spec):
                problems.append(
                    DuplicateVertexError(
                        f"the name is already taken by the vertex defined at {known.location}; "
                        "rename one with @vertex(name=...)",
                        vertex=spec.name,
                        location=spec.location,
                    )
                )
    return list(by_name.values())


def _identity(part: Part) -> object:
    return part if isinstance(part, SubFlow) else part.function
