"""Sub-flows (``flow.as_vertex``) run inside the outer run, under every backend."""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

import anyio
import pytest

import flowdsl
from flowdsl import From, vertex
from tests.runtime import _probe as probe
from tests.runtime._modes import every_mode, run_in

PATIENCE = 10.0


def _features() -> flowdsl.Flow:
    """raw (a list of ages) -> cleaned -> (mean_age, oldest: a coroutine)."""

    @vertex
    def cleaned(raw: list[int], floor: int = 0) -> list[int]:
        return [age for age in raw if age >= floor]

    @vertex
    def mean_age(cleaned: list[int]) -> float:
        return sum(cleaned) / len(cleaned)

    @vertex
    async def oldest(cleaned: list[int]) -> int:
        await anyio.sleep(0)
        return max(cleaned)

    return flowdsl.Flow.from_functions(cleaned, mean_age, oldest)


def _outer(features: flowdsl.Flow) -> flowdsl.Flow:
    @vertex
    def load(source: str) -> list[int]:
        return [30, -1, 50] if source == "db" else [20, 40]

    @vertex
    def report(users: dict[str, Any], admins_oldest: Annotated[int, From("admins.oldest")]) -> str:
        return f"{users['mean_age']:g}/{users['oldest']}/{admins_oldest}"

    users = features.as_vertex("users", bind={"raw": From("load")})
    admins = features.as_vertex("admins", bind={"raw": [70, 10], "floor": 18})
    return flowdsl.Flow.from_functions(load, report, users, admins)


@every_mode
def test_a_sub_flow_is_a_vertex_of_the_outer_run(mode: tuple[str, str]) -> None:
    result = run_in(mode, _outer(_features()), {"source": "db"})
    assert result["users"] == {"mean_age": 40, "oldest": 50}
    assert result["users.mean_age"] == 40
    assert result["admins.oldest"] == 70
    assert result["report"] == "40/50/70"
    # Its vertices are the outer run's, under qualified names; each use is its own.
    assert result["users/cleaned"] == [30, 50]
    assert result["admins/cleaned"] == [70]
    assert result.states["admins/mean_age"] == "completed"


def test_its_inputs_bind_by_name_where_unbound() -> None:
    features = _features()

    @vertex
    def raw() -> list[int]:
        return [1, 2, 3]

    by_vertex = flowdsl.Flow.from_functions(raw, features.as_vertex("stats"))
    assert by_vertex.run()["stats"] == {"mean_age": 2, "oldest": 3}
    # No vertex named raw: an input of the outer flow; floor keeps its default.
    by_input = flowdsl.Flow.from_functions(features.as_vertex("stats"))
    assert set(by_input.inputs) == {"raw", "floor"}
    assert by_input.inputs["raw"].required
    assert not by_input.inputs["floor"].required
    assert by_input.run({"raw": [4, 6]})["stats.mean_age"] == 5
    assert by_input.run({"raw": [4, 6], "floor": 5})["stats.mean_age"] == 6


def test_outputs_names_what_the_mapping_holds() -> None:
    stats = _features().as_vertex("stats", outputs=["cleaned", "oldest"])
    result = flowdsl.Flow.from_functions(stats).run({"raw": [1, 5]})
    assert result["stats"] == {"cleaned": [1, 5], "oldest": 5}
    only = _features().as_vertex("one", outputs="mean_age")
    assert flowdsl.Flow.from_functions(only).run({"raw": [2]})["one"] == {"mean_age": 2}


def test_sub_flows_nest() -> None:
    inner = _features().as_vertex("inner", bind={"floor": 1})

    @vertex
    def doubled(inner: dict[str, Any]) -> float:
        return 2 * inner["mean_age"]

    middle = flowdsl.Flow.from_functions(inner, doubled)
    outer = flowdsl.Flow.from_functions(middle.as_vertex("mid"))
    result = outer.run({"raw": [0, 2, 4]})
    assert result["mid"] == {"doubled": 6}
    assert result["mid/inner/mean_age"] == 3


class _Seen:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.lock = threading.Lock()

    def on_vertex_start(self, event: Any) -> None:
        with self.lock:
            self.started.append(event.vertex)


@every_mode
def test_listeners_metrics_and_lineage_see_inner_vertices(mode: tuple[str, str]) -> None:
    seen = _Seen()
    result = run_in(mode, _outer(_features()), {"source": "x"}, listeners=[seen])
    assert {"users/cleaned", "users/mean_age", "users/oldest", "users"} <= set(seen.started)
    assert result.metrics.vertices["users/oldest"].attempts == 1
    trace = result.lineage.trace("report")
    assert {"load", "users/cleaned", "users/mean_age", "users"} <= set(trace.vertices)
    assert "source" in trace.inputs


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
@every_mode
def test_the_outer_timeout_reaches_inner_vertices(mode: tuple[str, str]) -> None:
    @vertex
    async def slow(x: int) -> int:
        await anyio.sleep(PATIENCE * 10)
        return x

    inner = flowdsl.Flow.from_functions(slow)
    outer = flowdsl.Flow.from_functions(inner.as_vertex("sub"))
    begin = time.monotonic()
    with pytest.raises(flowdsl.VertexTimeout) as caught:
        run_in(mode, outer, {"x": 1}, timeout=0.2)
    assert time.monotonic() - begin < PATIENCE
    assert "sub/slow" in str(caught.value)


