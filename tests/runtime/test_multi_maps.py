"""``map_over`` over several sequences: zipped (``("x", "y")``) or their ``product``, on
every backend, with contracts, the per-element cache, limits and errors per element."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

import flowdsl
from flowdsl import ContractViolation, InvalidVertexError, TypeMismatchError, product, vertex
from tests.runtime import _probe as probe
from tests.runtime._modes import every_mode, run_in


def _grid_flow(calls: list[tuple[int, int]] | None = None) -> flowdsl.Flow:
    lock = threading.Lock()

    @vertex(map_over=product("x", "y"))
    def times(x: int, y: int) -> int:
        if calls is not None:
            with lock:
                calls.append((x, y))
        return x * y

    @vertex(map_over="times")
    def row_sum(times: list[int]) -> int:
        return sum(times)

    @vertex
    def total(times: list[list[int]]) -> int:
        return sum(map(sum, times))

    @vertex(map_over=("x", "z"))
    def added(x: int, z: int, offset: int = 0) -> int:
        return x + z + offset

    return flowdsl.Flow.from_functions(times, row_sum, total, added)


@every_mode
def test_zip_and_product_on_every_backend(mode: tuple[str, str]) -> None:
    result = run_in(mode, _grid_flow(), {"x": [1, 2], "y": [10, 20, 30], "z": [5, 6]})
    assert result["times"] == [[10, 20, 30], [20, 40, 60]]  # outer index over x
    assert result["row_sum"] == [60, 120]  # mapping a product's output maps its rows
    assert result["total"] == 180  # reading it unlisted gets the whole list
    assert result["added"] == [6, 8]
    assert result.metrics.vertices["times"].elements == 6
    assert result.metrics.vertices["added"].elements == 2


@every_mode
def test_three_sequences_nest_three_deep(mode: tuple[str, str]) -> None:
    @vertex(map_over=product("a", "b", "c"))
    def word(a: str, b: str, c: str) -> str:
        return a + b + c

    result = run_in(
        mode, flowdsl.Flow.from_functions(word), {"a": ["x", "y"], "b": ["1"], "c": ["p", "q"]}
    )
    assert result["word"] == [[["x1p", "x1q"]], [["y1p", "y1q"]]]


def test_empty_sequences_give_empty_lists_of_the_right_shape() -> None:
    flow = _grid_flow()
    assert flow.run({"x": [], "y": [1], "z": []})["times"] == []
    assert flow.run({"x": [1, 2], "y": [], "z": [0, 0]})["times"] == [[], []]
    assert flow.run({"x": [], "y": [], "z": []})["added"] == []


@every_mode
def test_unequal_zipped_lengths_fail_before_any_call(mode: tuple[str, str]) -> None:
    calls: list[int] = []

    @vertex(map_over=("x", "y"))
    def pair(x: int, y: int) -> int:
        calls.append(x)
        return x + y

    with pytest.raises(ContractViolation) as caught:
        run_in(mode, flowdsl.Flow.from_functions(pair), {"x": [1, 2, 3], "y": [1, 2]})
    violation = caught.value
    assert "map_over=('x', 'y') zips sequences of equal length" in str(violation)
    assert "x has 3 elements, y has 2 elements" in str(violation)
    assert violation.vertex == "pair"
    assert "test_multi_maps.py" in str(violation)
    assert calls == []


@every_mode
def test_a_failing_combination_is_named_by_its_indices(mode: tuple[str, str]) -> None:
    @vertex(map_over=product("x", "y"))
    def ratio(x: int, y: int) -> float:
        return x / y

    flow = flowdsl.Flow.from_functions(ratio)
    with pytest.raises(flowdsl.VertexFailed) as caught:
        run_in(mode, flow, {"x": [1, 2], "y": [1, 0]})
    assert caught.value.element == (0, 1)
    assert "element (0, 1) of 4" in str(caught.value)
    result = run_in(mode, flow, {"x": [1, 2], "y": [1, 0]}, on_error="continue")
    assert result.states["ratio"] == "failed"
    errors = result.element_errors["ratio"]
    assert list(errors) == [(0, 1), (1, 1)]
    assert all(isinstance(e, ZeroDivisionError) for e in errors.values())


def test_zipped_element_errors_are_plain_indices() -> None:
    @vertex(map_over=("x", "y"))
    def ratio(x: int, y: int) -> float:
        return x / y

    result = flowdsl.Flow.from_functions(ratio).run(
        {"x": [1, 2, 3], "y": [1, 0, 0]}, on_error="continue"
    )
    assert list(result.element_errors["ratio"]) == [1, 2]


def test_contracts_check_each_element_of_each_sequence() -> None:
    @vertex(map_over=product("x", "y"))
    def joined(x: int, y: str) -> str:
        return f"{x}{y}"

    flow = flowdsl.Flow.from_functions(joined)
    with pytest.raises(ContractViolation) as caught:
        flow.run({"x": [1, 2], "y": ["a", 3]})
    assert caught.value.parameter == "y"
    result = flow.run({"x": [1, 2], "y": ["a", 3]}, on_error="continue")
    assert list(result.element_errors["joined"]) == [(0, 1), (1, 1)]


def test_the_cache_holds_each_combination() -> None:
    probe.calls = []

    @vertex(pure=True, map_over=product("x", "y"))
    def slow(x: int, y: int) -> int:
        probe.calls.append((x, y))
        return x * y

    flow = flowdsl.Flow.from_functions(slow)
    store = flowdsl.MemoryCache()
    assert flow.run({"x": [1, 2], "y": [3]}, cache=store)["slow"] == [[3], [6]]
    assert flow.run({"x": [2, 1], "y": [3, 4]}, cache=store)["slow"] == [[6, 8], [3, 4]]
    assert probe.calls == [(1, 3), (2, 3), (2, 4), (1, 4)]  # only the new pairs ran


@pytest.mark.parametrize("backend", ["thread", "async"])
def test_max_concurrency_bounds_the_combinations(backend: str) -> None:
    running, peak = [0], [0]
    lock = threading.Lock()

    @vertex(map_over=product("x", "y"), max_concurrency=2, blocking=True)
    def busy(x: int, y: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return x + y

    result = flowdsl.Flow.from_functions(busy).run(
        {"x": [0, 1, 2], "y": [0, 10]}, backend=backend, max_workers=8
    )
    assert result["busy"] == [[0, 10], [1, 11], [2, 12]]
    assert peak[0] <= 2


@every_mode
def test_rate_limit_spaces_each_call(mode: tuple[str, str]) -> None:
    starts: list[float] = []
    lock = threading.Lock()

    @vertex(map_over=("x", "y"), rate_limit=50)  # one call per 20 ms
    def ping(x: int, y: int) -> int:
        with lock:
            starts.append(time.monotonic())
        return x + y

    begin = time.monotonic()
    result = run_in(mode, flowdsl.Flow.from_functions(ping), {"x": [0, 1, 2, 3], "y": [0] * 4})
    assert result["ping"] == [0, 1, 2, 3]
    for k, start in enumerate(sorted(starts)):
        assert start - begin >= k * 0.02, (k, [s - begin for s in sorted(starts)])


def test_the_compiler_types_each_mapped_parameter_and_the_nested_output() -> None:
    flow = _grid_flow()
    assert flow.graph.vertices["times"].returns == list[list[int]]
    assert flow.inputs["y"].annotation == list[int]
    assert flow.inputs["z"].annotation == list[int]

    @vertex
    def names() -> list[str]:
        return ["a"]

    @vertex(map_over=("names", "x"))
    def wrong(names: int, x: int) -> int:
        return names + x

    with pytest.raises(
        TypeMismatchError, match="'names' produces str, but the parameter expects int"
    ):
        flowdsl.Flow.from_functions(names, wrong)


@pytest.mark.parametrize(
    ("map_over", "message"),
    [
        (("x", "nope"), "'nope' is not one"),
        (product("x", "x"), "names a parameter twice"),
        ((), "names no parameter"),
        (5, "map_over= takes a parameter's name, a tuple of names"),
    ],
)
def test_bad_map_over_is_an_error_where_it_is_written(map_over: Any, message: str) -> None:
    def f(x: int, y: int) -> int:
        return x + y

    with pytest.raises(InvalidVertexError, match=message) as caught:
        vertex(map_over=map_over)(f)
    assert "test_multi_maps.py" in str(caught.value)


def test_product_of_one_sequence_is_a_plain_map() -> None:
    @vertex(map_over=product("x"))
    def double(x: int) -> int:
        return 2 * x

    assert flowdsl.Flow.from_functions(double).run({"x": [1, 2]})["double"] == [2, 4]


def test_exports_show_what_is_mapped() -> None:
    data = json.loads(_grid_flow().to_json())
    control = {v["name"]: v.get("control", {}) for v in data["vertices"]}
    assert control["times"]["map_over"] == {"product": ["x", "y"]}
    assert control["added"]["map_over"] == ["x", "z"]
    assert control["row_sum"]["map_over"] == "times"
