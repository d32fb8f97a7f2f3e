"""Listeners: which events a run sends, in what order, to plain and coroutine methods."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import anyio
import attrs
import pytest

import flowdsl
from flowdsl import (
    CacheHit,
    Event,
    Listener,
    RetryPolicy,
    RunEnded,
    RunStarted,
    VertexEnded,
    VertexErrored,
    VertexRetrying,
    VertexSkipped,
    VertexStarted,
    vertex,
)
from tests.runtime import _probe as probe
from tests.runtime._modes import diamond, every_mode, run_in


class Recorder(Listener):
    """Keeps every event; plain methods."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.threads: set[int] = set()
        self.lock = threading.Lock()
        self.inside = 0
        self.overlapped = False

    def _keep(self, event: Event) -> None:
        # Events of one run come one at a time: never two inside at once.
        with self.lock:
            self.inside += 1
            self.overlapped = self.overlapped or self.inside > 1
        self.events.append(event)
        self.threads.add(threading.get_ident())
        with self.lock:
            self.inside -= 1

    on_run_start = on_vertex_start = on_vertex_end = on_vertex_error = _keep
    on_retry = on_skip = on_cache_hit = on_run_end = _keep

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def test_a_serial_run_sends_its_events_in_order() -> None:
    recorder = Recorder()
    result = diamond().run({"x": 1}, listeners=[recorder])
    kinds = [(type(e).__name__, getattr(e, "vertex", None)) for e in recorder.events]
    assert kinds == [
        ("RunStarted", None),
        ("VertexStarted", "base"),
        ("VertexEnded", "base"),
        ("VertexStarted", "left"),
        ("VertexEnded", "left"),
        ("VertexStarted", "right"),
        ("VertexEnded", "right"),
        ("VertexStarted", "join"),
        ("VertexEnded", "join"),
        ("RunEnded", None),
    ]
    start = recorder.events[0]
    assert isinstance(start, RunStarted)
    assert start.backend == "serial"
    assert start.vertices == ("base", "left", "right", "join")
    assert {e.run_id for e in recorder.events} == {result.run_id}
    times = [e.time for e in recorder.events]
    assert times == sorted(times)
    end = recorder.events[-1]
    assert isinstance(end, RunEnded)
    assert (end.outcome, end.completed, end.failed, end.skipped) == ("completed", 4, 0, 0)
    assert end.duration == result.metrics.total
    ended = {e.vertex: e for e in recorder.of(VertexEnded)}
    assert ended["join"].attempt == 1
    assert ended["join"].duration == result.metrics.vertices["join"].duration


@every_mode
def test_every_backend_sends_one_start_and_one_end_per_vertex(mode: tuple[str, str]) -> None:
    recorder = Recorder()
    run_in(mode, diamond(), {"x": 1}, listeners=[recorder])
    assert isinstance(recorder.events[0], RunStarted)
    assert isinstance(recorder.events[-1], RunEnded)
    names = ["base", "left", "right", "join"]
    assert sorted(e.vertex for e in recorder.of(VertexStarted)) == sorted(names)
    assert sorted(e.vertex for e in recorder.of(VertexEnded)) == sorted(names)
    position = {id(e): i for i, e in enumerate(recorder.events)}
    starts = {e.vertex: position[id(e)] for e in recorder.of(VertexStarted)}
    ends = {e.vertex: position[id(e)] for e in recorder.of(VertexEnded)}
    for name in names:
        assert starts[name] < ends[name]
    assert ends["base"] < starts["left"]
    assert max(ends["left"], ends["right"]) < starts["join"]
    assert not recorder.overlapped


@every_mode
def test_failures_retries_and_skips_are_sent(mode: tuple[str, str]) -> None:
    calls = []

    @vertex(retry=RetryPolicy(max_retries=2, delay=0.001))
    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) < 3:
            raise ConnectionError(f"try {len(calls)}")
        return x

    @vertex
    def broken(x: int) -> int:
        raise ValueError("broken")

    @vertex
    def after(broken: int) -> int:
        return broken

    @vertex
    def gate(x: int) -> bool:
        return False

    @vertex(when="gate")
    def gated(x: int) -> int:
        return x

    recorder = Recorder()
    flow = flowdsl.Flow.from_functions(flaky, broken, after, gate, gated)
    run_in(mode, flow, {"x": 1}, listeners=[recorder], on_error="continue")

    retries = recorder.of(VertexRetrying)
    assert [(e.vertex, e.attempt, str(e.error)) for e in retries] == [
        ("flaky", 1, "try 1"),
        ("flaky", 2, "try 2"),
    ]
    assert all(0.001 <= e.delay < 1 for e in retries)
    flaky_starts = [e.attempt for e in recorder.of(VertexStarted) if e.vertex == "flaky"]
    assert flaky_starts == [1, 2, 3]
    assert [e.attempt for e in recorder.of(VertexEnded) if e.vertex == "flaky"] == [3]

    errors = recorder.of(VertexErrored)
    assert [(e.vertex, type(e.error)) for e in errors] == [("broken", ValueError)]
    skips = {e.vertex: e.reason for e in recorder.of(VertexSkipped)}
    assert skips == {"after": "'broken' failed", "gated": "condition 'gate' was false"}
    end = recorder.events[-1]
    assert isinstance(end, RunEnded)
    assert (end.outcome, end.completed, end.failed, end.skipped) == ("failed", 2, 1, 2)


