"""The worker threads shared by runs: reused across runs, bounded per run, gone when idle.

Checked with events and the idle set, never with timing.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from typing import Any

import pytest

import flowdsl
from flowdsl import vertex
from flowdsl._runtime import workers
from flowdsl._runtime.workers import idle_threads
from tests.runtime._modes import eventually

LOOPS = ["asyncio", "trio"]
PATIENCE = 10.0


def _recording() -> tuple[flowdsl.Flow, list[threading.Thread]]:
    seen: list[threading.Thread] = []

    @vertex
    def where(x: int) -> int:
        seen.append(threading.current_thread())
        return x

    return flowdsl.Flow.from_functions(where), seen


@pytest.mark.parametrize("loop", LOOPS)
def test_a_worker_goes_back_to_the_idle_set_and_the_next_run_reuses_it(loop: str) -> None:
    flow, seen = _recording()
    flow.run({"x": 1}, backend="thread", anyio_backend=loop)
    assert eventually(lambda: seen[0] in idle_threads())
    flow.run({"x": 1}, backend="thread", anyio_backend=loop)
    # The idle set hands out the most recently idle worker first.
    assert seen[1] is seen[0]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_run_takes_at_most_max_workers_however_many_are_idle(loop: str) -> None:
    # Fill the idle set with more workers than the next run may use.
    wide = threading.Barrier(6, timeout=PATIENCE)

    def make(i: int, barrier: threading.Barrier | None) -> Any:
        def body(x: int) -> int:
            if barrier is not None:
                barrier.wait()
            return x + i

        body.__name__ = f"w{i}"
        return vertex(body)

    flowdsl.Flow.from_functions(*(make(i, wide) for i in range(6))).run(
        {"x": 0}, backend="thread", max_workers=6, anyio_backend=loop
    )
    assert eventually(lambda: len(idle_threads()) >= 6)

    lock = threading.Lock()
    now = peak = 0

    def gauged(i: int) -> Any:
        def body(x: int) -> int:
            nonlocal now, peak
            with lock:
                now += 1
                peak = max(peak, now)
            time.sleep(0.001)  # give another worker the chance to overlap, not a bound
            with lock:
                now -= 1
            return x + i

        body.__name__ = f"g{i}"
        return vertex(body)

    result = flowdsl.Flow.from_functions(*(gauged(i) for i in range(12))).run(
        {"x": 0}, backend="thread", max_workers=2, anyio_backend=loop
    )
    assert len(result.order) == 12
    assert 1 <= peak <= 2


def test_an_idle_worker_exits_after_idle_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "IDLE_SECONDS", 0.01)
    flow, seen = _recording()
    flow.run({"x": 1}, backend="thread")
    seen[0].join(PATIENCE)
    assert not seen[0].is_alive()
    assert seen[0] not in idle_threads()


def test_workers_are_daemon_threads() -> None:
    flow, seen = _recording()
    flow.run({"x": 1}, backend="thread")
    assert seen[0].daemon


@pytest.mark.parametrize("loop", LOOPS)
def test_a_cancelled_run_leaves_its_workers_idle_once_their_calls_return(loop: str) -> None:
    started = threading.Event()
    release = threading.Event()
    seen: list[threading.Thread] = []

    @vertex
    def busy(x: int) -> int:
        seen.append(threading.current_thread())
        started.set()
        release.wait(PATIENCE)
        return x

    handle = flowdsl.Flow.from_functions(busy).start({"x": 1}, backend="thread", anyio_backend=loop)
    assert started.wait(PATIENCE)
    handle.cancel()
    with pytest.raises(flowdsl.FlowCancelled):
        handle.result(timeout=PATIENCE)
    # The call cannot be interrupted; once it returns, its worker is idle, not lost.
    assert seen[0] not in idle_threads()
    release.set()
    assert eventually(lambda: seen[0] in idle_threads())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_its_own_workers() -> None:
    flow, seen = _recording()
    flow.run({"x": 1}, backend="thread")
    assert eventually(lambda: seen[0] in idle_threads())
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process that has threads: that is the case here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: the parent's idle workers do not exist here
        try:
            code = 0 if flow.run({"x": 2}, backend="thread")["where"] == 2 else 1
        except BaseException:
            code = 1
        os._exit(code)
    deadline = time.monotonic() + PATIENCE
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's run hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
