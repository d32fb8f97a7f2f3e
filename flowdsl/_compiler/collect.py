"""Find the vertices in modules and function lists, in declaration order."""

from __future__ import annotations

import types
from collections.abc import Iterable

from .._dsl import VertexSpec, spec_of
from .._location import SourceLocation
from ..errors import CompileError, DuplicateVertexError, InvalidVertexError

__all__ = ["collect_specs"]


def _specs_in(source: object, problems: list[CompileError]) -> Iterable[VertexSpec]:
    if isinstance(source, types.ModuleType):
        for value in list(vars(source).values()):
            spec = spec_of(value)
            if spec is not None:
                yield spec
        return
    spec = spec_of(source)
    if spec is not None:
        yield spec
        return
    location = SourceLocation.of(source) if callable(source) else None
    hint = " (decorate it with @vertex)" if callable(source) else ""
    problems.append(
        InvalidVertexError(
            f"compile() takes modules and @vertex functions; got {source!r}{hint}",
            location=location,
        )
    )


def collect_specs(sources: Iterable[object], problems: list[CompileError]) -> list[VertexSpec]:
    """Every distinct vertex in ``sources``; duplicate names go to ``problems``.

    The same function reached twice (a vertex imported into a second module)
    is one vertex; two different functions with one name are a duplicate.
    """
    by_name: dict[str, VertexSpec] = {}
    for source in sources:
        for spec in _specs_in(source, problems):
            known = by_name.get(spec.name)
            if known is None:
                by_name[spec.name] = spec
            elif known.function is not spec.function:
                problems.append(
                    DuplicateVertexError(
                        f"the name is already taken by the vertex defined at {known.location}; "
                        "rename one with @vertex(name=...)",
                        vertex=spec.name,
                        location=spec.location,
                    )
                )
    return list(by_name.values())
