"""Find the vertices (and sub-flows) in modules and function lists, in declaration order."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Any, cast

import attrs

from .._dsl import ExpandedVertices, VertexSpec, spec_of
from .._location import SourceLocation
from .._subflow import SubFlow
from ..errors import CompileError, DuplicateVertexError, InvalidVertexError

__all__ = ["Collected", "collect_specs"]


Part = VertexSpec | SubFlow


def _specs_in(source: object, problems: list[CompileError]) -> Iterable[Part]:
    # A module's vertices are its module-level names that hold a vertex, a
    # sub-flow (flow.as_vertex), or the mapping vertex.expand returned.
    # Other names of a module are passed over; anything else given is a problem.
    if isinstance(source, types.ModuleType):
        for value in list(vars(source).values()):
            spec = spec_of(value)
            if spec is not None:
                yield spec
            elif isinstance(value, (ExpandedVertices, SubFlow)):
                yield from _specs_in(value, problems)
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


@attrs.frozen
class Collected:
    """The vertices and sub-flows of a compile, each in the order first met, and the
    config variants left out (by name)."""

    specs: list[VertexSpec]
    subflows: list[SubFlow]
    # Names that only config variants define, none of which matched: reading
    # one is an error that shows the config, never a flow input.
    absent: Mapping[str, str]


def collect_specs(
    sources: Iterable[object],
    problems: list[CompileError],
    config: Mapping[str, Any] | None = None,
) -> Collected:
    """Every distinct vertex and sub-flow in ``sources`` that exists under ``config``;
    duplicate names go to ``problems``.

    The same vertex or sub-flow reached twice (imported into a second module,
    or held by a name and by the mapping of ``vertex.expand``) is one vertex;
    two different ones with one name are a duplicate, config variants that
    both match included.
    """
    by_name: dict[str, Part] = {}
    left_out: dict[str, list[VertexSpec]] = {}
    any_subflow = False
    for source in sources:
        for spec in _specs_in(source, problems):
            if not isinstance(spec, VertexSpec):
                any_subflow = True
            # (Most vertices are no config variant: they exist under any config.)
            elif spec.options.config and not spec.options.matches(config):
                variants = left_out.setdefault(spec.name, [])
                if all(v is not spec for v in variants):
                    variants.append(spec)
                continue
            known = by_name.setdefault(spec.name, spec)
            if known is not spec and not _same_vertex(known, spec):
                problems.append(_duplicate(known, spec, config))
    absent = {
        name: _absence(name, variants, config)
        for name, variants in left_out.items()
        if name not in by_name
    }
    parts = list(by_name.values())
    if not any_subflow:  # most compiles: no pass over the parts to tell them apart
        return Collected(cast(list[VertexSpec], parts), [], absent)
    return Collected(
        [p for p in parts if isinstance(p, VertexSpec)],
        [p for p in parts if isinstance(p, SubFlow)],
        absent,
    )


def _same_vertex(known: Part, spec: Part) -> bool:
    # A function decorated with a bare @vertex gives a new spec each time it is
    # read (``spec_of``), all of one vertex: the function itself.
    return (
        isinstance(known, VertexSpec)
        and isinstance(spec, VertexSpec)
        and known.made_at is None
        and spec.made_at is None
        and known.function is spec.function
    )


def _duplicate(known: Part, spec: Part, config: Mapping[str, Any] | None) -> DuplicateVertexError:
    if (
        isinstance(known, VertexSpec)
        and isinstance(spec, VertexSpec)
        and known.options.config
        and spec.options.config
    ):
        message = (
            f"two config variants of {spec.name!r} match the config {dict(config or {})!r}: "
            f"the one defined at {known.location} ({known.options.config_text}) and this one "
            f"({spec.options.config_text}); make their config= exclusive"
        )
    else:
        message = (
            f"the name is already taken by the vertex defined at {known.location}; "
            "rename one with @vertex(name=...)"
        )
    return DuplicateVertexError(message, vertex=spec.name, location=spec.location)


def _absence(name: str, variants: list[VertexSpec], config: Mapping[str, Any] | None) -> str:
    needs = "; ".join(f"{v.options.config_text} ({v.location})" for v in variants)
    given = "no config" if config is None else f"the config {dict(config)!r}"
    return f"vertex {name!r} exists only under config {needs}, and {given} matches none"
