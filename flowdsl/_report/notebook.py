"""Rich display in notebooks: a flow's graph, and a run's states and timings.

``Flow._repr_mimebundle_`` draws the graph with Graphviz when the ``graphviz``
package and its ``dot`` program are installed (extra ``graphviz``), and
otherwise with flowdsl's own layout as inline SVG in HTML, beside the Mermaid
source as Markdown (which JupyterLab and GitHub draw themselves). Nothing is
loaded from the network.
"""

from __future__ import annotations

import functools
from html import escape
from typing import TYPE_CHECKING, Any

from .._export import to_dot, to_mermaid
from .._model.graph import Graph
from .draw import graph_svg, seconds_text
from .layout import layered
from .page import error_text, state_counts

if TYPE_CHECKING:
    from .._result import RunResult

__all__ = ["flow_mimebundle", "graphviz_svg", "result_html"]

#: Graphs larger than this are not drawn inline (a notebook cell is no place for
#: thousands of boxes): the display points to ``result.report(...)`` instead.
MAX_DRAWN = 400
#: Rows of the states-and-timings table shown in a notebook.
MAX_ROWS = 60


@functools.lru_cache(maxsize=1)
def _graphviz() -> Any:
    # The graphviz package when it and its dot program work, else None (asked once).
    try:
        import graphviz
    except ImportError:
        return None
    try:
        graphviz.version()
    except (graphviz.ExecutableNotFound, OSError, RuntimeError):
        return None
    return graphviz


def graphviz_svg(graph: Graph) -> str | None:
    """``graph`` drawn by Graphviz as SVG, or None when Graphviz is not installed."""
    graphviz = _graphviz()
    if graphviz is None:
        return None
    svg: str = graphviz.Source(to_dot(graph)).pipe(format="svg", encoding="utf-8")
    return svg


def _too_large(count: int) -> str:
    return (
        f"<p><i>{count} vertices: too many to draw here; "
        "<code>result.report(&quot;run.html&quot;)</code> draws them all.</i></p>"
    )


def _own_svg(graph: Graph, states: dict[str, str], critical: tuple[str, ...] = ()) -> str:
    names = list(states) if states else list(graph.order)
    if len(names) > MAX_DRAWN:
        return _too_large(len(names))
    svg = graph_svg(layered(graph, names), states, critical=critical, style=True)
    return f'<div style="overflow:auto;max-height:480px">{svg}</div>'


def flow_mimebundle(graph: Graph) -> dict[str, str]:
    """What ``Flow._repr_mimebundle_`` returns (see the module docstring)."""
    plain = f"<Flow: {len(graph.vertices)} vertices, {len(graph.inputs)} inputs>"
    svg = graphviz_svg(graph) if len(graph.vertices) <= MAX_DRAWN else None
    if svg is not None:
        return {"image/svg+xml": svg, "text/plain": plain}
    return {
        "text/html": _own_svg(graph, {}),
        "text/markdown": f"```mermaid\n{to_mermaid(graph)}```\n",
        "text/plain": plain,
    }


def result_html(result: RunResult) -> str:
    """What ``RunResult._repr_html_`` shows: a summary, the graph colored by state, and
    a table of each vertex's state and timings (slowest first)."""
    states = {name: str(state) for name, state in result.states.items()}
    metrics = result.metrics
    timeline = result.timeline
    rows = []
    ordered = sorted(
        states, key=lambda n: -(metrics.vertices[n].duration if n in metrics.vertices else -1)
    )
    for name in ordered[:MAX_ROWS]:
        m = metrics.vertices.get(name)
        cells = [
            escape(name),
            states[name],
            "" if m is None else seconds_text(m.duration),
            "" if m is None else str(m.attempts),
            "" if m is None or not m.waited else seconds_text(m.waited),
            "" if m is None or m.cache is None else m.cache,
            escape(result.skip_reasons.get(name) or _error(result, name)),
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    more = len(ordered) - MAX_ROWS
    if more > 0:
        rows.append(f'<tr><td colspan="7"><i>… {more} more</i></td></tr>')
    header = "".join(
        f"<th>{h}</th>" for h in ("vertex", "state", "time", "attempts", "waited", "cache", "notes")
    )
    summary = (
        f"<b>RunResult</b> {escape(result.run_id[:8])} · {escape(metrics.backend)} · "
        f"{state_counts(states)} · makespan {seconds_text(timeline.makespan)}, critical path "
        f"{seconds_text(timeline.critical_length)}"
    )
    return (
        f"<div><p>{summary}</p>{_own_svg(result._graph, states, timeline.critical_path)}"
        f'<table style="font-size:12px"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _error(result: RunResult, name: str) -> str:
    error = result.errors.get(name)
    return "" if error is None else error_text(error)
