"""``SubFlow``: a compiled flow made one vertex of another (what ``Flow.as_vertex`` returns)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from ._location import SourceLocation
from ._model.graph import Graph
from ._suggest import did_you_mean
from .errors import BindingError, InvalidVertexError

__all__ = ["SubFlow", "sub_flow"]


@attrs.frozen(eq=False)
class SubFlow:
    """A whole flow as one vertex of another: its inputs are the vertex's parameters,
    its output the mapping of ``outputs`` to their values.

    The compiler writes the sub-flow's vertices into the flow that holds it,
    each named ``"name/inner"``, so that they run in that flow's run (its
    backend, loop, deadline, cancellation, listeners and checkpoints). Made
    by ``Flow.as_vertex``.
    """

    name: str
    graph: Graph = attrs.field(repr=False)
    bind: Mapping[str, Any] = attrs.field(repr=False)
    outputs: tuple[str, ...]
    location: SourceLocation


def sub_flow(
    graph: Graph,
    name: str,
    bind: Mapping[str, Any] | None,
    outputs: str | Sequence[str] | None,
    location: SourceLocation,
) -> SubFlow:
    """Check what ``Flow.as_vertex`` was given and make the ``SubFlow``.

    Raises:
        InvalidVertexError: ``name`` is not an identifier, or the flow has no vertex.
        BindingError: a ``bind`` key is not an input of the flow, or an
            ``outputs`` name is not one of its vertices.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidVertexError(
            f"as_vertex() takes a vertex name that is a Python identifier; got {name!r}",
            location=location,
        )
    if not graph.vertices:
        raise InvalidVertexError("a flow without vertices cannot be a vertex", vertex=name)
    given = dict(bind or {})
    for key in given:
        if key not in graph.inputs:
            known = ", ".join(graph.inputs) or "none"
            raise BindingError(
                f"bind= names {key!r}, which is not an input of the sub-flow"
                f"{did_you_mean(key, graph.inputs)} (inputs: {known})",
                vertex=name,
                parameter=key,
                location=location,
            )
    if outputs is None:
        # Its sinks; those of a sub-flow inside it stay inside.
        chosen = tuple(n for n in graph.order if not graph.downstream[n] and "/" not in n)
    else:
        chosen = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        for output in chosen:
            if output not in graph.vertices or "/" in output:
                raise BindingError(
                    f"outputs= names {output!r}, which is not a vertex of the sub-flow"
                    f"{did_you_mean(output, graph.vertices)}",
                    vertex=name,
                    parameter="outputs",
                    location=location,
                )
    return SubFlow(name, graph, MappingProxyType(given), chosen, location)
