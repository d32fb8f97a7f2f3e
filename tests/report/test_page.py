"""The HTML report as a file: self-contained, small, complete, written whole or not at all."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import flowdsl
from flowdsl import MemoryCache
from flowdsl._report import page
from tests.report._flows import SMALL, layered_flow, run_small

#: The issue's bound for a 1,000-vertex run.
MAX_BYTES_AT_1000 = 500_000


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each script."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _parse(text: str) -> _Elements:
    parser = _Elements()
    parser.feed(text)
    return parser


def test_report_is_one_file_that_needs_nothing_else(tmp_path: Path) -> None:
    path = run_small().report(tmp_path / "run.html")
    assert path == tmp_path / "run.html"
    text = path.read_text(encoding="utf-8")
    elements = _parse(text)
    for tag, attrs in elements.tags:
        assert tag not in ("link", "iframe", "img", "object", "embed"), tag
        assert not {"src", "href"} & set(attrs), (tag, attrs)
    # The only URL is the SVG namespace, which is a name, never fetched.
    assert set(re.findall(r"https?://[^\"'\s)]+", text)) == {"http://www.w3.org/2000/svg"}
    assert "@import" not in text
    assert "url(" not in text


def test_report_has_the_graph_the_timeline_and_the_details(tmp_path: Path) -> None:
    store = MemoryCache()
    run_small(cache=store)
    result = run_small(cache=store)  # score comes from the cache
    text = result.report(tmp_path / "run.html").read_text(encoding="utf-8")
    elements = _parse(text)
    data = json.loads(elements.scripts[0].replace("<\\/", "</"))
    names = [row[0] for row in data["vertices"]]
    assert names == list(result.states)
    boxes = {
        int(attrs["data-v"] or -1): attrs["class"]
        for tag, attrs in elements.tags
        if "fd-n" in (attrs.get("class") or "") and "data-v" in attrs
    }
    assert len(boxes) == len(names)
    states = {names[i]: (cls or "").split()[1] for i, cls in boxes.items()}
    assert states["load"] == "fd-completed"
    assert states["broken"] == "fd-failed"
    assert states["review"] == states["after_broken"] == "fd-skipped"
    bars = [a for tag, a in elements.tags if "fd-b" in (a.get("class") or "") and "data-v" in a]
    kinds = {(names[int(a["data-v"] or -1)], (a["class"] or "").split()[1]) for a in bars}
    assert ("fetch", "fd-retried") in kinds
    assert ("fetch", "fd-completed") in kinds
    assert ("score", "fd-hit") in kinds
    assert ("broken", "fd-failed") in kinds
    skips = [attrs for tag, attrs in elements.tags if attrs.get("class") == "fd-skip"]
    assert sorted(names[int(a["data-v"] or -1)] for a in skips) == ["after_broken", "review"]
    critical = {
        names[int(a["data-v"] or -1)]
        for tag, a in elements.tags
        if "fd-cp" in (a.get("class") or "") and "data-v" in a
    }
    assert critical == set(result.timeline.critical_path)
    assert "makespan" in text
    assert "critical path" in text
    details = dict(zip(names, data["vertices"], strict=True))
    assert details["fetch"][1:5] == ["completed", details["fetch"][2], 2, details["fetch"][4]]
    assert "ValueError" in details["broken"][8]
    assert details["score"][5] == "hit"
    assert details["review"][9].startswith("condition")
    assert data["files"][details["load"][10]].endswith("_flows.py")


def test_values_and_errors_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    text = run_small().report(tmp_path / "run.html").read_text(encoding="utf-8")
    assert "<script><script>" not in text
    assert text.count("</script>") == 2  # the data's and the script's own


def test_short_repr_is_one_short_line_and_never_raises() -> None:
    assert page.short_repr("a\nb") == "'a\\nb'"
    assert len(page.short_repr(list(range(10_000)))) <= page.REPR_LIMIT

    # Python refuses to turn an int of more than 4,300 digits into text.
    assert page.short_repr(10**5000) == "<int: repr failed: ValueError>"
    assert len(page.short_repr("x" * 1000)) == page.REPR_LIMIT


def test_a_report_of_1000_vertices_is_at_most_500_kb(tmp_path: Path) -> None:
    result = layered_flow(1000).run({"x": 1}, backend="thread", max_workers=4)
    size = result.report(tmp_path / "run.html").stat().st_size
    assert size <= MAX_BYTES_AT_1000, size


def test_the_file_is_written_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "run.html"
    target.write_text("the previous report")
    result = run_small()

    def failing_replace(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(page.os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        result.report(target)
    monkeypatch.undo()
    assert target.read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["run.html"]


def test_a_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_small().report(tmp_path / "nowhere" / "run.html")


def test_a_partial_result_of_a_failed_run_has_a_report(tmp_path: Path) -> None:
    with pytest.raises(flowdsl.VertexFailed) as caught:
        SMALL.run({"x": 6})
    partial = caught.value.result
    assert partial is not None
    text = partial.report(tmp_path / "run.html").read_text(encoding="utf-8")
    assert "fd-failed" in text
