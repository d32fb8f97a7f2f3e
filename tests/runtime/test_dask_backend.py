"""backend="dask": the same flows on a local Dask cluster of two worker processes.

Vertices run in other processes here, so what they did is observed through
files (``tmp_path``) and the run's result and metrics, never through
in-process counters.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowdsl
from flowdsl import (
    From,
    Listener,
    RetryPolicy,
    SettingsError,
    VertexFailed,
    VertexTimeout,
    vertex,
)
from flowdsl.errors import ContractViolation, FlowCancelled
from tests.quick import examples
from tests.runtime._modes import diamond
from tests.runtime.test_random_control_flow import Drawn, _continue_problems, _values
from tests.strategies import (
    build_graph,
    graphs,
    inputs_for,
    reference_outputs,
    reference_states,
    to_plain,
)

# Slow: a local cluster of worker processes.
pytestmark = pytest.mark.slow

distributed = pytest.importorskip(
    "distributed", reason='backend="dask" needs the dask extra: pip install "flowdsl[dask]"'
)


def on_dask(flow: flowdsl.Flow, client: Any, inputs: Any = None, **options: Any) -> Any:
    return flow.run(inputs, backend="dask", dask_client=client, **options)


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


class Pair(TypedDict):
    low: int
    high: int


def test_a_flow_gives_the_serial_result(dask_client: Any) -> None:
    flow = diamond()
    serial = flow.run({"x": 1})
    result = on_dask(flow, dask_client, {"x": 1})
    assert dict(result) == dict(serial) == {"base": 2, "left": 4, "right": 6, "join": 100}
    assert set(result.states.values()) == {"completed"}
    assert result.metrics.backend == "dask"
    assert result.order.index("base") < result.order.index("join")


def test_fields_defaults_and_given_outputs_travel(dask_client: Any) -> None:
    @vertex
    def split(n: int) -> Pair:
        return {"low": n - 1, "high": n + 1}

    @vertex
    def span(
        low: Annotated[int, From("split.low")], high: Annotated[int, From("split.high")]
    ) -> int:
        return high - low

    @vertex
    def scaled(span: int, factor: int = 10) -> int:
        return span * factor

    flow = flowdsl.Flow.from_functions(split, span, scaled)
    result = on_dask(flow, dask_client, {"n": 5})
    assert result["split.low"] == 4
    assert result["scaled"] == 20
    given = on_dask(flow, dask_client, outputs=["scaled"], overrides={"span": 7})
    assert given["scaled"] == 70
    assert "split" not in given.states


def test_coroutine_vertices_run_on_the_workers(dask_client: Any) -> None:
    @vertex
    async def slow(x: int) -> int:
        await anyio.sleep(0.01)
        return x * 2

    @vertex
    async def pid(slow: int) -> int:
        return os.getpid()

    result = on_dask(flowdsl.Flow.from_functions(slow, pid), dask_client, {"x": 3})
    assert result["slow"] == 6
    assert result["pid"] != os.getpid()


def test_trio_runs_coroutines_on_the_workers(dask_client: Any) -> None:
    @vertex
    async def which() -> str:
        import sniffio

        return sniffio.current_async_library()

    flow = flowdsl.Flow.from_functions(which)
    assert on_dask(flow, dask_client, anyio_backend="trio")["which"] == "trio"


def test_outputs_fetches_only_what_was_asked(dask_client: Any) -> None:
    flow = diamond()
    result = on_dask(flow, dask_client, {"x": 1}, outputs=["join"])
    assert dict(result) == {"join": 100}
    assert result.states["left"] == "completed"


def test_a_failure_raises_vertex_failed_with_the_original_cause(dask_client: Any) -> None:
    @vertex
    def first(x: int) -> int:
        return x

    @vertex
    def broken(first: int) -> int:
        raise KeyError("no such user")

    @vertex
    def after(broken: int) -> int:
        return broken

    flow = flowdsl.Flow.from_functions(first, broken, after)
    with pytest.raises(VertexFailed) as caught:
        on_dask(flow, dask_client, {"x": 1})
    error = caught.value
    assert error.vertex == "broken"
    assert isinstance(error.__cause__, KeyError)
    assert error.__cause__.__traceback__ is not None
    assert error.result is not None
    assert error.result.states["first"] == "completed"
    assert error.result["first"] == 1


def test_continue_skips_only_what_depends_on_a_failure(dask_client: Any) -> None:
    @vertex
    def ok(x: int) -> int:
        return x + 1

    @vertex
    def bad(x: int) -> int:
        raise ValueError("bad input")

    @vertex
    def needs_bad(bad: int) -> int:
        return bad

    @vertex
    def further(needs_bad: int, ok: int) -> int:
        return needs_bad + ok

    flow = flowdsl.Flow.from_functions(ok, bad, needs_bad, further)
    serial = flow.run({"x": 1}, on_error="continue")
    result = on_dask(flow, dask_client, {"x": 1}, on_error="continue")
    assert result.states == serial.states
    assert result.skip_reasons == serial.skip_reasons
    assert isinstance(result.errors["bad"], ValueError)
    assert dict(result) == {"ok": 2}


def test_conditions_skip_and_defaults_stand_in(dask_client: Any) -> None:
    @vertex
    def enabled(flag: bool) -> bool:
        return flag

    @vertex(when="enabled")
    def extra(x: int) -> int:
        return x * 100

    @vertex
    def total(x: int, extra: int = 0) -> int:
        return x + extra

    @vertex
    def strict(extra: int) -> int:
        return extra

    flow = flowdsl.Flow.from_functions(enabled, extra, total, strict)
    for flag in (True, False):
        serial = flow.run({"flag": flag, "x": 2})
        result = on_dask(flow, dask_client, {"flag": flag, "x": 2})
        assert dict(result) == dict(serial)
        assert result.states == serial.states
        assert result.skip_reasons == serial.skip_reasons
    assert result.states["extra"] == "skipped"
    assert result["total"] == 2


def test_retries_are_counted_and_heard(dask_client: Any, tmp_path: Path) -> None:
    attempts = tmp_path / "attempts"

    @vertex(retry=RetryPolicy(max_retries=3, delay=0.01))
    def flaky(x: int) -> int:
        with attempts.open("a") as f:
            f.write("call\n")
        if len(lines(attempts)) < 3:
            raise ConnectionError("try again")
        return x

    heard: list[tuple[str, int]] = []

    class Retries(Listener):
        def on_retry(self, event: Any) -> None:
            heard.append((event.vertex, event.attempt))

    result = on_dask(
        flowdsl.Flow.from_functions(flaky), dask_client, {"x": 5}, listeners=[Retries()]
    )
    assert result["flaky"] == 5
    assert len(lines(attempts)) == 3
    assert result.metrics.vertices["flaky"].attempts == 3
    assert heard == [("flaky", 1), ("flaky", 2)]


def test_exhausted_retries_report_their_attempts(dask_client: Any) -> None:
    @vertex(retries=2)
    def never(x: int) -> int:
        raise ConnectionError("down")

    with pytest.raises(VertexFailed, match="after 3 attempts") as caught:
        on_dask(flowdsl.Flow.from_functions(never), dask_client, {"x": 1})
    assert caught.value.attempts == 3


def test_a_fallback_stands_in(dask_client: Any) -> None:
    def cached_price(item: str) -> float:
        return 1.5

    @vertex(fallback=cached_price)
    def price(item: str) -> float:
        raise TimeoutError("pricing service down")

    result = on_dask(flowdsl.Flow.from_functions(price), dask_client, {"item": "tea"})
    assert result["price"] == 1.5
    fallback = result.metrics.vertices["price"].fallback
    assert fallback == "cached_price"  # the function's name, not its qualname


def test_contract_violations_come_back_as_themselves(dask_client: Any) -> None:
    @vertex
    def wrong(x: int) -> str:
        return x  # type: ignore[return-value]

    with pytest.raises(ContractViolation, match="wrong"):
        on_dask(flowdsl.Flow.from_functions(wrong), dask_client, {"x": 1})


def test_a_vertex_timeout_stops_waiting(dask_client: Any) -> None:
    @vertex(timeout=0.2)
    async def stuck(x: int) -> int:
        await anyio.sleep(30)
        return x

    @vertex(timeout=0.2)
    def blocking(x: int) -> int:
        time.sleep(3)
        return x

    for function in (stuck, blocking):
        flow = flowdsl.Flow.from_functions(function)
        with pytest.raises(VertexTimeout, match=r"within its timeout of 0\.2s") as caught:
            on_dask(flow, dask_client, {"x": 1})
        assert caught.value.vertex == function.__name__


def test_a_run_timeout_returns_the_partial_result(dask_client: Any) -> None:
    @vertex
    def quick(x: int) -> int:
        return x

    @vertex
    def slow(quick: int) -> int:
        time.sleep(5)
        return quick

    flow = flowdsl.Flow.from_functions(quick, slow)
    with pytest.raises(VertexTimeout) as caught:
        on_dask(flow, dask_client, {"x": 1}, timeout=1.5)
    result = caught.value.result
    assert result is not None
    assert result.states["quick"] == "completed"
    assert result.states["slow"] != "completed"


def test_map_over_makes_one_task_per_element(dask_client: Any) -> None:
    @vertex
    def numbers(n: int) -> list[int]:
        return list(range(n))

    @vertex(map_over="numbers", retries=1)
    def square(numbers: int) -> tuple[int, str]:
        return numbers * numbers, distributed.get_worker().get_current_task()

    result = on_dask(flowdsl.Flow.from_functions(numbers, square), dask_client, {"n": 6})
    assert [value for value, _ in result["square"]] == [0, 1, 4, 9, 16, 25]
    tasks = {task for _, task in result["square"]}
    assert len(tasks) == 6
    assert all("square-element-" in task for task in tasks)
    metrics = result.metrics.vertices["square"]
    assert metrics.elements == 6
    assert metrics.attempts == 6


def test_a_failed_element_is_reported_as_locally(dask_client: Any) -> None:
    @vertex(map_over="items")
    def check(items: int) -> int:
        if items == 3:
            raise ValueError("three")
        return items

    flow = flowdsl.Flow.from_functions(check)
    result = on_dask(flow, dask_client, {"items": [1, 2, 3, 4]}, on_error="continue")
    assert set(result.element_errors["check"]) == {2}
    with pytest.raises(VertexFailed, match="element 2 of 4") as caught:
        on_dask(flow, dask_client, {"items": [1, 2, 3, 4]})
    assert caught.value.element == 2


def test_loops_run_on_a_worker(dask_client: Any) -> None:
    from flowdsl import Previous

    @vertex(until=lambda total: total >= 10, max_iterations=20)
    def grow(step: int, previous: Annotated[int | None, Previous()] = None) -> int:
        return (previous or 0) + step

    result = on_dask(flowdsl.Flow.from_functions(grow), dask_client, {"step": 3})
    assert result["grow"] == 12
    assert result.metrics.vertices["grow"].iterations == 4


def test_listeners_hear_every_vertex(dask_client: Any) -> None:
    heard: list[str] = []

    class Log(Listener):
        def on_run_start(self, event: Any) -> None:
            heard.append("run start")

        def on_vertex_end(self, event: Any) -> None:
            heard.append(event.vertex)

        def on_run_end(self, event: Any) -> None:
            heard.append(f"run end: {event.outcome}")

    on_dask(diamond(), dask_client, {"x": 1}, listeners=[Log()])
    assert heard[0] == "run start"
    assert heard[-1] == "run end: completed"
    assert sorted(heard[1:-1]) == ["base", "join", "left", "right"]


def test_pure_vertices_share_identical_work(dask_client: Any, tmp_path: Path) -> None:
    calls = tmp_path / "calls"

    @vertex(pure=True)
    def expensive(x: int) -> int:
        with calls.open("a") as f:
            f.write("call\n")
        time.sleep(1.5)
        return x * 2

    flow = flowdsl.Flow.from_functions(expensive)
    first = flow.start({"x": 21}, backend="dask", dask_client=dask_client)
    while not calls.exists():
        time.sleep(0.01)
    second = on_dask(flow, dask_client, {"x": 21})
    assert second["expensive"] == first.result(timeout=60)["expensive"] == 42
    assert len(lines(calls)) == 1
    # Different inputs are different work.
    assert on_dask(flow, dask_client, {"x": 1})["expensive"] == 2
    assert len(lines(calls)) == 2


def test_numpy_arrays_travel_between_workers(dask_client: Any) -> None:
    np = pytest.importorskip("numpy")

    @vertex
    def matrix(n: int) -> Any:
        return np.arange(n * n, dtype=float).reshape(n, n)

    @vertex
    def product(matrix: Any) -> Any:
        return matrix @ matrix.T

    @vertex
    def trace(product: Any) -> float:
        return float(np.trace(product))

    flow = flowdsl.Flow.from_functions(matrix, product, trace)
    serial = flow.run({"n": 50})
    result = on_dask(flow, dask_client, {"n": 50})
    assert result["trace"] == serial["trace"]
    assert np.array_equal(result["product"], serial["product"])


def test_a_handle_cancels_a_dask_run(dask_client: Any) -> None:
    @vertex
    def slow(x: int) -> int:
        time.sleep(3)
        return x

    handle = flowdsl.Flow.from_functions(slow).start(
        {"x": 1}, backend="dask", dask_client=dask_client
    )
    time.sleep(0.5)
    handle.cancel()
    with pytest.raises(FlowCancelled):
        handle.result(timeout=30)


def test_a_checkpointed_dask_run_resumes(dask_client: Any, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    store = tmp_path / "runs.db"

    @vertex
    def first(x: int) -> int:
        with calls.open("a") as f:
            f.write("first\n")
        return x + 1

    @vertex
    def second(first: int, fail: bool) -> int:
        if fail:
            raise RuntimeError("interrupted")
        return first * 10

    flow = flowdsl.Flow.from_functions(first, second)
    with pytest.raises(VertexFailed):
        on_dask(flow, dask_client, {"x": 1, "fail": True}, checkpoint=store, run_id="r1")
    resumed = flow.run(
        {"x": 1, "fail": False},
        backend="dask",
        dask_client=dask_client,
        checkpoint=store,
        run_id="r2",
    )
    assert resumed["second"] == 20
    again = flow.resume("r2", checkpoint=store, backend="dask", dask_client=dask_client)
    assert again["second"] == 20
    assert again.states["first"] == "restored"


def test_atomic_groups_are_refused_on_dask(dask_client: Any) -> None:
    from flowdsl import AtomicGroup, MemoryTransaction

    group = AtomicGroup("ledger", backend=MemoryTransaction())

    @vertex(group=group)
    def debit(x: int) -> int:
        return x

    with pytest.raises(SettingsError, match="atomic groups \\('ledger'\\)"):
        on_dask(flowdsl.Flow.from_functions(debit), dask_client, {"x": 1})


def test_without_the_extra_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(SettingsError, match=r'pip install "flowdsl\[dask\]"'):
        diamond().run({"x": 1}, backend="dask")


def test_an_address_connects_to_a_running_scheduler(dask_client: Any) -> None:
    address = dask_client.scheduler.address
    result = diamond().run({"x": 1}, backend="dask", dask_address=address)
    assert result["join"] == 100


def test_the_address_setting_comes_from_the_environment(
    dask_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWDSL_DASK_ADDRESS", dask_client.scheduler.address)
    monkeypatch.setenv("FLOWDSL_BACKEND", "dask")
    assert diamond().run({"x": 1})["join"] == 100


def test_without_client_or_address_a_local_cluster_runs_and_closes() -> None:
    before = {thread.name for thread in threading.enumerate()}
    assert diamond().run({"x": 1}, backend="dask")["join"] == 100
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # Dask keeps one process-wide offload pool once used; anything else is the run's.
        left = {t.name for t in threading.enumerate() if t.is_alive()} - before
        if not {name for name in left if not name.startswith("Dask-Offload")}:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"threads left running: {left}")


SCRIPT = """
import sys
import flowdsl
from flowdsl import vertex