def test_cancelling_the_outer_run_cancels_inner_vertices() -> None:
    started = threading.Event()

    @vertex
    async def endless(x: int) -> int:
        started.set()
        await anyio.sleep(PATIENCE * 10)
        return x

    outer = flowdsl.Flow.from_functions(flowdsl.Flow.from_functions(endless).as_vertex("sub"))
    handle = outer.start({"x": 1}, backend="async")
    assert started.wait(PATIENCE)
    handle.cancel()
    with pytest.raises(flowdsl.FlowCancelled) as caught:
        handle.result(timeout=PATIENCE)
    assert caught.value.result is not None
    assert caught.value.result.states["sub/endless"] == "running"


@every_mode
def test_on_error_applies_to_inner_vertices(mode: tuple[str, str]) -> None:
    @vertex
    def broken(x: int) -> int:
        raise ValueError("inner broke")

    @vertex
    def fine(x: int) -> int:
        return x

    inner = flowdsl.Flow.from_functions(broken)
    outer = flowdsl.Flow.from_functions(fine, inner.as_vertex("sub"))
    with pytest.raises(flowdsl.VertexFailed) as caught:
        run_in(mode, outer, {"x": 1})
    assert caught.value.vertex == "sub/broken"
    result = run_in(mode, outer, {"x": 1}, on_error="continue")
    assert result["fine"] == 1
    assert result.states["sub/broken"] == "failed"
    assert result.states["sub"] == "skipped"


def test_from_module_collects_a_sub_flow(tmp_path: Any) -> None:
    (tmp_path / "sub_features.py").write_text(
        "import flowdsl\n"
        "from flowdsl import vertex\n\n"
        "@vertex\n"
        "def doubled(x: int) -> int:\n"
        "    return 2 * x\n\n"
        "INNER = flowdsl.Flow.from_functions(doubled)\n"
    )
    (tmp_path / "sub_pipeline.py").write_text(
        "from flowdsl import From, vertex\n"
        "from sub_features import INNER\n\n"
        "first = INNER.as_vertex('first')\n"
        "second = INNER.as_vertex('second', bind={'x': From('first.doubled')})\n\n"
        "@vertex\n"
        "def total(second: dict) -> int:\n"
        "    return second['doubled'] + 1\n"
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        import sub_pipeline  # type: ignore[import-not-found]

        flow = flowdsl.Flow.from_module(sub_pipeline)
    finally:
        sys.path.remove(str(tmp_path))
    assert flow.run({"x": 3})["total"] == 13
    assert sorted(flow.vertices) == ["first", "first/doubled", "second", "second/doubled", "total"]


def test_a_sub_flow_costs_one_vertex_and_exports_cleanly() -> None:
    flow = _outer(_features())
    assert "users/cleaned" in flow.to_dot()
    mermaid = flow.to_mermaid()
    assert "v_users__cleaned" in mermaid
    assert "v_users/" not in mermaid


def test_each_use_has_atomic_groups_of_its_own() -> None:
    store = flowdsl.MemoryTransaction()
    group = flowdsl.AtomicGroup("pay", backend=store)

    @vertex(group=group)
    def charge(amount: int) -> int:
        return amount

    @vertex(group=group)
    def receipt(charge: int) -> str:
        return f"paid {charge}"

    inner = flowdsl.Flow.from_functions(charge, receipt)
    outer = flowdsl.Flow.from_functions(
        inner.as_vertex("a", bind={"amount": 1}), inner.as_vertex("b", bind={"amount": 2})
    )
    groups = {outer.vertices[n].options.group for n in ("a/charge", "a/receipt")}
    other = {outer.vertices[n].options.group for n in ("b/charge", "b/receipt")}
    assert len(groups) == len(other) == 1
    assert groups != other
    assert [g.name for g in groups | other] != ["pay"]
    result = outer.run(backend="thread")
    assert (result["a.receipt"], result["b.receipt"]) == ("paid 1", "paid 2")


def test_a_resumed_run_skips_completed_inner_vertices_and_product_maps(tmp_path: Any) -> None:
    probe.calls = []

    @vertex
    def prepared(x: int) -> int:
        probe.calls.append("prepared")
        return x + 1

    @vertex
    def flaky(prepared: int) -> int:
        probe.calls.append("flaky")
        if not probe.release.is_set():
            raise RuntimeError("not yet")
        return prepared * 2

    @vertex(map_over=flowdsl.product("xs", "ys"))
    def grid(xs: int, ys: int) -> int:
        probe.calls.append("grid")
        return xs * ys

    @vertex
    def total(grid: list[list[int]], sub: dict[str, int]) -> int:
        return sum(map(sum, grid)) + sub["flaky"]

    inner = flowdsl.Flow.from_functions(prepared, flaky)
    outer = flowdsl.Flow.from_functions(inner.as_vertex("sub"), grid, total)
    path = tmp_path / "runs.db"
    probe.release.clear()
    with pytest.raises(flowdsl.VertexFailed) as caught:
        outer.run({"x": 1, "xs": [1, 2], "ys": [3]}, checkpoint=path, run_id="r")
    assert caught.value.vertex == "sub/flaky"
    assert sorted(probe.calls) == ["flaky", "grid", "grid", "prepared"]
    probe.calls = []
    probe.release.set()
    try:
        result = outer.resume("r", checkpoint=path)
    finally:
        probe.release.clear()
    assert probe.calls == ["flaky"]
    assert result["grid"] == [[3], [6]]
    assert result["total"] == 9 + 4
