"""Where each vertex of a graph is drawn: layered by stage, left to right.

Each vertex sits in the column of its execution stage, so every edge points
right. Within a column, vertices are ordered by the mean row of their
neighbours (a few barycenter sweeps, each linear in the edges), which keeps
most edges short and uncrossed without a layout library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

import attrs

from .._model.graph import Graph

__all__ = ["Box", "Layout", "layered"]

#: Pixels: a box's height, the gap between boxes in a column, and between columns.
BOX_HEIGHT = 22
ROW_GAP = 8
COLUMN_GAP = 56
#: Labels are drawn in a 12px monospace font: about this many pixels per character.
CHAR_WIDTH = 7.3
#: Longer names are cut (the full name is in the details).
MAX_LABEL = 28
#: Barycenter sweeps (each one down and up the columns).
SWEEPS = 2


def label_of(name: str) -> str:
    """``name`` as drawn in its box: cut to ``MAX_LABEL`` characters."""
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


@attrs.frozen
class Box:
    """A vertex's box: its top-left corner and size, in pixels."""

    x: int
    y: int
    width: int
    height: int = BOX_HEIGHT


def _read_only(boxes: Mapping[str, Box]) -> Mapping[str, Box]:
    return MappingProxyType(dict(boxes))


@attrs.frozen
class Layout:
    """Boxes by vertex name (in topological order), the edges between them, and the
    drawing's size.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> from flowdsl._report.layout import layered
        >>> @vertex
        ... def a(x: int) -> int:
        ...     return x
        >>> @vertex
        ... def b(a: int) -> int:
        ...     return a
        >>> layout = layered(flowdsl.compile(a, b))
        >>> layout.boxes["a"].x < layout.boxes["b"].x, layout.edges
        (True, (('a', 'b'),))
    """

    boxes: Mapping[str, Box] = attrs.field(converter=_read_only)
    edges: tuple[tuple[str, str], ...]
    width: int
    height: int


def layered(graph: Graph, names: Iterable[str] | None = None) -> Layout:
    """Lay out ``names`` (default: every vertex) of ``graph`` in columns by stage."""
    chosen = set(graph.order if names is None else names)
    columns = [[n for n in stage if n in chosen] for stage in graph.stages]
    columns = [column for column in columns if column]
    edges = tuple(
        (source, name)
        for name in graph.order
        if name in chosen
        for source in dict.fromkeys((*graph.vertices[name].upstream, *graph.vertices[name].after))
        if source in chosen
    )
    _order(columns, edges)
    tallest = max((len(column) for column in columns), default=0)
    pitch = BOX_HEIGHT + ROW_GAP
    boxes: dict[str, Box] = {}
    x = ROW_GAP
    for column in columns:
        width = round(max(len(label_of(n)) for n in column) * CHAR_WIDTH) + 14
        # Shorter columns are centred on the tallest.
        top = ROW_GAP + (tallest - len(column)) * pitch // 2
        for row, name in enumerate(column):
            boxes[name] = Box(x, top + row * pitch, width)
        x += width + COLUMN_GAP
    ordered = {name: boxes[name] for name in graph.order if name in boxes}
    return Layout(
        boxes=ordered,
        edges=edges,
        width=max(x - COLUMN_GAP + ROW_GAP, 0),
        height=tallest * pitch + ROW_GAP,
    )


def _order(columns: list[list[str]], edges: Sequence[tuple[str, str]]) -> None:
    # Reorder each column (in place) by the mean relative row of each vertex's
    # neighbours in the columns already placed: downward by parents, then
    # upward by children.
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for source, target in edges:
        parents.setdefault(target, []).append(source)
        children.setdefault(source, []).append(target)
    where: dict[str, float] = {}

    def place(column: list[str]) -> None:
        span = max(len(column) - 1, 1)
        for row, name in enumerate(column):
            where[name] = row / span

    for column in columns:
        place(column)
    for _ in range(SWEEPS):
        for neighbours, sequence in ((parents, columns[1:]), (children, columns[-2::-1])):
            for column in sequence:
                column.sort(key=lambda name: _mean(neighbours.get(name), where, name))
                place(column)


def _mean(neighbours: list[str] | None, where: Mapping[str, float], name: str) -> float:
    if not neighbours:
        return where[name]  # no neighbour on that side: keep its place
    return sum(where[n] for n in neighbours) / len(neighbours)
