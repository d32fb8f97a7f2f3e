"""``flow.run`` called from inside a vertex body: a run of its own, under every backend."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import flowdsl
from flowdsl import vertex
from tests.runtime._modes import MODES, diamond, every_mode, run_in

INNER_MODES = [*MODES, ("serial", "none")]


def _inner_run_in_a_vertex(inner_mode: tuple[str, str], **inner_options: Any) -> flowdsl.Flow:
    """An outer flow whose sync vertex ``nested`` runs ``diamond()`` under ``inner_mode``."""
    inner = diamond()
    backend, loop = inner_mode

    @vertex
    def nested(x: int) -> int:
        options: dict[str, Any] = {"backend": backend, **inner_options}
        if loop != "none":
            options["anyio_backend"] = loop
        return int(inner.run({"x": x}, **options)["join"])

    @vertex
    async def after(nested: int) -> int:
        await anyio.sleep(0)
        return nested + 1

    return flowdsl.Flow.from_functions(nested, after)


@every_mode
@pytest.mark.parametrize("inner_mode", INNER_MODES, ids=[f"in-{b}-{lp}" for b, lp in INNER_MODES])
def test_a_sync_vertex_runs_a_flow_under_every_backend(
    mode: tuple[str, str], inner_mode: tuple[str, str]
) -> None:
    # Under backend="async" the outer vertex runs inline on the event loop's
    # thread; an inner run that needs a loop of its own still works.
    result = run_in(mode, _inner_run_in_a_vertex(inner_mode), {"x": 1})
    assert result["nested"] == 100
    assert result["after"] == 101


@pytest.mark.parametrize("loop", ["asyncio", "trio"])
def test_one_worker_thread_runs_a_nested_thread_run_without_deadlock(loop: str) -> None:
    flow = _inner_run_in_a_vertex(("thread", loop), max_workers=1)
    result = flow.run({"x": 2}, backend="thread", anyio_backend=loop, max_workers=1)
    assert result["nested"] == (3 * 2 + 3 * 3) * 10


@every_mode
def test_a_coroutine_vertex_may_call_the_blocking_run(mode: tuple[str, str]) -> None:
    inner = diamond()

    @vertex
    async def nested(x: int) -> int:
        return int(inner.run({"x": x}, backend="thread", anyio_backend=mode[1])["join"])

    assert run_in(mode, flowdsl.Flow.from_functions(nested), {"x": 1})["nested"] == 100


class _Names:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.runs: list[str] = []

    def on_run_start(self, event: Any) -> None:
        self.runs.append(event.run_id)

    def on_vertex_start(self, event: Any) -> None:
        self.started.append(event.vertex)


@every_mode
def test_the_inner_run_has_its_own_listeners_options_and_cancellation(
    mode: tuple[str, str],
) -> None:
    outer_seen, inner_seen = _Names(), _Names()
    inner = diamond()
    inner_ids: list[str] = []

    @vertex
    def nested(x: int) -> int:
        result = inner.run({"x": x}, backend="async", listeners=[inner_seen])
        inner_ids.append(result.run_id)
        return int(result["join"])

    outer = flowdsl.Flow.from_functions(nested)
    result = run_in(mode, outer, {"x": 1}, listeners=[outer_seen], timeout=30)
    assert result["nested"] == 100
    assert outer_seen.started == ["nested"]
    assert sorted(inner_seen.started) == ["base", "join", "left", "right"]
    assert inner_ids == inner_seen.runs
    assert inner_ids != outer_seen.runs
    assert result.run_id not in inner_ids


def test_an_inner_failure_is_the_outer_vertex_failure() -> None:
    @vertex
    def broken(x: int) -> int:
        raise ValueError("inner broke")

    inner = flowdsl.Flow.from_functions(broken)

    @vertex
    def nested(x: int) -> int:
        return int(inner.run({"x": x}, backend="thread")["broken"])

    outer = flowdsl.Flow.from_functions(nested)
    with pytest.raises(flowdsl.VertexFailed) as caught:
        outer.run({"x": 1}, backend="async")
    assert caught.value.vertex == "nested"
    inner_failure = caught.value.__cause__
    assert isinstance(inner_failure, flowdsl.VertexFailed)
    assert inner_failure.vertex == "broken"
    assert isinstance(inner_failure.__cause__, ValueError)


@pytest.mark.anyio
async def test_run_outside_any_vertex_on_a_loop_still_points_to_arun(anyio_backend: str) -> None:
    flow = diamond()
    with pytest.raises(RuntimeError, match=rf"{anyio_backend} is running on this thread.*arun"):
        flow.run({"x": 1}, backend="thread")
