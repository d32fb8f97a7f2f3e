"""Notebook display: a flow's graph (Graphviz, or flowdsl's own SVG and Mermaid) and a
run's states and timings."""

from __future__ import annotations

import pytest

from flowdsl._report import notebook
from tests.report._flows import SMALL, layered_flow, run_small


def test_without_graphviz_a_flow_shows_its_own_svg_and_mermaid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notebook, "_graphviz", lambda: None)
    bundle = SMALL._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/markdown", "text/plain"}
    html = bundle["text/html"]
    assert html.count('class="fd-n fd-pending"') == len(SMALL.vertices)
    assert "<style>" in html  # a notebook page has no stylesheet of ours
    assert "<title>fetch: pending</title>" in html  # no script there: tooltips
    assert bundle["text/markdown"] == f"```mermaid\n{SMALL.to_mermaid()}```\n"
    assert bundle["text/plain"] == repr(SMALL)


def test_with_graphviz_a_flow_is_drawn_by_it() -> None:
    if notebook._graphviz() is None:
        pytest.skip("Graphviz is not installed: pip install 'flowdsl[graphviz]' and its dot")
    bundle = SMALL._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert "<svg" in bundle["image/svg+xml"]
    assert ">fetch</text>" in bundle["image/svg+xml"]


def test_a_large_flow_is_not_drawn_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook, "_graphviz", lambda: None)
    flow = layered_flow(notebook.MAX_DRAWN + 1)
    html = flow._repr_mimebundle_()["text/html"]
    assert "too many to draw here" in html
    assert "<rect" not in html


def test_a_result_shows_states_timings_and_the_graph_by_state() -> None:
    result = run_small()
    html = result._repr_html_()
    assert html.count('class="fd-n fd-completed') == 6
    assert html.count('class="fd-n fd-failed') == 1
    assert html.count('class="fd-n fd-skipped') == 2
    assert "<td>fetch</td><td>completed</td>" in html
    assert "ValueError: &lt;/script&gt;&lt;script&gt;" in html  # escaped
    assert "condition &#x27;large&#x27; was false" in html
    assert "critical path" in html


def test_a_large_result_lists_its_slowest_vertices() -> None:
    result = layered_flow(100).run({"x": 1})
    html = result._repr_html_()
    assert html.count("<tr><td>v") == notebook.MAX_ROWS
    assert f"… {100 - notebook.MAX_ROWS} more" in html


def test_graphviz_svg_is_none_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook, "_graphviz", lambda: None)
    assert notebook.graphviz_svg(SMALL.graph) is None
