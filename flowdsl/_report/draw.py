"""SVG drawings of a run: the graph colored by state, and the timeline (a Gantt chart).

Plain strings, built for size: a drawing of 10,000 vertices is one element per
box, label and bar, and all edges are one path. Every element that stands
for a vertex carries ``data-v``, the vertex's index in the report's details,
which the page's script reads on hover and click.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection, Mapping
from html import escape

from .layout import BOX_HEIGHT, Layout, label_of
from .timeline import Span, Timeline

__all__ = ["STYLE", "graph_svg", "timeline_svg"]

#: The drawings' styles (class names start with ``fd-``, so that they can sit in a
#: notebook's page).
STYLE = """
.fd-svg{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;display:block}
.fd-svg text{pointer-events:none;fill:#1f2328}
.fd-timeline{width:100%;height:auto;min-width:720px}
.fd-e{fill:none;stroke:#8c959f;stroke-width:1}
.fd-e.fd-cp{stroke:#8250df;stroke-width:2.5}
.fd-n{stroke-width:1.2;cursor:pointer}
.fd-n.fd-cp{stroke:#8250df;stroke-width:3}
.fd-completed{fill:#dafbe1;stroke:#1a7f37}
.fd-failed{fill:#ffebe9;stroke:#cf222e}
.fd-skipped{fill:#f6f8fa;stroke:#8c959f;stroke-dasharray:4 2}
.fd-pending{fill:#fff;stroke:#8c959f}
.fd-running{fill:#fff8c5;stroke:#9a6700}
.fd-overridden,.fd-restored{fill:#ddf4ff;stroke:#0969da}
.fd-rolled_back{fill:#fff1e5;stroke:#bc4c00}
.fd-b{stroke-width:.6;cursor:pointer}
.fd-b.fd-completed{fill:#4ac26b;stroke:#1a7f37}
.fd-b.fd-failed{fill:#ff8182;stroke:#cf222e}
.fd-b.fd-retried{fill:#ffb77c;stroke:#bc4c00}
.fd-b.fd-hit{fill:#b6e3ff;stroke:#0969da;stroke-dasharray:2 1}
.fd-b.fd-cp{stroke:#8250df;stroke-width:2}
.fd-wait{stroke:#8c959f;stroke-width:1.5;stroke-dasharray:1 2}
.fd-retry{fill:none;stroke:#bc4c00;stroke-width:1;stroke-dasharray:3 2}
.fd-skip{fill:#8c959f;cursor:pointer}
.fd-lane{fill:#f6f8fa}
.fd-grid{stroke:#d0d7de;stroke-width:.5}
.fd-hl{stroke:#0550ae!important;stroke-width:3!important}
"""

#: Timeline geometry, in pixels: the lane names' column, the time axis, a row, a bar.
LABEL_WIDTH = 112
PLOT_WIDTH = 1080
AXIS_HEIGHT = 22
ROW_HEIGHT = 13
BAR_HEIGHT = 10
LANE_GAP = 6
#: The narrowest bar drawn (a cache hit takes microseconds).
MIN_BAR = 1.5
#: Rows of one lane at most: past that many overlapping calls, bars overlap.
MAX_ROWS = 32


def _n(value: float) -> str:
    # Coordinates with one decimal at most, and no trailing ".0": files stay small.
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def graph_svg(
    layout: Layout,
    states: Mapping[str, str],
    index: Mapping[str, int] | None = None,
    critical: Collection[str] = (),
    style: bool = False,
) -> str:
    """The laid-out graph, each box colored by its vertex's state, the critical path in
    bold. ``index``: each vertex's ``data-v``; ``style``: embed ``STYLE`` (for a page
    that does not carry it)."""
    boxes = layout.boxes
    on_path = set(critical)
    path_edges = set(zip(list(critical), list(critical)[1:], strict=False))
    middle = BOX_HEIGHT / 2
    # Edges as one path per column they leave, so that the browser paints a part
    # of a large drawing without going through every edge of it.
    plain: dict[int, list[str]] = {}
    bold: list[str] = []
    for source, target in layout.edges:
        a, b = boxes[source], boxes[target]
        x1, y1, x2, y2 = a.x + a.width, a.y + middle, b.x, b.y + middle
        bend = (x2 - x1) / 2
        segment = f"M{x1} {_n(y1)}C{_n(x1 + bend)} {_n(y1)} {_n(x2 - bend)} {_n(y2)} {x2} {_n(y2)}"
        if (source, target) in path_edges:
            bold.append(segment)
        else:
            plain.setdefault(a.x, []).append(segment)
    parts = [
        f'<svg class="fd-svg fd-graph" xmlns="http://www.w3.org/2000/svg" '
        f'width="{layout.width}" height="{layout.height}" '
        f'viewBox="0 0 {layout.width} {layout.height}">'
    ]
    if style:
        parts.append(f"<style>{STYLE}</style>")
    parts.extend(f'<path class="fd-e" d="{"".join(edges)}"/>' for edges in plain.values())
    if bold:
        parts.append(f'<path class="fd-e fd-cp" d="{"".join(bold)}"/>')
    for name, box in boxes.items():
        state = states.get(name, "pending")
        classes = f"fd-n fd-{state}{' fd-cp' if name in on_path else ''}"
        # A page with ``index`` shows details itself; elsewhere a tooltip does.
        data = "" if index is None else f' data-v="{index[name]}"'
        tooltip = "/>" if index is not None else f"><title>{escape(name)}: {state}</title></rect>"
        parts.append(
            f'<rect class="{classes}"{data} x="{box.x}" y="{box.y}" width="{box.width}" '
            f'height="{box.height}" rx="4"{tooltip}'
            f'<text x="{box.x + 7}" y="{box.y + 15}">{escape(label_of(name))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _tick(makespan: float) -> float:
    # A round step (1, 2 or 5 times a power of ten) giving 5 to 10 ticks.
    if makespan <= 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(makespan / 5))
    for factor in (1, 2, 5, 10):
        if makespan / (step * factor) <= 10:
            return step * factor
    return step * 10


def seconds_text(value: float) -> str:
    """A duration for people: ``850 µs``, ``12.5 ms``, ``3.2 s``."""
    if value == 0:
        return "0"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


def _rows(spans: list[Span]) -> list[int]:
    # Each span's row within its lane (spans by start): a row free at its start
    # (overlapping calls, such as coroutines on one event loop, get rows of their
    # own), up to MAX_ROWS rows; past that, the row that frees first, overlapped.
    # A call's wait for a worker does not hold a row (the worker was busy with
    # the call before it): its dotted line is drawn under the bars.
    free: list[tuple[float, int]] = []  # (when the row frees, row), a heap
    rows = []
    for span in spans:
        if free and (free[0][0] <= span.start or len(free) == MAX_ROWS):
            _, row = heapq.heappop(free)
        else:
            row = len(free)
        heapq.heappush(free, (span.end, row))
        rows.append(row)
    return rows


def timeline_svg(timeline: Timeline, index: Mapping[str, int]) -> str:
    """One bar per call on the lane it ran on, waits and retry delays as dotted lines,
    skips as marks on a row of their own, the critical path's bars outlined."""
    horizon = max([timeline.makespan, *(s.end for s in timeline.spans)]) or 1e-9
    scale = PLOT_WIDTH / horizon
    on_path = set(timeline.critical_path)
    by_lane: dict[str, list[Span]] = {lane: [] for lane in timeline.lanes}
    for span in timeline.spans:
        by_lane.setdefault(span.lane, []).append(span)
    bars: list[str] = []
    lanes: list[str] = []
    waits: list[str] = []
    y = AXIS_HEIGHT
    # Each span's left and right end and its height, for the lines between calls.
    drawn: dict[int, tuple[float, float, float]] = {}
    for lane, spans in by_lane.items():
        if not spans:
            continue
        rows = _rows(spans)
        height = (max(rows) + 1) * ROW_HEIGHT
        lanes.append(
            f'<rect class="fd-lane" x="0" y="{y - 2}" width="{LABEL_WIDTH + PLOT_WIDTH}" '
            f'height="{height + 4}"/><text x="4" y="{y + 10}">{escape(lane)}</text>'
        )
        for span, row in zip(spans, rows, strict=True):
            top = y + row * ROW_HEIGHT
            x = LABEL_WIDTH + span.start * scale
            width = max(span.duration * scale, MIN_BAR)
            kind = "hit" if span.outcome == "cache hit" else span.outcome
            cp = " fd-cp" if span.vertex in on_path else ""
            bars.append(
                f'<rect class="fd-b fd-{kind}{cp}" data-v="{index[span.vertex]}" x="{_n(x)}" '
                f'y="{top}" width="{_n(width)}" height="{BAR_HEIGHT}"/>'
            )
            middle = top + BAR_HEIGHT / 2
            if span.waited * scale >= 1:
                waits.append(f"M{_n(x - span.waited * scale)} {_n(middle)}H{_n(x)}")
            drawn[id(span)] = (x, x + width, middle)
        y += height + LANE_GAP
    retries: list[str] = []
    failed: dict[str, tuple[float, float, float]] = {}
    for span in timeline.spans:  # by start: a failed call, then the next call of its vertex
        before = failed.pop(span.vertex, None)
        x, end, middle = drawn[id(span)]
        if before is not None:
            retries.append(f"M{_n(before[1])} {_n(before[2])}L{_n(x)} {_n(middle)}")
        if span.outcome in ("retried", "failed"):
            failed[span.vertex] = (x, end, middle)
    skips: list[str] = []
    if timeline.skips:
        lanes.append(f'<text x="4" y="{y + 10}">skipped</text>')
        for name, when in timeline.skips.items():
            x = LABEL_WIDTH + when * scale
            skips.append(
                f'<rect class="fd-skip" data-v="{index[name]}" x="{_n(x - 3)}" y="{y + 2}" '
                f'width="6" height="6" transform="rotate(45 {_n(x)} {y + 5})"/>'
            )
        y += ROW_HEIGHT + LANE_GAP
    step = _tick(horizon)
    grid: list[str] = []
    ticks: list[str] = []
    for k in range(int(horizon / step) + 1):
        x = LABEL_WIDTH + k * step * scale
        grid.append(f"M{_n(x)} {AXIS_HEIGHT - 4}V{y}")
        ticks.append(f'<text x="{_n(x + 2)}" y="12">{seconds_text(k * step)}</text>')
    width = LABEL_WIDTH + PLOT_WIDTH + 8
    return "".join(
        [
            f'<svg class="fd-svg fd-timeline" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{y}" viewBox="0 0 {width} {y}">',
            *lanes,
            f'<path class="fd-grid" d="{"".join(grid)}"/>',
            *ticks,
            f'<path class="fd-wait" d="{"".join(waits)}"/>' if waits else "",
            f'<path class="fd-retry" d="{"".join(retries)}"/>' if retries else "",
            *bars,
            *skips,
            "</svg>",
        ]
    )
