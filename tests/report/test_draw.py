"""The drawings: overlapping calls get rows of their own, up to a bound."""

from __future__ import annotations

import re

from flowdsl import Span, Timeline
from flowdsl._report.draw import MAX_ROWS, ROW_HEIGHT, seconds_text, timeline_svg


def _timeline(spans: list[Span]) -> Timeline:
    return Timeline(
        spans=tuple(spans),
        lanes=("event loop",),
        skips={},
        makespan=max(span.end for span in spans),
        critical_path=(),
        critical_length=0.0,
    )


def _rows(svg: str) -> set[int]:
    return {int(y) for y in re.findall(r'class="fd-b[^"]*" data-v="\d+" x="[\d.]+" y="(\d+)"', svg)}


def test_calls_that_overlap_get_rows_of_their_own() -> None:
    spans = [Span(f"v{i}", 1, i * 0.1, i * 0.1 + 0.25, "event loop", "completed") for i in range(6)]
    svg = timeline_svg(_timeline(spans), {f"v{i}": i for i in range(6)})
    assert len(_rows(svg)) == 3  # each call overlaps the next two


def test_rows_are_bounded() -> None:
    count = 10_000
    spans = [Span(f"v{i}", 1, i * 1e-6, 1.0, "event loop", "completed") for i in range(count)]
    svg = timeline_svg(_timeline(spans), {f"v{i}": i for i in range(count)})
    rows = _rows(svg)
    assert len(rows) == MAX_ROWS
    assert max(rows) - min(rows) == (MAX_ROWS - 1) * ROW_HEIGHT
    assert svg.count('class="fd-b ') == count


def test_durations_read_as_people_write_them() -> None:
    shown = [seconds_text(s) for s in (0, 850e-6, 0.0125, 3.2)]
    assert shown == ["0", "850 µs", "12.5 ms", "3.2 s"]


def test_a_wait_for_a_worker_does_not_take_a_row() -> None:
    # A worker runs one call after another; the second waited for it meanwhile.
    first = Span("a", 1, 0.0, 0.5, "worker 1", "completed")
    second = Span("b", 1, 0.5, 1.0, "worker 1", "completed", waited=0.4)
    svg = timeline_svg(_timeline([first, second]), {"a": 0, "b": 1})
    assert len(_rows(svg)) == 1
    assert 'class="fd-wait"' in svg
