"""Find the vertices (and sub-flows) in modules and function lists, in declaration order."""

from __future__ import annotations

import types
from collections.abc import Iterable

from .._dsl import ExpandedVertices, VertexSpec, spec_of
from .._location import SourceLocation
from .._subflow import SubFlow
from ..errors import CompileError, DuplicateVertexError, InvalidVertexError

__all__ = ["collect_specs"]


Part = VertexSpec | SubFlow


def _specs_in(source: object, problems: list[CompileError]) -> Iterable[Part]:
    # A module's vertices are its module-level names that hold a vertex, a
    # sub-flow (flow.as_vertex), or the mapping vertex.expand returned.
    if isinstance(source, types.ModuleType):
        for value in list(vars(source).values()):
            if isinstance(value, ExpandedVertices):
                yield from _specs_in(value, problems)
                continue
            if isinstance(value, SubFlow):
                yield value
                continue
            spec = spec_of(value)
            if spec is not None:
                yield spec
        return
    if isinstance(source, ExpandedVertices):
        for value in source.values():
            yield from _specs_in(value, problems)
        return
    if isinstance(source, SubFlow):
        yield source
        return
    spec = spec_of(source)
    if spec is not None:
        yield spec
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

    The same vertex or sub-flow reached twice (imported into a second module,
    or held by a name and by the mapping of ``vertex.expand``) is one vertex;
    two different ones with one name are a duplicate.
    """
    by_name: dict[str, Part] = {}
    for source in sources:
        for spec in _specs_in(source, problems):
            known = by_name.get(spec.name)
            if known is None:
                by_name[spec.name] = spec
            elif known is not spec:
                problems.append(
                    DuplicateVertexError(
                        f"the name is already taken by the vertex defined at {known.location}; "
                        "rename one with @vertex(name=...)",
                        vertex=spec.name,
                        location=spec.location,
                    )
                )
    return list(by_name.values())
