"""The graph's layout: columns by stage, no overlaps, every edge pointing right."""

from __future__ import annotations

import itertools

import flowdsl
from flowdsl._report.layout import MAX_LABEL, label_of, layered
from tests.report._flows import SMALL, layered_flow


def _check(layout: flowdsl._report.layout.Layout) -> None:
    boxes = layout.boxes
    for source, target in layout.edges:
        assert boxes[source].x + boxes[source].width < boxes[target].x
    columns: dict[int, list[flowdsl._report.layout.Box]] = {}
    for box in boxes.values():
        columns.setdefault(box.x, []).append(box)
        assert box.x + box.width <= layout.width
        assert box.y + box.height <= layout.height
    for column in columns.values():
        column.sort(key=lambda box: box.y)
        for upper, lower in itertools.pairwise(column):
            assert upper.y + upper.height <= lower.y


def test_every_vertex_has_a_box_and_edges_point_right() -> None:
    layout = layered(SMALL.graph)
    assert list(layout.boxes) == list(SMALL.graph.order)
    assert ("load", "clean") in layout.edges
    assert ("large", "review") in layout.edges  # a condition is an edge too
    _check(layout)


def test_a_subset_is_laid_out_alone() -> None:
    layout = layered(SMALL.graph, ["load", "stats"])
    assert list(layout.boxes) == ["load", "stats"]
    assert layout.edges == (("load", "stats"),)


def test_large_layered_graph() -> None:
    flow = layered_flow(400)
    layout = layered(flow.graph)
    assert len(layout.boxes) == 400
    assert len(layout.edges) == 2 * (400 - 20)
    _check(layout)


def test_long_names_are_cut() -> None:
    assert label_of("x" * 100) == "x" * (MAX_LABEL - 1) + "…"
    assert label_of("short") == "short"


def test_an_empty_graph() -> None:
    layout = layered(SMALL.graph, [])
    assert (layout.boxes, layout.edges, layout.width) == ({}, (), 0)
