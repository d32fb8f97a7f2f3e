"""``result.timeline``: each call on the lane it ran on, waits, retries, cache hits,
skips and the critical path, on every backend."""

from __future__ import annotations

import json
import threading
import time

import anyio
import pytest

import flowdsl
from flowdsl import MemoryCache, RetryPolicy, Span, Timeline, vertex
from tests.runtime._modes import MODES, every_mode

#: Vertices that must overlap wait here for each other (bounded: never hangs).
BARRIER_TIMEOUT = 10.0


@vertex
def root(x: int) -> int:
    time.sleep(0.005)
    return x


@vertex
def slow(root: int) -> int:
    time.sleep(0.04)
    return root + 1


@vertex
def quick(root: int) -> int:
    return root + 2


@vertex
def join(slow: int, quick: int) -> int:
    return slow + quick


DIAMOND = flowdsl.Flow.from_functions(root, slow, quick, join)


def _by_vertex(timeline: Timeline) -> dict[str, list[Span]]:
    spans: dict[str, list[Span]] = {}
    for span in timeline.spans:
        spans.setdefault(span.vertex, []).append(span)
    return spans


@every_mode
def test_each_vertex_has_a_span_after_its_inputs_and_the_critical_path_is_the_slow_branch(
    mode: tuple[str, str],
) -> None:
    backend, loop = mode
    result = DIAMOND.run({"x": 1}, backend=backend, anyio_backend=loop)
    timeline = result.timeline
    spans = _by_vertex(timeline)
    assert sorted(spans) == ["join", "quick", "root", "slow"]
    assert all(len(found) == 1 and found[0].outcome == "completed" for found in spans.values())
    for child, parents in {"slow": ["root"], "quick": ["root"], "join": ["slow", "quick"]}.items():
        for parent in parents:
            assert spans[parent][0].end <= spans[child][0].start + 1e-9
    assert all(0 <= span.start <= span.end <= timeline.makespan + 1e-6 for span in timeline.spans)
    assert [s.start for s in timeline.spans] == sorted(s.start for s in timeline.spans)
    assert timeline.critical_path == ("root", "slow", "join")
    assert timeline.critical_length == pytest.approx(
        sum(result.metrics.vertices[n].duration for n in timeline.critical_path)
    )
    assert timeline.critical_length >= 0.045
    assert timeline.makespan >= timeline.critical_length
    assert timeline.lanes[0] in ("event loop", "caller thread")


def test_serial_steps_follow_each_other_on_the_callers_thread() -> None:
    timeline = DIAMOND.run({"x": 1}).timeline
    assert timeline.lanes == ("caller thread",)
    ends = [0.0, *(span.end for span in timeline.spans[:-1])]
    assert [span.start for span in timeline.spans] == pytest.approx(ends, abs=1e-4)


both: threading.Barrier


@vertex
def left(x: int) -> int:
    both.wait(BARRIER_TIMEOUT)
    time.sleep(0.01)
    return x


@vertex
def right(x: int) -> int:
    both.wait(BARRIER_TIMEOUT)
    time.sleep(0.01)
    return x


def test_thread_backend_draws_calls_that_overlapped_on_lanes_of_their_own() -> None:
    global both
    both = threading.Barrier(2)
    flow = flowdsl.Flow.from_functions(left, right)
    timeline = flow.run({"x": 1}, backend="thread", max_workers=2).timeline
    first, second = timeline.spans
    assert first.lane != second.lane
    assert {first.lane, second.lane} <= {"worker 1", "worker 2"}
    assert second.start < first.end  # they overlapped


def test_a_step_waiting_for_the_only_worker_shows_its_wait() -> None:
    flow = flowdsl.Flow.from_functions(root, slow, quick)
    timeline = flow.run({"x": 1}, backend="thread", max_workers=1).timeline
    spans = _by_vertex(timeline)
    later = max(spans["slow"][0], spans["quick"][0], key=lambda span: span.start)
    earlier = min(spans["slow"][0], spans["quick"][0], key=lambda span: span.start)
    assert later.start >= earlier.end - 1e-6
    assert later.waited >= earlier.duration * 0.5


@vertex
async def nap_a(x: int) -> int:
    await anyio.sleep(0.03)
    return x


@vertex
async def nap_b(x: int) -> int:
    await anyio.sleep(0.03)
    return x


@pytest.mark.anyio
async def test_coroutines_overlap_on_the_event_loop_lane() -> None:
    flow = flowdsl.Flow.from_functions(nap_a, nap_b)
    result = await flow.arun({"x": 1}, backend="async")
    first, second = result.timeline.spans
    assert first.lane == second.lane == "event loop"
    assert second.start < first.end


calls = {"flaky": 0}


@vertex(retry=RetryPolicy(max_retries=2, delay=0.03))
def flaky(x: int) -> int:
    calls["flaky"] += 1
    if calls["flaky"] == 1:
        raise ConnectionError("first call fails")
    return x


