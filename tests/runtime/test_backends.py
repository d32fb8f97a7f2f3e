"""The serial, thread and async backends: where calls run, scheduling, failures, deadlines.

Concurrency is checked with events and counters, never with tight timing.
Every wait in a vertex is bounded, so a broken scheduler fails instead of hanging.
"""

from __future__ import annotations

import gc
import signal
import threading
import time
import weakref
from typing import Any

import anyio
import pytest

import flowdsl
from flowdsl import vertex
from flowdsl._runtime.loops import running_loop
from flowdsl._runtime.workers import idle_threads
from tests.runtime._modes import diamond, eventually

BACKENDS = ["serial", "thread", "async"]
CONCURRENT = ["thread", "async"]
LOOPS = ["asyncio", "trio"]
PATIENCE = 10.0  # seconds any wait may take before the test fails instead of hanging


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_computes_the_same_outputs(backend: str, loop: str) -> None:
    result = diamond().run({"x": 1}, backend=backend, anyio_backend=loop)
    assert dict(result) == {"base": 2, "left": 4, "right": 6, "join": 100}
    assert set(result.order) == {"base", "left", "right", "join"}
    assert result.order[0] == "base"
    assert result.order[-1] == "join"
    assert result.metrics.backend == backend


@pytest.mark.anyio
@pytest.mark.parametrize("backend", BACKENDS)
async def test_arun_inside_a_running_loop(backend: str) -> None:
    result = await diamond().arun({"x": 1}, backend=backend)
    assert result["join"] == 100


def test_thread_backend_runs_sync_vertices_on_worker_threads() -> None:
    seen: dict[str, int] = {}

    @vertex
    def where(x: int) -> int:
        seen["where"] = threading.get_ident()
        return x

    flowdsl.Flow.from_functions(where).run({"x": 1}, backend="thread")
    assert seen["where"] != threading.get_ident()


@pytest.mark.parametrize("loop", LOOPS)
def test_async_backend_runs_sync_glue_on_the_loop_thread_and_blocking_ones_on_workers(
    loop: str,
) -> None:
    seen: dict[str, int] = {}

    @vertex
    async def on_loop(x: int) -> int:
        seen["loop"] = threading.get_ident()
        return x

    @vertex
    def glue(on_loop: int) -> int:
        seen["glue"] = threading.get_ident()
        return on_loop

    @vertex(blocking=True)
    def heavy(on_loop: int) -> int:
        seen["heavy"] = threading.get_ident()
        return on_loop

    flow = flowdsl.Flow.from_functions(on_loop, glue, heavy)
    flow.run({"x": 1}, backend="async", anyio_backend=loop)
    assert seen["glue"] == seen["loop"]
    assert seen["heavy"] != seen["loop"]


def test_serial_backend_runs_one_vertex_at_a_time_in_declaration_order() -> None:
    calls: list[str] = []

    def make(name: str) -> Any:
        def body(x: int) -> int:
            calls.append(name)
            return x

        body.__name__ = name
        return vertex(body)

    vertices = [make(name) for name in ("c", "a", "b")]
    result = flowdsl.Flow.from_functions(*vertices).run({"x": 0})
    assert calls == ["c", "a", "b"]
    assert result.order == ("c", "a", "b")


