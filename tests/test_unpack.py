"""``@vertex(unpack=...)`` and ``From("u.key")`` on any output read with ``[key]``."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, TypedDict

import pytest

import flowdsl
from flowdsl import BindingError, DataResolutionError, From, InvalidVertexError, vertex
from tests.runtime._modes import every_mode, run_in


class Stats(TypedDict):
    mean: float
    count: int


@dataclasses.dataclass
class Bounds:
    low: float
    high: float


@vertex(unpack=True)
def stats(xs: list[float]) -> Stats:
    return {"mean": sum(xs) / len(xs), "count": len(xs)}


@vertex(unpack=True)
def bounds(xs: list[float]) -> Bounds:
    return Bounds(min(xs), max(xs))


@vertex(unpack=("first", "last"))
def ends(xs: list[float]) -> tuple[float, float]:
    return xs[0], xs[-1]


@vertex
def report(mean: float, count: int, low: float, high: float, first: float, last: float) -> str:
    return f"{count} values, mean {mean:g}, {low:g}..{high:g}, {first:g} to {last:g}"


FLOW = flowdsl.Flow.from_functions(stats, bounds, ends, report)


@every_mode
def test_unpacked_fields_are_vertices_readable_by_parameter_name(mode: tuple[str, str]) -> None:
    result = run_in(mode, FLOW, {"xs": [2.0, 1.0, 6.0]})
    assert result["report"] == "3 values, mean 3, 1..6, 2 to 6"
    # The whole output keeps the vertex's name.
    assert result["stats"] == {"mean": 3.0, "count": 3}
    assert result["bounds"] == Bounds(1.0, 6.0)
    assert (result["mean"], result["low"], result["last"]) == (3.0, 1.0, 6.0)


def test_unpacked_vertices_are_in_the_graph_with_their_types() -> None:
    graph = FLOW.graph
    assert graph.vertices["mean"].returns is float
    assert graph.vertices["first"].returns is float
    assert graph.vertices["mean"].upstream == ("stats",)
    assert list(FLOW.run({"xs": [1.0]}, outputs=["count"])) == ["count"]


def test_unpack_names_keys_of_any_output_and_a_missing_key_names_both_vertices() -> None:
    @vertex(unpack=("a", "b"))
    def raw(n: int) -> dict[str, int]:
        return {"a": n}

    @vertex
    def total(a: int, b: int) -> int:
        return a + b

    flow = flowdsl.Flow.from_functions(raw, total)
    with pytest.raises(DataResolutionError, match=r"output of vertex 'raw'.*no field 'b'") as info:
        flow.run({"n": 1})
    assert info.value.vertex == "b"
    on_continue = flow.run({"n": 1}, on_error="continue")
    assert on_continue["a"] == 1
    assert str(on_continue.states["total"]) == "skipped"


def test_from_reads_a_key_of_any_subscriptable_output_at_run_time() -> None:
    pd = pytest.importorskip("pandas")

    @vertex
    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame({"age": list(range(n)), "count": [1] * n})

    @vertex
    def oldest(ages: Annotated[Any, From("frame.age")]) -> int:
        return int(ages.max())

    @vertex
    def counted(counts: Annotated[Any, From("frame.count")]) -> int:
        # A column named like a DataFrame method: read with [key], not as an attribute.
        return int(counts.sum())

    @vertex
    def missing(x: Annotated[Any, From("frame.salary")]) -> int:
        return 0

    flow = flowdsl.Flow.from_functions(frame, oldest, counted)
    result = flow.run({"n": 4})
    assert (result["oldest"], result["counted"]) == (3, 4)
    with pytest.raises(DataResolutionError, match=r"vertex 'frame'.*no field 'salary'") as info:
        flowdsl.Flow.from_functions(frame, missing).run({"n": 2})
    assert info.value.vertex == "missing"


def test_from_on_an_output_without_keys_is_still_a_compile_error() -> None:
    @vertex
    def number() -> int:
        return 1

    @vertex
    def reader(x: Annotated[int, From("number.real")]) -> int:
        return x

    with pytest.raises(BindingError, match="has no fields"):
        flowdsl.compile(number, reader)


def test_unpack_true_needs_a_structured_return() -> None:
    @vertex(unpack=True)
    def plain() -> dict[str, int]:
        return {}

    with pytest.raises(BindingError, match=r"unpack=True takes the fields") as info:
        flowdsl.compile(plain)
    assert (info.value.vertex, info.value.parameter) == ("plain", "return")


def test_unpack_problems_are_compile_errors() -> None:
    @vertex(unpack=("mean", "median"))
    def summary() -> Stats:
        return {"mean": 1.0, "count": 1}

    @vertex(unpack=("a", "b", "c"))
    def pair() -> tuple[int, int]:
        return 1, 2

    @vertex(unpack=("x",))
    def number() -> int:
        return 1

    @vertex(unpack=("summary",))
    def clash() -> dict[str, int]:
        return {}

    with pytest.raises(flowdsl.CompileError) as info:
        flowdsl.compile(summary, pair, number, clash)
    text = str(info.value)
    assert "has no such field" in text
    assert "names 3 parts, but tuple[int, int] has 2" in text
    assert "int has none to read" in text
    assert "that name is already a vertex" in text


@pytest.mark.parametrize("bad", ["not ok", (), ("a", "a"), 3, ("a", 1)])
def test_bad_unpack_options_are_invalid(bad: object) -> None:
    def step() -> dict[str, int]:
        return {}

    with pytest.raises(InvalidVertexError, match="unpack="):
        vertex(unpack=bad)(step)  # type: ignore[arg-type]


def test_unpacked_vertices_run_on_dask(dask_client: object) -> None:
    result = FLOW.run({"xs": [4.0, 2.0]}, backend="dask", dask_client=dask_client)
    assert result["report"] == "2 values, mean 3, 2..4, 4 to 2"