def test_cache_hits_are_sent() -> None:
    probe.calls = []

    @vertex(pure=True)
    def square(x: int) -> int:
        probe.calls.append(x)
        return x * x

    flow = flowdsl.Flow.from_functions(square)
    store = flowdsl.MemoryCache()
    flow.run({"x": 3}, cache=store)
    recorder = Recorder()
    flow.run({"x": 3}, cache=store, listeners=[recorder])
    assert [e.vertex for e in recorder.of(CacheHit)] == ["square"]
    assert probe.calls == [3]


def test_a_failing_run_ends_with_outcome_failed_and_the_error() -> None:
    @vertex
    def boom(x: int) -> int:
        raise RuntimeError("boom")

    recorder = Recorder()
    with pytest.raises(flowdsl.VertexFailed):
        flowdsl.Flow.from_functions(boom).run({"x": 1}, listeners=[recorder])
    assert [type(e).__name__ for e in recorder.events] == [
        "RunStarted",
        "VertexStarted",
        "VertexErrored",
        "RunEnded",
    ]
    assert recorder.events[-1].outcome == "failed"  # type: ignore[attr-defined]


def test_a_listener_that_raises_is_logged_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def on_vertex_end(self, event: VertexEnded) -> None:
            raise KeyError("listener bug")

    recorder = Recorder()
    with caplog.at_level(logging.ERROR, logger="flowdsl"):
        result = diamond().run({"x": 1}, listeners=[Broken(), recorder])
    assert result["join"] == 100
    assert len(recorder.of(VertexEnded)) == 4  # the next listener still hears everything
    failures = [r for r in caplog.records if "failed on VertexEnded" in r.getMessage()]
    assert len(failures) == 4
    assert failures[0].run_id == result.run_id  # type: ignore[attr-defined]
    assert failures[0].vertex == "base"  # type: ignore[attr-defined]
    assert failures[0].exc_info is not None


def test_a_listener_may_have_only_some_methods() -> None:
    seen = []

    class OnlyEnd:
        def on_run_end(self, event: RunEnded) -> None:
            seen.append(event.outcome)

    diamond().run({"x": 1}, listeners=[OnlyEnd()])
    assert seen == ["completed"]


def test_a_hook_that_is_not_callable_is_refused() -> None:
    class Wrong:
        on_vertex_end = 3

    with pytest.raises(TypeError, match="on_vertex_end is not callable"):
        diamond().run({"x": 1}, listeners=[Wrong()])


class AsyncRecorder:
    """Coroutine methods only."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def _keep(self, event: Event) -> None:
        await anyio.sleep(0)
        self.events.append(event)

    on_run_start = on_vertex_start = on_vertex_end = on_run_end = _keep


@every_mode
def test_coroutine_listeners_hear_everything_before_the_run_returns(
    mode: tuple[str, str],
) -> None:
    recorder = AsyncRecorder()
    run_in(mode, diamond(), {"x": 1}, listeners=[recorder])
    assert isinstance(recorder.events[0], RunStarted)
    assert isinstance(recorder.events[-1], RunEnded)
    assert len(recorder.events) == 2 + 2 * 4


@pytest.mark.anyio
async def test_listeners_under_arun() -> None:
    plain, coroutines = Recorder(), AsyncRecorder()
    result = await diamond().arun({"x": 1}, backend="async", listeners=[plain, coroutines])
    assert result["join"] == 100
    assert len(plain.events) == 10
    assert [type(e) for e in coroutines.events] == [
        type(e) for e in plain.events if not isinstance(e, (VertexRetrying, CacheHit))
    ]


def test_events_are_immutable_values() -> None:
    event = VertexStarted(run_id="r", time=1.0, vertex="v", attempt=1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.vertex = "w"  # type: ignore[misc]
    assert event == VertexStarted(run_id="r", time=1.0, vertex="v", attempt=1)


@pytest.mark.parametrize("backend", ["serial", "thread", "async"])
def test_log_records_carry_the_run_id_and_the_vertex(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    @vertex(retries=1, contracts="warn")
    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise ConnectionError("reset")
        return "not an int"  # type: ignore[return-value]

    with caplog.at_level(logging.INFO, logger="flowdsl"):
        result = flowdsl.Flow.from_functions(flaky).run({"x": 1}, backend=backend)
    records = [r for r in caplog.records if r.name == "flowdsl"]
    messages = [r.getMessage() for r in records]
    assert any("retrying" in m for m in messages), messages
    assert any("contract violation" in m for m in messages), messages
    for record in records:
        assert record.run_id == result.run_id  # type: ignore[attr-defined]
        assert record.vertex == "flaky"  # type: ignore[attr-defined]


@pytest.mark.parametrize("mapped", [False, True])
def test_time_waiting_for_a_worker_is_measured(mapped: bool) -> None:
    @vertex(blocking=True)
    def first(x: int) -> int:
        time.sleep(0.05)
        return x

    @vertex(blocking=True)
    def second(x: int) -> int:
        time.sleep(0.05)
        return x

    @vertex(map_over="xs", blocking=True)
    def each(xs: int) -> int:
        time.sleep(0.05)
        return xs

    if mapped:
        flow, inputs = flowdsl.Flow.from_functions(each), {"xs": [1, 2]}
    else:
        flow, inputs = flowdsl.Flow.from_functions(first, second), {"x": 1}
    result = flow.run(inputs, backend="thread", max_workers=1)
    waited = [m.waited for m in result.metrics.vertices.values()]
    # One worker: one of the two calls waited for the other's 50 ms.
    assert sum(waited) >= 0.04
    serial = flow.run(inputs)
    assert all(m.waited == 0.0 for m in serial.metrics.vertices.values())