@pytest.mark.parametrize("mode", [m for m in MODES if m[0] != "async"] + [("async", "trio")])
def test_a_retried_call_and_the_delay_before_the_next(mode: tuple[str, str]) -> None:
    calls["flaky"] = 0
    flow = flowdsl.Flow.from_functions(flaky)
    timeline = flow.run({"x": 1}, backend=mode[0], anyio_backend=mode[1]).timeline
    first, second = timeline.spans
    assert (first.attempt, first.outcome) == (1, "retried")
    assert (second.attempt, second.outcome) == (2, "completed")
    assert second.start - first.end >= 0.025


def _plan_b(x: int) -> int:
    return -x


@vertex(fallback=_plan_b)
def broken(x: int) -> int:
    raise ValueError("always")


@vertex
def fails(x: int) -> int:
    raise ValueError("no")


def test_failures_and_fallbacks() -> None:
    flow = flowdsl.Flow.from_functions(broken, fails)
    timeline = flow.run({"x": 1}, on_error="continue").timeline
    spans = _by_vertex(timeline)
    assert [(s.outcome, s.fallback) for s in spans["broken"]] == [
        ("failed", None),
        ("completed", "_plan_b"),
    ]
    assert [s.outcome for s in spans["fails"]] == ["failed"]


@vertex(pure=True)
def priced(x: int) -> int:
    return x * 3


def test_a_cache_hit_is_a_span_of_its_own_kind() -> None:
    flow = flowdsl.Flow.from_functions(priced)
    store = MemoryCache()
    flow.run({"x": 1}, cache=store)
    (span,) = flow.run({"x": 1}, cache=store).timeline.spans
    assert (span.outcome, span.attempt) == ("cache hit", 0)


@vertex
def large(x: int) -> bool:
    return x > 10


@vertex(when="large")
def review(x: int) -> int:
    return x


@vertex
def after_review(review: int) -> int:
    return review


@every_mode
def test_skips_are_listed_with_their_time(mode: tuple[str, str]) -> None:
    flow = flowdsl.Flow.from_functions(large, review, after_review)
    timeline = flow.run({"x": 1}, backend=mode[0], anyio_backend=mode[1]).timeline
    assert sorted(timeline.skips) == ["after_review", "review"]
    assert all(0 <= when <= timeline.makespan + 1e-6 for when in timeline.skips.values())
    assert [span.vertex for span in timeline.spans] == ["large"]


@vertex(map_over="items")
def each(items: int) -> int:
    return items * 2


def test_a_mapped_vertex_has_a_span_per_element_call() -> None:
    flow = flowdsl.Flow.from_functions(each)
    timeline = flow.run({"items": [1, 2, 3]}, backend="thread").timeline
    assert [span.vertex for span in timeline.spans] == ["each"] * 3


def test_to_dict_is_plain_data() -> None:
    timeline = DIAMOND.run({"x": 1}).timeline
    data = json.loads(json.dumps(timeline.to_dict()))
    assert data["critical_path"] == ["root", "slow", "join"]
    assert [span["vertex"] for span in data["spans"]] == ["root", "slow", "quick", "join"]


def test_dask_runs_place_steps_by_the_time_the_workers_report(dask_client: object) -> None:
    result = DIAMOND.run({"x": 1}, backend="dask", dask_client=dask_client)
    spans = _by_vertex(result.timeline)
    assert spans["root"][0].end <= spans["slow"][0].start + 0.05
    assert spans["slow"][0].duration >= 0.035


@vertex
def settings_of(x: int) -> dict[str, bool]:
    return {"other": True}


@vertex(when="settings_of.enabled")
def gated(x: int) -> int:
    return x


@every_mode
def test_a_vertex_whose_condition_cannot_be_read_fails_at_a_time_within_the_run(
    mode: tuple[str, str],
) -> None:
    flow = flowdsl.Flow.from_functions(settings_of, gated)
    result = flow.run({"x": 1}, backend=mode[0], anyio_backend=mode[1], on_error="continue")
    assert "gated" in result.errors
    spans = _by_vertex(result.timeline)
    (span,) = spans["gated"]
    assert span.outcome == "failed"
    assert spans["settings_of"][0].end <= span.start + 1e-9
    assert span.end <= result.timeline.makespan + 1e-6


@vertex(timeout=30)  # a worker's call with a deadline: the step is a task of the run
def on_a_worker(x: int) -> int:
    return x


class _SlowToHearAStart(flowdsl.Listener):
    def on_vertex_start(self, event: object) -> None:
        time.sleep(0.05)  # the step's recorded start is this long before its call


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
def test_a_worker_call_begun_late_still_ends_after_it_began(anyio_backend: str) -> None:
    """A step's span runs from when its worker began the call to when the call returned,
    however long passed between the step's start and the call (here a listener's)."""
    flow = flowdsl.Flow.from_functions(on_a_worker)
    result = flow.run(
        {"x": 1}, backend="thread", anyio_backend=anyio_backend, listeners=[_SlowToHearAStart()]
    )
    (span,) = result.timeline.spans
    assert span.lane.startswith("worker")
    assert 0 <= span.start <= span.end <= result.timeline.makespan
    assert span.start >= 0.04  # it began after the listener heard of it