@vertex
def shout(word: str) -> str:
    return word.upper()

@vertex
def twice(shout: str) -> str:
    return shout + shout

if __name__ == "__main__":
    flow = flowdsl.Flow.from_module(sys.modules[__name__])
    print(flow.run({"word": "hey"}, backend="dask")["twice"])
"""


def test_vertices_of_a_script_run_on_the_workers(dask_client: Any, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    environment = {**os.environ, "FLOWDSL_DASK_ADDRESS": dask_client.scheduler.address}
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "HEYHEY"


def test_a_killed_worker_is_retried_and_the_run_completes(tmp_path: Path) -> None:
    marker = tmp_path / "pid"

    @vertex
    def fragile(x: int) -> int:
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(60)  # killed here
        return x * 2

    @vertex
    def after(fragile: int) -> int:
        return fragile + 1

    flow = flowdsl.Flow.from_functions(fragile, after)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=40
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        handle = flow.start({"x": 20}, backend="dask", dask_client=client)
        deadline = time.monotonic() + 60
        while not marker.exists() or not marker.read_text():
            assert time.monotonic() < deadline, "the vertex never started"
            time.sleep(0.05)
        os.kill(int(marker.read_text()), signal.SIGKILL)
        result = handle.result(timeout=120)
    assert result["after"] == 41
    assert result.states["fragile"] == "completed"


# Randomized graphs, as on the local backends, in a smaller sample: every Dask
# task costs milliseconds of scheduling where a local call costs microseconds.
# The cluster's threads (heartbeats with jitter, worker choice) use the global
# ``random`` module while Hypothesis draws, which it takes for a strategy using
# it; the strategies here do not, and draw from Hypothesis' own source only.
random_in_background = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
)
RANDOM = settings(
    max_examples=examples(10),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@random_in_background
@RANDOM
@given(data=st.data())
def test_random_graphs_give_the_serial_result(dask_client: Any, data: st.DataObject) -> None:
    description = data.draw(graphs(max_vertices=40, max_parents=4))
    inputs = data.draw(inputs_for(description))
    flow = build_graph(description).flow
    serial = flow.run(inputs)
    result = on_dask(flow, dask_client, inputs)
    assert {n: to_plain(result[n]) for n in result} == {n: to_plain(serial[n]) for n in serial}
    assert set(result.states.values()) == {"completed"}


@random_in_background
@RANDOM
@given(data=st.data())
def test_random_failures_follow_reachability(dask_client: Any, data: st.DataObject) -> None:
    description = data.draw(graphs(max_vertices=30))
    failing = data.draw(st.frozensets(st.sampled_from(description.names), max_size=4))
    inputs = data.draw(inputs_for(description))
    flow = build_graph(description, failing=failing).flow
    result = on_dask(flow, dask_client, inputs, on_error="continue")
    assert {n: str(s) for n, s in result.states.items()} == reference_states(description, failing)
    expected = reference_outputs(description, inputs)
    assert {n: to_plain(result[n]) for n in result} == {n: expected[n] for n in result}


@random_in_background
@pytest.mark.filterwarnings("ignore::flowdsl.ContractWarning")  # warn checks: see result.checks
@RANDOM
@given(data=st.data())
def test_random_control_flow_matches_the_reference(dask_client: Any, data: st.DataObject) -> None:
    drawn = Drawn(data)
    serial = _values(drawn.run(("serial", "asyncio"), on_error="continue"))
    result = drawn.run(("dask", "asyncio"), on_error="continue", dask_client=dask_client)
    problems = _continue_problems(drawn, result, serial, in_process=False)
    assert not problems, problems.report(("dask", "asyncio"))


def test_the_command_line_runs_a_file_on_dask(dask_client: Any, tmp_path: Path) -> None:
    # A file loaded by path is a module no worker can import: it travels by value.
    pipeline = tmp_path / "pipeline_on_dask.py"
    pipeline.write_text(SCRIPT.split('if __name__ == "__main__":')[0])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowdsl",
            "run",
            str(pipeline),
            "--input",
            "word=abc",
            "--backend",
            "dask",
            "--dask-address",
            dask_client.scheduler.address,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ABCABC" in done.stdout


@pytest.mark.anyio
async def test_arun_drives_a_dask_run_from_a_running_loop(dask_client: Any) -> None:
    result = await diamond().arun({"x": 1}, backend="dask", dask_client=dask_client)
    assert result["join"] == 100


def test_a_mapped_vertex_keeps_its_concurrency_limit_across_workers(
    dask_client: Any, tmp_path: Path
) -> None:
    log = tmp_path / "intervals"

    @vertex(map_over="items", max_concurrency=2)
    def slow(items: int) -> int:
        start = time.time()
        time.sleep(0.3)
        with log.open("a") as f:
            f.write(f"{start} {time.time()}\n")
        return items

    result = on_dask(flowdsl.Flow.from_functions(slow), dask_client, {"items": list(range(6))})
    assert result["slow"] == list(range(6))
    intervals = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
    assert len(intervals) == 6
    # Elements run in other processes: their start and end times say how many overlapped.
    peak = max(sum(1 for s, e in intervals if s <= moment < e) for moment, _ in intervals)
    assert peak <= 2


def test_a_vertex_on_a_worker_runs_a_flow_of_its_own(dask_client: Any) -> None:
    inner = diamond()

    @vertex
    def nested(x: int) -> int:
        return int(inner.run({"x": x}, backend="thread")["join"])

    @vertex
    async def awaiting(x: int) -> int:
        return int(inner.run({"x": x}, backend="async", anyio_backend="trio")["join"])

    result = on_dask(flowdsl.Flow.from_functions(nested, awaiting), dask_client, {"x": 1})
    assert (result["nested"], result["awaiting"]) == (100, 100)


def test_zipped_and_product_maps_run_each_call_as_a_task(dask_client: Any) -> None:
    @vertex(map_over=flowdsl.product("x", "y"))
    def times(x: int, y: int) -> int:
        return x * y

    @vertex(map_over=("x", "times"))
    def scaled(x: int, times: list[int]) -> int:
        return x * sum(times)

    flow = flowdsl.Flow.from_functions(times, scaled)
    result = on_dask(flow, dask_client, {"x": [1, 2], "y": [3, 4, 5]})
    assert result["times"] == [[3, 4, 5], [6, 8, 10]]
    assert result["scaled"] == [12, 48]
    assert result.metrics.vertices["times"].elements == 6

    @vertex(map_over=flowdsl.product("x", "y"))
    def ratio(x: int, y: int) -> float:
        return x / y

    kept = on_dask(
        flowdsl.Flow.from_functions(ratio),
        dask_client,
        {"x": [1], "y": [0, 1]},
        on_error="continue",
    )
    assert list(kept.element_errors["ratio"]) == [(0, 0)]


def test_a_sub_flows_vertices_are_tasks_of_the_cluster(dask_client: Any) -> None:
    inner = diamond()
    outer = flowdsl.Flow.from_functions(
        inner.as_vertex("one"), inner.as_vertex("two", bind={"x": 2}, outputs="join")
    )
    result = on_dask(outer, dask_client, {"x": 1})
    assert result["one.join"] == 100
    assert result["two"] == {"join": 150}
    assert result.states["two/left"] == "completed"


def test_a_sweep_runs_on_one_client(dask_client: Any) -> None:
    results = diamond().map([{"x": 1}, {"x": 2}, {"x": 3}], backend="dask", dask_client=dask_client)
    assert [r["join"] for r in results] == [100, 150, 200]


def test_a_sweep_without_a_client_starts_one_cluster_for_all_runs() -> None:
    results = diamond().map([{"x": 1}, {"x": 2}], backend="dask")
    assert [r["join"] for r in results] == [100, 150]
