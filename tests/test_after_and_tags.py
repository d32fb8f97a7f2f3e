"""``@vertex(after=...)`` (a dependency without data), ``tags=`` and ``flow.select``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import flowdsl
from flowdsl import BindingError, CycleError, InvalidVertexError, vertex
from flowdsl._cli.explain import describe
from tests.runtime._modes import every_mode, run_in


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def steps(log: Path, fail_draft: bool = False, skip_draft: bool = False) -> flowdsl.Flow:
    """draft writes to ``log``; publish runs after it, reading nothing of it."""

    @vertex
    def go() -> bool:
        return not skip_draft

    @vertex(when="go")
    def draft(text: str) -> str:
        if fail_draft:
            raise RuntimeError("draft failed")
        with log.open("a") as out:
            out.write("draft ")
        return text.upper()

    @vertex(after=(draft,), tags={"stage": "publish"})
    def publish(channel: str) -> str:
        with log.open("a") as out:
            out.write("publish ")
        return f"published on {channel}"

    @vertex(after="publish")
    def notify(channel: str) -> str:
        return f"notified {channel}"

    return flowdsl.Flow.from_functions(go, draft, publish, notify)


@every_mode
def test_after_orders_without_passing_data(mode: tuple[str, str], tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = run_in(mode, steps(log), {"text": "hi", "channel": "web"})
    assert lines(log) == ["draft", "publish"]
    assert result["notify"] == "notified web"
    assert result.order.index("draft") < result.order.index("publish")


def test_pruning_keeps_what_after_names(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = steps(log).run({"text": "hi", "channel": "web"}, outputs=["publish"])
    assert lines(log) == ["draft", "publish"]
    assert dict(result) == {"publish": "published on web"}


@every_mode
def test_a_failure_of_what_after_names_skips_the_vertex(
    mode: tuple[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    flow = steps(log, fail_draft=True)
    result = run_in(mode, flow, {"text": "hi", "channel": "web"}, on_error="continue")
    assert str(result.states["draft"]) == "failed"
    assert str(result.states["publish"]) == "skipped"
    assert str(result.states["notify"]) == "skipped"
    assert lines(log) == []


@every_mode
def test_a_skip_of_what_after_names_skips_the_vertex(mode: tuple[str, str], tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = run_in(mode, steps(log, skip_draft=True), {"text": "hi", "channel": "web"})
    assert [str(result.states[n]) for n in ("draft", "publish", "notify")] == ["skipped"] * 3
    assert lines(log) == []


def test_after_on_dask(dask_client: object, tmp_path: Path) -> None:
    log = tmp_path / "log"
    flow = steps(log, fail_draft=True)
    result = flow.run(
        {"text": "hi", "channel": "web"},
        backend="dask",
        dask_client=dask_client,
        on_error="continue",
    )
    assert str(result.states["publish"]) == "skipped"
    serial = flow.run({"text": "hi", "channel": "web"}, on_error="continue")
    assert result.skip_reasons == serial.skip_reasons
    assert result.skip_reasons["publish"] == "'draft' failed"
    # A skip (not a failure) of what after= names is named too, as a local run names it.
    skipping = steps(tmp_path / "skip", skip_draft=True)
    skipped = skipping.run(
        {"text": "hi", "channel": "web"}, backend="dask", dask_client=dask_client
    )
    assert skipped.skip_reasons == skipping.run({"text": "hi", "channel": "web"}).skip_reasons
    assert skipped.skip_reasons["publish"] == "needs the output of 'draft', which was skipped"
    assert skipped.skip_reasons["notify"] == "needs the output of 'publish', which was skipped"
    ok = steps(tmp_path / "ok").run(
        {"text": "hi", "channel": "web"}, backend="dask", dask_client=dask_client
    )
    assert ok["notify"] == "notified web"
    assert lines(tmp_path / "ok") == ["draft", "publish"]


def test_after_problems_are_compile_errors_with_suggestions() -> None:
    @vertex
    def draft() -> int:
        return 1

    @vertex(after="draf")
    def typo() -> int:
        return 2

    @vertex(after="typo")
    def self_ref() -> int:
        return 3

    with pytest.raises(BindingError, match=r"after='draf'.*did you mean 'draft'") as info:
        flowdsl.compile(draft, typo)
    assert (info.value.vertex, info.value.parameter) == ("typo", "after")

    @vertex(after="second")
    def first() -> int:
        return 1

    @vertex(after=(first,))
    def second() -> int:
        return 2

    with pytest.raises(CycleError, match=r"first\.after"):
        flowdsl.compile(first, second)


@pytest.mark.parametrize("bad", [3, ["not a name"], [len]])
def test_bad_after_options_are_invalid(bad: object) -> None:
    def step() -> int:
        return 1

    with pytest.raises(InvalidVertexError, match="after="):
        vertex(after=bad)(step)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [["a"], {"": 1}, {"k": [1]}])
def test_bad_tags_are_invalid(bad: object) -> None:
    def step() -> int:
        return 1

    with pytest.raises(InvalidVertexError, match="tags="):
        vertex(tags=bad)(step)  # type: ignore[arg-type]


def test_tags_are_shown_by_exports_and_explain(tmp_path: Path) -> None:
    flow = steps(tmp_path / "log")
    data = {v["name"]: v for v in json.loads(flow.to_json())["vertices"]}
    assert data["publish"]["tags"] == {"stage": "publish"}
    assert data["publish"]["after"] == ["draft"]
    assert data["draft"]["tags"] == {}
    assert "stage: publish" in flow.to_mermaid()
    assert 'v_draft -.->|"after"| v_publish' in flow.to_mermaid()
    assert '"draft" -> "publish" [label="after", style=dotted];' in flow.to_dot()
    assert "stage: publish" in flow.to_dot()
    text = describe(flow.graph, flow.vertices["publish"])
    assert "stage='publish'" in text
    assert "after" in text


def test_select_finds_vertices_by_tags_in_topological_order() -> None:
    @vertex(tags={"owner": "growth", "tier": 1})
    def late(early: int) -> int:
        return early + 1

    @vertex(tags={"owner": "growth", "tier": 2})
    def early() -> int:
        return 1

    @vertex(tags={"owner": "finance"})
    def other() -> int:
        return 0

    flow = flowdsl.Flow.from_functions(late, early, other)
    assert flow.select(tags={"owner": "growth"}) == ["early", "late"]
    assert flow.select(tags={"owner": "growth", "tier": 2}) == ["early"]
    assert flow.select(tags={"owner": "ops"}) == []
    assert flow.select(tags={}) == list(flow.graph.order)