class _Gauge:
    """Counts calls in flight and remembers the peak (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def enter(self) -> int:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            return self.now

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


@pytest.mark.parametrize("loop", LOOPS)
def test_peak_worker_threads_equal_max_workers(loop: str) -> None:
    gauge = _Gauge()
    full = threading.Event()

    def make(i: int) -> Any:
        def body(x: int) -> int:
            if gauge.enter() >= 3:
                full.set()
            # Hold the thread until three run at once, so the peak is reached for sure.
            full.wait(PATIENCE)
            gauge.leave()
            return x + i

        body.__name__ = f"w{i}"
        return vertex(body)

    flow = flowdsl.Flow.from_functions(*(make(i) for i in range(8)))
    result = flow.run({"x": 0}, backend="thread", max_workers=3, anyio_backend=loop)
    assert full.is_set()
    assert gauge.peak == 3
    assert len(result.order) == 8


@pytest.mark.anyio
async def test_max_concurrency_bounds_coroutine_vertices() -> None:
    gauge = _Gauge()
    full = anyio.Event()

    def make(i: int) -> Any:
        async def body(x: int) -> int:
            if gauge.enter() >= 2:
                full.set()
            with anyio.fail_after(PATIENCE):
                await full.wait()
            gauge.leave()
            return x + i

        body.__name__ = f"c{i}"
        return vertex(body)

    flow = flowdsl.Flow.from_functions(*(make(i) for i in range(6)))
    result = await flow.arun({"x": 0}, backend="async", max_concurrency=2)
    assert gauge.peak == 2
    assert len(result.order) == 6


@pytest.mark.parametrize("backend", CONCURRENT)
def test_coroutines_run_concurrently_and_unbounded_by_default(backend: str) -> None:
    gauge = _Gauge()
    full = threading.Event()

    def make(i: int) -> Any:
        async def body(x: int) -> int:
            if gauge.enter() >= 5:
                full.set()
            deadline = time.monotonic() + PATIENCE
            while not full.is_set() and time.monotonic() < deadline:
                await anyio.sleep(0.001)
            gauge.leave()
            return x

        body.__name__ = f"c{i}"
        return vertex(body)

    flowdsl.Flow.from_functions(*(make(i) for i in range(5))).run({"x": 0}, backend=backend)
    assert gauge.peak == 5


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", CONCURRENT)
def test_scheduling_is_dependency_driven_without_stage_barriers(backend: str, loop: str) -> None:
    # `slow` (stage 0) finishes only after `late` (stage 2) ran: a scheduler
    # that waits for a whole stage before starting the next would never get there.
    reached = threading.Event()

    @vertex
    async def slow(x: int) -> int:
        deadline = time.monotonic() + PATIENCE
        while not reached.is_set() and time.monotonic() < deadline:
            await anyio.sleep(0.001)
        return x

    @vertex
    def fast(x: int) -> int:
        return x + 1

    @vertex
    def middle(fast: int) -> int:
        return fast + 1

    @vertex
    def late(middle: int) -> int:
        reached.set()
        return middle + 1

    flow = flowdsl.Flow.from_functions(slow, fast, middle, late)
    assert flow.stages() == [["slow", "fast"], ["middle"], ["late"]]
    result = flow.run({"x": 0}, backend=backend, anyio_backend=loop)
    assert reached.is_set()
    assert result.order.index("late") < result.order.index("slow")


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_failure_raises_with_the_partial_result(backend: str) -> None:
    @vertex
    def ok(x: int) -> int:
        return x

    @vertex
    def broken(ok: int) -> int:
        raise ValueError(f"bad value {ok}")

    @vertex
    def after(broken: int) -> int:
        return broken

    flow = flowdsl.Flow.from_functions(ok, broken, after)
    with pytest.raises(flowdsl.VertexFailed) as caught:
        flow.run({"x": 3}, backend=backend)
    error = caught.value
    assert error.vertex == "broken"
    assert isinstance(error.__cause__, ValueError)
    assert "bad value 3" in str(error)
    assert error.result is not None
    assert dict(error.result) == {"ok": 3}
    assert error.result.states["broken"] == "failed"
    assert error.result.states["after"] == "pending"


@pytest.mark.parametrize("loop", LOOPS)
def test_a_failure_cancels_coroutines_in_flight(loop: str) -> None:
    cleaned_up = threading.Event()

    @vertex
    async def waits_forever(x: int) -> int:
        try:
            await anyio.sleep(PATIENCE * 10)
        finally:
            cleaned_up.set()
        return x

    @vertex
    async def breaks(x: int) -> int:
        await anyio.sleep(0.01)
        raise RuntimeError("boom")

    flow = flowdsl.Flow.from_functions(waits_forever, breaks)
    with pytest.raises(flowdsl.VertexFailed) as caught:
        flow.run({"x": 1}, backend="async", anyio_backend=loop)
    assert cleaned_up.is_set()
    assert caught.value.vertex == "breaks"
    assert caught.value.result is not None
    assert caught.value.result.states["waits_forever"] == "running"


def test_a_failure_does_not_wait_for_threads_and_drops_their_late_results() -> None:
    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    @vertex
    def busy(x: int) -> int:
        started.set()
        release.wait(PATIENCE)
        finished.set()
        return x

    @vertex
    def breaks(x: int) -> int:
        # Fail only once `busy` is really running on its thread.
        started.wait(PATIENCE)
        raise RuntimeError("boom")

    flow = flowdsl.Flow.from_functions(busy, breaks)
    with pytest.raises(flowdsl.VertexFailed) as caught:
        flow.run({"x": 1}, backend="thread")
    # The run returned while `busy` was still blocked on its thread.
    assert not finished.is_set()
    release.set()
    assert finished.wait(PATIENCE)
    partial = caught.value.result
    assert partial is not None
    assert "busy" not in partial
    assert partial.states["busy"] == "running"


def test_a_chain_on_a_thread_stops_at_its_next_link_when_the_run_stops() -> None:
    started = threading.Event()
    release = threading.Event()
    log: list[str] = []

    @vertex
    def busy(x: int) -> int:
        started.set()
        release.wait(PATIENCE)
        log.append("busy")
        return x

    @vertex
    def then(busy: int) -> int:
        log.append("then")
        return busy

    @vertex
    def breaks(x: int) -> int:
        started.wait(PATIENCE)
        raise RuntimeError("boom")

    flow = flowdsl.Flow.from_functions(busy, then, breaks)
    with pytest.raises(flowdsl.VertexFailed) as caught:
        flow.run({"x": 1}, backend="thread")
    release.set()
    assert eventually(lambda: log == ["busy"])
    time.sleep(0.05)  # room for a wrong `then` to show up; none may
    assert log == ["busy"]
    partial = caught.value.result
    assert partial is not None
    assert "busy" not in partial
    assert partial.states["then"] == "pending"


@pytest.mark.parametrize("loop", LOOPS)
def test_a_failure_drops_sync_vertices_still_waiting_for_a_worker(loop: str) -> None:
    # Found by tests/runtime/test_random_control_flow.py: vertices queued for
    # the only worker started once it was free, after the run had raised.
    started = threading.Event()
    release = threading.Event()
    workers: list[threading.Thread] = []
    called: list[str] = []

    @vertex
    def busy() -> int:
        workers.append(threading.current_thread())
        started.set()
        release.wait(PATIENCE)
        return 1

    @vertex
    def queued_a() -> int:
        called.append("queued_a")
        return 2

    @vertex
    def queued_b() -> int:
        called.append("queued_b")
        return 3

    @vertex
    async def breaks() -> int:
        with anyio.fail_after(PATIENCE):
            while not started.is_set():
                await anyio.sleep(0.001)
        raise RuntimeError("boom")

    flow = flowdsl.Flow.from_functions(busy, queued_a, queued_b, breaks)
    with pytest.raises(flowdsl.VertexFailed) as caught:
        flow.run(backend="thread", max_workers=1, anyio_backend=loop)
    release.set()
    # Once back in the shared idle set, the worker has looked at the run's queue.
    assert eventually(lambda: workers[0] in idle_threads())
    assert called == []
    partial = caught.value.result
    assert partial is not None
    assert partial.states["busy"] == "running"
    assert partial.states["queued_a"] == partial.states["queued_b"] == "pending"


@pytest.mark.parametrize("backend", BACKENDS)
def test_continue_runs_independent_branches_and_skips_dependents(backend: str) -> None:
    @vertex
    def root(x: int) -> int:
        return x

    @vertex
    async def broken(root: int) -> int:
        raise KeyError("missing")

    @vertex
    def child(broken: int) -> int:
        return broken

    @vertex
    def grandchild(child: int, root: int) -> int:
        return child + root

    @vertex
    def sibling(root: int) -> int:
        return root + 1

    flow = flowdsl.Flow.from_functions(root, broken, child, grandchild, sibling)
    result = flow.run({"x": 1}, backend=backend, on_error="continue")
    assert {name: str(state) for name, state in result.states.items()} == {
        "root": "completed",
        "broken": "failed",
        "child": "skipped",
        "grandchild": "skipped",
        "sibling": "completed",
    }
    assert isinstance(result.errors["broken"], KeyError)
    assert dict(result) == {"root": 1, "sibling": 2}


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_coroutine_vertex_is_cancelled_at_its_timeout(backend: str, loop: str) -> None:
    cancelled = threading.Event()

    @vertex(timeout=0.05)
    async def sleepy(x: int) -> int:
        try:
            await anyio.sleep(PATIENCE * 10)
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise
        return x

    flow = flowdsl.Flow.from_functions(sleepy)
    with pytest.raises(flowdsl.VertexTimeout) as caught:
        flow.run({"x": 1}, backend=backend, anyio_backend=loop)
    assert cancelled.is_set()
    assert caught.value.vertex == "sleepy"
    assert "timeout of 0.05s" in str(caught.value)
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.result is not None
    assert caught.value.result.states["sleepy"] == "failed"


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sync_vertex_past_its_timeout_is_abandoned_and_its_result_never_stored(
    backend: str,
) -> None:
    release = threading.Event()
    returned = threading.Event()

    @vertex(timeout=0.5)
    def stuck(x: int) -> int:
        release.wait(PATIENCE)
        returned.set()
        return x

    flow = flowdsl.Flow.from_functions(stuck)
    with pytest.raises(flowdsl.VertexTimeout) as caught:
        flow.run({"x": 1}, backend=backend)
    assert not returned.is_set()
    release.set()
    assert returned.wait(PATIENCE)
    partial = caught.value.result
    assert partial is not None
    with pytest.raises(KeyError):
        partial.value_of("stuck")


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_run_timeout_stops_the_run_with_the_partial_result(backend: str) -> None:
    @vertex
    def first(x: int) -> int:
        return x + 1

    @vertex
    async def endless(first: int) -> int:
        await anyio.sleep(PATIENCE * 10)
        return first

    flow = flowdsl.Flow.from_functions(first, endless)
    with pytest.raises(flowdsl.VertexTimeout) as caught:
        flow.run({"x": 1}, backend=backend, timeout=0.5)
    assert "the run did not finish within its timeout of 0.5s" in str(caught.value)
    assert "endless" in str(caught.value)
    partial = caught.value.result
    assert partial is not None
    assert dict(partial) == {"first": 2}
    assert partial.states["endless"] == "running"


@pytest.mark.anyio
async def test_cancelling_the_caller_of_arun_propagates_and_cleans_up() -> None:
    started = anyio.Event()
    cleaned_up = anyio.Event()
    after_arun: list[bool] = []

    @vertex
    async def endless(x: int) -> int:
        started.set()
        try:
            await anyio.sleep(PATIENCE * 10)
        finally:
            cleaned_up.set()
        return x

    flow = flowdsl.Flow.from_functions(endless)

    async def caller() -> None:
        await flow.arun({"x": 1}, backend="async")
        after_arun.append(True)

    with anyio.fail_after(PATIENCE):
        async with anyio.create_task_group() as group:
            group.start_soon(caller)
            await started.wait()
            group.cancel_scope.cancel()
        await cleaned_up.wait()
    assert after_arun == []


@pytest.mark.parametrize("loop", LOOPS)
def test_a_handle_cancels_a_run_and_keeps_the_partial_result(loop: str) -> None:
    started = threading.Event()

    @vertex
    def first(x: int) -> int:
        return x + 1

    @vertex
    async def endless(first: int) -> int:
        started.set()
        await anyio.sleep(PATIENCE * 10)
        return first

    handle = flowdsl.Flow.from_functions(first, endless).start(
        {"x": 1}, backend="async", anyio_backend=loop
    )
    assert started.wait(PATIENCE)
    assert not handle.done()
    with pytest.raises(TimeoutError):
        handle.result(timeout=0.01)
    handle.cancel()
    with pytest.raises(flowdsl.FlowCancelled) as caught:
        handle.result(timeout=PATIENCE)
    assert handle.done()
    partial = caught.value.result
    assert partial is not None
    assert dict(partial) == {"first": 2}
    assert partial.states["endless"] == "running"


def test_a_handle_returns_the_result_or_the_error() -> None:
    flow = diamond()
    assert flow.start({"x": 1}, backend="thread").result(timeout=PATIENCE)["join"] == 100

    @vertex
    def broken(x: int) -> int:
        raise ValueError("no")

    handle = flowdsl.Flow.from_functions(broken).start({"x": 1})
    with pytest.raises(flowdsl.VertexFailed):
        handle.result(timeout=PATIENCE)
    with pytest.raises(flowdsl.MissingInputError):
        flow.start({})


@pytest.mark.parametrize("backend", BACKENDS)
def test_unrequested_intermediates_are_released_after_their_last_reader(backend: str) -> None:
    class Blob:
        pass

    refs: list[weakref.ref[Blob]] = []
    alive_when_last_ran: list[bool] = []

    @vertex
    def make(x: int) -> Blob:
        blob = Blob()
        refs.append(weakref.ref(blob))
        return blob

    @vertex
    def use(make: Blob) -> int:
        return 1

    @vertex
    def last(use: int) -> int:
        gc.collect()
        alive_when_last_ran.append(refs[0]() is not None)
        return use

    flow = flowdsl.Flow.from_functions(make, use, last)
    assert dict(flow.run({"x": 0}, backend=backend, outputs=["last"])) == {"last": 1}
    assert alive_when_last_ran == [False]
    kept = flow.run({"x": 0}, backend=backend)
    assert isinstance(kept["make"], Blob)


@pytest.mark.parametrize("loop", LOOPS)
def test_no_worker_thread_is_left_behind(loop: str) -> None:
    # Workers outlive a run only as idle members of the shared set (see
    # tests/runtime/test_workers.py); no other thread does.
    before = set(threading.enumerate())
    diamond().run({"x": 1}, backend="thread", anyio_backend=loop)
    assert eventually(lambda: set(threading.enumerate()) - before <= set(idle_threads()))


def test_bad_run_options_name_the_argument() -> None:
    flow = diamond()
    for kwargs in (
        {"backend": "gpu"},
        {"on_error": "ignore"},
        {"max_workers": 0},
        {"max_concurrency": -1},
        {"timeout": 0},
        {"anyio_backend": "curio"},
    ):
        with pytest.raises(flowdsl.SettingsError) as caught:
            flow.run({"x": 1}, **kwargs)
        (name,) = kwargs
        assert name in str(caught.value)
        assert caught.value.source == f"argument {name}"


def test_invalid_vertex_timeout_is_rejected() -> None:
    def f(x: int) -> int:
        return x

    with pytest.raises(flowdsl.InvalidVertexError, match="timeout"):
        vertex(timeout=-1)(f)


def _inline_chain(log: list[str]) -> flowdsl.Flow:
    """Three sync vertices; the first blocks until released (a bounded wait)."""
    gate = threading.Event()

    @vertex
    def first(x: int) -> int:
        log.append("first")
        gate.wait(0.3)
        return x

    @vertex
    def second(first: int) -> int:
        log.append("second")
        gate.wait(0.3)
        return first

    @vertex
    def third(second: int) -> int:
        log.append("third")
        return second

    return flowdsl.Flow.from_functions(first, second, third)


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", ["serial", "async"])
def test_a_handle_stops_inline_sync_vertices_between_steps(backend: str, loop: str) -> None:
    log: list[str] = []
    handle = _inline_chain(log).start({"x": 1}, backend=backend, anyio_backend=loop)
    deadline = time.monotonic() + PATIENCE
    while not log and time.monotonic() < deadline:
        time.sleep(0.001)
    handle.cancel()  # returns at once, even while an inline call holds the loop
    with pytest.raises(flowdsl.FlowCancelled) as caught:
        handle.result(timeout=PATIENCE)
    assert "third" not in log
    partial = caught.value.result
    assert partial is not None
    assert partial.states["third"] == "pending"


@pytest.mark.parametrize("backend", ["serial", "async"])
def test_the_run_timeout_holds_between_inline_sync_vertices(backend: str) -> None:
    log: list[str] = []
    with pytest.raises(flowdsl.VertexTimeout) as caught:
        _inline_chain(log).run({"x": 1}, backend=backend, timeout=0.2)
    assert "third" not in log
    assert caught.value.result is not None
    assert caught.value.result.states["third"] == "pending"


@pytest.mark.parametrize("loop", LOOPS)
def test_a_thread_run_of_sync_vertices_starts_no_event_loop(loop: str) -> None:
    # Nothing for a loop to do: the caller's thread waits for the workers itself.
    seen: list[str | None] = []

    class Look(flowdsl.Listener):
        # Called on the caller's thread, inside the loop when there is one.
        def on_run_start(self, event: Any) -> None:
            seen.append(running_loop())

    @vertex
    def double(x: int) -> int:
        return 2 * x

    @vertex
    def plus_one(double: int) -> int:
        return double + 1

    sync_only = flowdsl.Flow.from_functions(double, plus_one)
    ran = sync_only.run({"x": 1}, backend="thread", anyio_backend=loop, listeners=[Look()])
    assert ran["plus_one"] == 3
    diamond().run({"x": 1}, backend="thread", anyio_backend=loop, listeners=[Look()])
    sync_only.run({"x": 1}, backend="thread", anyio_backend=loop, listeners=[Look()], timeout=5)
    assert seen == [None, loop, loop]


@pytest.mark.anyio
async def test_run_inside_a_running_loop_points_to_arun(anyio_backend: str) -> None:
    @vertex
    async def wait(x: int) -> int:
        await anyio.sleep(0)
        return x

    flow = flowdsl.Flow.from_functions(wait)
    with pytest.raises(RuntimeError, match=rf"{anyio_backend} is running on this thread.*arun"):
        flow.run({"x": 1}, backend="async")
    assert (await flow.arun({"x": 1}, backend="async"))["wait"] == 1


def _long_chain(
    length: int, threads: list[int], fail_at: int | None = None, source: str = "x"
) -> list[Any]:
    """``c0`` reads ``source``; each next link reads the one before; ``fail_at`` raises."""

    def link(i: int) -> Any:
        def body(**kwargs: int) -> int:
            threads.append(threading.get_ident())
            if i == fail_at:
                raise ValueError(f"link {i} breaks")
            return next(iter(kwargs.values())) + 1

        parameter = source if i == 0 else f"c{i - 1}"
        code = f"def c{i}({parameter}: int) -> int:\n    return body({parameter}={parameter})\n"
        namespace: dict[str, Any] = {"body": body}
        exec(code, namespace)  # a real signature per link, as the compiler needs
        return vertex(namespace[f"c{i}"])

    return [link(i) for i in range(length)]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", CONCURRENT)
def test_a_chain_of_sync_vertices_records_each_vertex(backend: str, loop: str) -> None:
    # A chain runs on one thread without the ready queue between its links;
    # each link is still recorded, timed and reported on its own.
    threads: list[int] = []
    heard: list[str] = []

    class Log(flowdsl.Listener):
        def on_vertex_start(self, event: Any) -> None:
            heard.append(f"start {event.vertex}")

        def on_vertex_end(self, event: Any) -> None:
            heard.append(f"end {event.vertex}")

    flow = flowdsl.Flow.from_functions(*_long_chain(30, threads))
    names = [f"c{i}" for i in range(30)]
    for listeners in ([], [Log()]):
        threads.clear()
        result = flow.run({"x": 0}, backend=backend, anyio_backend=loop, listeners=listeners)
        assert result["c29"] == 30
        assert list(result.order) == names
        assert set(result.metrics.vertices) == set(names)
        assert all(result.metrics.vertices[n].duration >= 0 for n in names)
        assert len(set(threads)) == 1
        on_loop_thread = threads[0] == threading.get_ident()
        assert on_loop_thread is (backend == "async")
    assert heard == [f"{kind} {name}" for name in names for kind in ("start", "end")]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", CONCURRENT)
def test_a_failure_inside_a_chain_stops_it_there(backend: str, loop: str) -> None:
    threads: list[int] = []
    flow = flowdsl.Flow.from_functions(*_long_chain(10, threads, fail_at=4))
    with pytest.raises(flowdsl.VertexFailed) as caught:
        flow.run({"x": 0}, backend=backend, anyio_backend=loop)
    assert caught.value.vertex == "c4"
    partial = caught.value.result
    assert partial is not None
    assert dict(partial) == {f"c{i}": i + 1 for i in range(4)}
    assert partial.states["c4"] == "failed"
    assert [partial.states[f"c{i}"] for i in range(5, 10)] == ["pending"] * 5
    assert len(threads) == 5

    kept = flow.run({"x": 0}, backend=backend, anyio_backend=loop, on_error="continue")
    assert [kept.states[f"c{i}"] for i in range(5, 10)] == ["skipped"] * 5
    assert isinstance(kept.errors["c4"], ValueError)


@pytest.mark.parametrize("backend", CONCURRENT)
def test_a_chain_goes_on_after_a_failure_elsewhere_under_continue(backend: str) -> None:
    threads: list[int] = []
    released = threading.Event()

    @vertex
    def broken(x: int) -> int:
        released.set()
        raise KeyError("elsewhere")

    @vertex(blocking=True)
    def waits(x: int) -> int:
        released.wait(PATIENCE)  # the chain starts after the failure
        return x

    flow = flowdsl.Flow.from_functions(broken, waits, *_long_chain(20, threads, source="waits"))
    result = flow.run({"x": 0}, backend=backend, on_error="continue")
    assert isinstance(result.errors["broken"], KeyError)
    assert result["c19"] == 20
    assert all(result.states[f"c{i}"] == "completed" for i in range(20))


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_during_a_run_is_a_plain_keyboard_interrupt(backend: str, loop: str) -> None:
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    @vertex(blocking=True)
    def presses_ctrl_c(x: int) -> int:
        # A real SIGINT to the main thread, as a terminal's Ctrl+C: it wakes an
        # event loop waiting in select(). ``_thread.interrupt_main()`` only sets
        # Python's flag, which asyncio (no wakeup fd of its own) may read only
        # once its next timer fires, long after this returns.
        signal.pthread_kill(main_thread, signal.SIGINT)
        return x

    @vertex
    async def waits(x: int) -> int:
        await anyio.sleep(PATIENCE)
        return x

    # Declared first, so the serial backend presses Ctrl+C before it waits.
    flow = flowdsl.Flow.from_functions(presses_ctrl_c, waits)
    with pytest.raises(KeyboardInterrupt):
        flow.run({"x": 1}, backend=backend, anyio_backend=loop)
