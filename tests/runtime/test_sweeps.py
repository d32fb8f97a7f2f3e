"""Sweeps: ``flow.map([...])`` runs a flow once per input set, on every backend."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import flowdsl
from flowdsl import vertex
from tests.runtime import _probe as probe
from tests.runtime._modes import MODES, every_mode

PATIENCE = 10.0


def _map(mode: tuple[str, str], flow: flowdsl.Flow, inputs: Any, **options: Any) -> Any:
    backend, loop = mode
    return flow.map(inputs, backend=backend, anyio_backend=loop, **options)


def _shared_flow() -> flowdsl.Flow:
    @vertex(pure=True)
    def slow_lookup(key: int) -> int:
        with probe.lock:
            probe.calls.append(key)
        time.sleep(0.02)
        return key * 10

    @vertex
    def own(slow_lookup: int, x: int) -> int:
        return slow_lookup + x

    return flowdsl.Flow.from_functions(slow_lookup, own)


@every_mode
def test_results_come_in_order_of_the_input_sets(mode: tuple[str, str]) -> None:
    probe.calls = []
    results = _map(mode, _shared_flow(), [{"key": i % 2, "x": i} for i in range(6)])
    assert [r["own"] for r in results] == [0, 11, 2, 13, 4, 15]
    assert all(isinstance(r, flowdsl.RunResult) for r in results)
    assert len({r.run_id for r in results}) == 6


@every_mode
def test_identical_pure_calls_across_the_sweep_run_once(mode: tuple[str, str]) -> None:
    probe.calls = []
    _map(mode, _shared_flow(), [{"key": 1, "x": i} for i in range(8)])
    assert probe.calls == [1]
    probe.calls = []
    store = flowdsl.MemoryCache()
    _map(mode, _shared_flow(), [{"key": 2, "x": i} for i in range(4)], cache=store)
    _map(mode, _shared_flow(), [{"key": 2, "x": 9}], cache=store)
    assert probe.calls == [2]
    probe.calls = []
    _map(mode, _shared_flow(), [{"key": 3, "x": i} for i in range(3)], cache=False)
    assert probe.calls == [3, 3, 3]


def test_unfingerprintable_arguments_are_not_shared() -> None:
    @vertex(pure=True)
    def holder(lock: Any) -> int:
        with probe.lock:
            probe.calls.append(1)
        return 1

    probe.calls = []
    flow = flowdsl.Flow.from_functions(holder)
    with pytest.warns(flowdsl.CacheWarning):
        flow.map([{"lock": threading.Lock()}, {"lock": threading.Lock()}])
    assert probe.calls == [1, 1]


@pytest.mark.parametrize("mode", [m for m in MODES if m[0] != "serial"], ids=str)
def test_input_sets_run_at_once_off_serial(mode: tuple[str, str]) -> None:
    barrier = threading.Barrier(4, timeout=PATIENCE)

    @vertex(blocking=True)
    def meet(x: int) -> int:
        barrier.wait()
        return x

    results = _map(mode, flowdsl.Flow.from_functions(meet), [{"x": i} for i in range(4)])
    assert [r["meet"] for r in results] == [0, 1, 2, 3]


def test_serial_runs_one_input_set_after_another() -> None:
    running, peak = [0], [0]

    @vertex
    def one(x: int) -> int:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        time.sleep(0.005)
        running[0] -= 1
        return x

    flowdsl.Flow.from_functions(one).map([{"x": i} for i in range(4)], backend="serial")
    assert peak[0] == 1


def test_max_workers_bounds_the_threads_of_the_whole_sweep() -> None:
    running, peak = [0], [0]
    lock = threading.Lock()

    @vertex
    def busy(x: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return x

    @vertex
    def after(busy: int) -> int:
        return busy

    flow = flowdsl.Flow.from_functions(busy, after)
    results = flow.map([{"x": i} for i in range(12)], backend="thread", max_workers=3)
    assert [r["after"] for r in results] == list(range(12))
    assert peak[0] <= 3


@every_mode
def test_the_first_failure_raises_with_its_index_and_cancels_the_rest(
    mode: tuple[str, str],
) -> None:
    started: list[int] = []

    @vertex
    async def step(x: int) -> int:
        started.append(x)
        if x == 1:
            raise ValueError("one")
        await _sleep(PATIENCE * 10 if x > 1 else 0)
        return x

    flow = flowdsl.Flow.from_functions(step)
    begin = time.monotonic()
    with pytest.raises(flowdsl.VertexFailed) as caught:
        _map(mode, flow, [{"x": i} for i in range(4)])
    assert time.monotonic() - begin < PATIENCE  # the long ones were cancelled
    assert caught.value.index == 1
    assert caught.value.vertex == "step"
    assert isinstance(caught.value.__cause__, ValueError)
    if mode[0] == "serial":
        assert started == [0, 1]  # one after another: the rest never started


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


@every_mode
def test_under_continue_each_result_carries_its_errors(mode: tuple[str, str]) -> None:
    @vertex
    def parse(text: str) -> int:
        return int(text)

    results = _map(
        mode,
        flowdsl.Flow.from_functions(parse),
        [{"text": "1"}, {"text": "x"}, {"text": "3"}],
        on_error="continue",
    )
    assert [r.states["parse"] for r in results] == ["completed", "failed", "completed"]
    assert isinstance(results[1].errors["parse"], ValueError)
    assert results[2]["parse"] == 3


def test_bad_input_sets_fail_before_anything_runs() -> None:
    probe.calls = []
    with pytest.raises(flowdsl.MissingInputError):
        _shared_flow().map([{"key": 1, "x": 1}, {"key": 2}], backend="thread")
    assert probe.calls == []


def test_progress_shows_runs_done(capsys: pytest.CaptureFixture[str]) -> None:
    flowdsl.Flow.from_functions(_double).map([{"x": i} for i in range(3)], progress=True)
    err = capsys.readouterr().err
    assert "flowdsl: sweep 3/3 runs done, 0 not completed" in err
    assert "vertices done" not in err  # the sweep's progress, not each run's


def test_run_ids_are_numbered_after_the_given_one() -> None:
    results = flowdsl.Flow.from_functions(_double).map([{"x": 1}, {"x": 2}], run_id="nightly")
    assert [r.run_id for r in results] == ["nightly-0", "nightly-1"]


def test_a_keyword_map_does_not_take_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"map\(\) got an unexpected keyword argument 'workers'"):
        flowdsl.Flow.from_functions(_double).map([{"x": 1}], workers=2)  # type: ignore[call-arg]


def test_an_empty_sweep_is_an_empty_list() -> None:
    assert flowdsl.Flow.from_functions(_double).map([], backend="thread") == []


@vertex
def _double(x: int) -> int:
    return 2 * x
