"""One function, many vertices: ``vertex(fn, bind=...)``, ``vertex.expand``, ``Input``, partials."""

from __future__ import annotations

import functools
import inspect
import json
import pickle
import types
from pathlib import Path
from typing import Annotated

import pytest

import flowdsl
from flowdsl import (
    BindingError,
    DuplicateVertexError,
    From,
    Input,
    InvalidVertexError,
    MemoryCache,
    SourceLocation,
    TypeMismatchError,
    vertex,
)
from flowdsl._cli.explain import describe
from flowdsl._dsl import spec_of
from tests.compiler._modules import ModuleMaker
from tests.runtime._modes import every_mode, run_in

HERE = __file__


def line_above() -> SourceLocation:
    """The location of the line above the caller's current line."""
    frame = inspect.currentframe()
    assert frame is not None
    assert frame.f_back is not None
    return SourceLocation(HERE, frame.f_back.f_lineno - 1)


@vertex
def spend(days: int) -> list[float]:
    return [float(d) for d in range(1, days + 1)]


def lag(series: list[float], periods: int) -> list[float | None]:
    """Shift ``series`` right by ``periods`` (plain, undecorated)."""
    return [None] * periods + series[: len(series) - periods]


def scale(value: float, factor: float = 1.0) -> float:
    return value * factor


spend_lag_1 = vertex(lag, name="spend_lag_1", bind={"series": From("spend"), "periods": 1})
spend_lags = vertex.expand(
    lag, {f"spend_lag_{k}": {"series": From(spend), "periods": k} for k in (2, 3)}
)


def test_a_new_vertex_leaves_the_function_as_it_was() -> None:
    assert spec_of(lag) is None
    assert not hasattr(lag, "__flowdsl_vertex__")
    assert lag([1.0, 2.0], 1) == [None, 1.0]
    # The new vertex calls lag with the arguments given; bind= constants are not applied.
    assert spend_lag_1([1.0, 2.0, 3.0], 2) == [None, None, 1.0]
    assert inspect.signature(spend_lag_1) == inspect.signature(lag)
    assert spend_lag_1.__name__ == "spend_lag_1"
    assert spend_lag_1.__doc__ == lag.__doc__


def test_bound_vertices_run_with_their_constants_and_sources() -> None:
    flow = flowdsl.Flow.from_functions(spend, spend_lag_1, spend_lags)
    result = flow.run({"days": 4})
    assert result["spend_lag_1"] == [None, 1.0, 2.0, 3.0]
    assert result["spend_lag_2"] == [None, None, 1.0, 2.0]
    assert result["spend_lag_3"] == [None, None, None, 1.0]
    assert list(flow.inputs) == ["days"]
    binding = flow.vertices["spend_lag_2"].bindings[1]
    assert (binding.parameter, binding.is_constant, binding.constant) == ("periods", True, 2)


def test_expand_returns_a_mapping_of_plain_callables() -> None:
    assert sorted(spend_lags) == ["spend_lag_2", "spend_lag_3"]
    assert spend_lags["spend_lag_2"]([1.0, 2.0, 3.0], 1) == [None, 1.0, 2.0]


def test_from_module_finds_made_vertices_and_expanded_mappings(tmp_path: Path) -> None:
    module = ModuleMaker(tmp_path)(
        """
        from flowdsl import From, vertex

        def add(a: int, b: int) -> int:
            return a + b

        @vertex
        def base(x: int) -> int:
            return x

        plus_one = vertex(add, name="plus_one", bind={"a": From("base"), "b": 1})
        family = vertex.expand(
            add, {f"plus_{k}": {"a": From("plus_one"), "b": k} for k in (10, 20)}
        )
        """
    )
    flow = flowdsl.Flow.from_module(module)
    assert set(flow.vertices) == {"base", "plus_one", "plus_10", "plus_20"}
    result = flow.run({"x": 1})
    assert (result["plus_one"], result["plus_10"], result["plus_20"]) == (2, 12, 22)


def test_input_renames_a_flow_input_in_bind_and_in_annotated() -> None:
    @vertex
    def greet(who: Annotated[str, Input("user_name")], punctuation: str = "!") -> str:
        return f"hello {who}{punctuation}"

    shout = vertex(greet, name="shout", bind={"punctuation": Input("mark")})
    flow = flowdsl.Flow.from_functions(greet, shout)
    assert flow.inputs["user_name"].required
    assert not flow.inputs["mark"].required  # the parameter's default keeps it optional
    result = flow.run({"user_name": "Ada", "mark": "?"})
    assert (result["greet"], result["shout"]) == ("hello Ada!", "hello Ada?")
    assert flow.run({"user_name": "Bo"})["shout"] == "hello Bo!"


def test_input_names_must_be_identifiers() -> None:
    with pytest.raises(flowdsl.BindingError, match="identifier") as caught:
        Input("not a name")
    assert caught.value.location is not None  # the line that wrote it


def test_bind_wins_over_the_annotation_and_the_name_rule() -> None:
    @vertex
    def factor() -> float:
        return 100.0

    @vertex
    def value() -> float:
        return 3.0

    fixed = vertex(scale, name="fixed", bind={"factor": 2.0})
    from_input = vertex(scale, name="from_input", bind={"value": Input("v")})
    flow = flowdsl.Flow.from_functions(factor, value, fixed, from_input)
    result = flow.run({"v": 5.0})
    assert result["fixed"] == 6.0  # value by name, factor bound to the constant
    assert result["from_input"] == 500.0  # factor by name: the vertex's output


def test_partial_arguments_are_constants() -> None:
    halved = vertex(functools.partial(scale, factor=0.5), name="halved")
    fixed = vertex(functools.partial(scale, 4.0), name="fixed", bind={"factor": Input("f")})
    assert halved(8.0) == 4.0  # it calls the partial
    flow = flowdsl.Flow.from_functions(halved, fixed)
    assert flow.run({"value": 8.0, "f": 3.0}) == {"halved": 4.0, "fixed": 12.0}
    constants = {b.parameter: b.constant for b in flow.vertices["halved"].bindings if b.is_constant}
    assert constants == {"factor": 0.5}


def test_a_partial_of_a_vertex_keeps_its_options() -> None:
    @vertex(pure=True, retries=2)
    def weighted(value: float, weight: float) -> float:
        return value * weight

    heavy = vertex(functools.partial(weighted, weight=10.0), name="heavy")
    options = flowdsl.compile(heavy).vertices["heavy"].options
    assert (options.pure, options.retry is not None) == (True, True)
    assert spec_of(weighted) is not None


def test_a_vertex_made_from_a_vertex_takes_its_options_and_merges_bind() -> None:
    @vertex(pure=True, flows="daily")
    def weighted(value: float, weight: float) -> float:
        return value * weight

    light = vertex(weighted, name="light", bind={"weight": 0.1})
    lighter = vertex(light, name="lighter", bind={"value": Input("v")}, flows="hourly")
    graph = flowdsl.compile(lighter)
    node = graph.vertices["lighter"]
    assert node.options.pure
    assert node.options.flows == ("hourly",)
    assert node.options.bound == {"weight": 0.1, "value": Input("v")}
    assert flowdsl.Flow(graph).run({"v": 50.0})["lighter"] == pytest.approx(5.0)


def test_a_bind_key_that_is_not_a_parameter_is_a_binding_error_at_the_call() -> None:
    with pytest.raises(BindingError, match=r"'period'.*did you mean 'periods'") as info:
        vertex(lag, name="bad", bind={"period": 1})
    assert info.value.location == line_above()
    assert (info.value.vertex, info.value.parameter) == ("bad", "period")


def test_a_bad_expand_entry_points_at_the_expand_call() -> None:
    with pytest.raises(BindingError, match="did you mean 'series'") as info:
        vertex.expand(lag, {"ok": {"periods": 1}, "bad": {"serie": From("spend")}})
    assert info.value.location == line_above()
    assert info.value.vertex == "bad"
    with pytest.raises(InvalidVertexError, match="takes a bind= mapping") as bad:
        vertex.expand(lag, {"bad": 3})  # type: ignore[dict-item]
    assert bad.value.location == line_above()


def test_binding_a_vertex_itself_suggests_from() -> None:
    with pytest.raises(BindingError, match=r"From\(spend\)"):
        vertex(lag, name="bad", bind={"series": spend})


def test_a_constant_is_checked_against_the_annotation_at_compile_time() -> None:
    wrong = vertex(lag, name="wrong", bind={"series": From("spend"), "periods": "two"})
    made_at = line_above()
    with pytest.raises(
        TypeMismatchError, match=r"constant bound to 'periods'.*expected int"
    ) as info:
        flowdsl.compile(spend, wrong)
    assert info.value.location == made_at
    assert info.value.parameter == "periods"


def test_unknown_references_in_bind_are_compile_errors_with_a_suggestion() -> None:
    typo = vertex(lag, name="typo", bind={"series": From("spnd"), "periods": 1})
    made_at = line_above()
    with pytest.raises(BindingError, match="did you mean 'spend'") as info:
        flowdsl.compile(spend, typo)
    assert info.value.location == made_at


def test_two_made_vertices_of_one_name_are_duplicates() -> None:
    one = vertex(lag, name="same", bind={"series": From("spend"), "periods": 1})
    two = vertex(lag, name="same", bind={"series": From("spend"), "periods": 2})
    with pytest.raises(DuplicateVertexError):
        flowdsl.compile(spend, one, two)


def test_a_vertex_reached_twice_is_one_vertex() -> None:
    flow = flowdsl.Flow.from_functions(spend, spend_lags, *spend_lags.values())
    assert sorted(flow.vertices) == ["spend", "spend_lag_2", "spend_lag_3"]


def test_made_vertices_pickle_and_still_run() -> None:
    copy = pickle.loads(pickle.dumps(spend_lag_1))
    assert copy([1.0, 2.0], 1) == [None, 1.0]
    copied_spec = spec_of(copy)
    assert copied_spec is not None
    assert copied_spec.options.bound == {"series": From("spend"), "periods": 1}


def test_lambdas_need_a_name_and_builtins_are_refused() -> None:
    with pytest.raises(InvalidVertexError, match="lambda has no name"):
        vertex(lambda x: x, bind={"x": 1})
    with pytest.raises(InvalidVertexError, match="def or async def"):
        vertex(len, name="length", bind={})


def test_constants_are_shown_in_exports_explain_and_lineage() -> None:
    flow = flowdsl.Flow.from_functions(spend, spend_lag_1)
    data = json.loads(flow.to_json())
    lag_vertex = next(v for v in data["vertices"] if v["name"] == "spend_lag_1")
    periods = next(b for b in lag_vertex["bindings"] if b["parameter"] == "periods")
    assert (periods["kind"], periods["value"], periods["source"]) == ("constant", "1", None)
    assert "periods = 1" in flow.to_mermaid()
    assert "periods = 1" in flow.to_dot()
    assert "v_spend_lag_1" in flow.to_mermaid()
    assert "periods: int = " not in describe(flow.graph, flow.vertices["spend_lag_1"])
    assert "constant 1" in describe(flow.graph, flow.vertices["spend_lag_1"])
    trace = flow.run({"days": 3}).lineage.trace("spend_lag_1")
    step = next(s for s in trace.steps if s.vertex == "spend_lag_1")
    edge = next(e for e in step.edges if e.parameter == "periods")
    assert (edge.is_constant, edge.value) == (True, 1)
    assert "periods <- constant = 1" in str(trace)


def calls_in(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_constants_are_part_of_the_cache_key(tmp_path: Path) -> None:
    # Calls are counted in a file: a closure over a list would change the code
    # fingerprint at every call.
    log = tmp_path / "calls"

    def counted(value: float, factor: float) -> float:
        with log.open("a") as out:
            out.write(f"{factor} ")
        return value * factor

    two = vertex(counted, name="two", bind={"factor": 2.0}, pure=True)
    three = vertex(counted, name="three", bind={"factor": 3.0}, pure=True)
    flow = flowdsl.Flow.from_functions(two, three)
    store = MemoryCache()
    first = flow.run({"value": 1.0}, cache=store)
    second = flow.run({"value": 1.0}, cache=store)
    assert (first["two"], first["three"]) == (second["two"], second["three"]) == (2.0, 3.0)
    assert sorted(calls_in(log)) == ["2.0", "3.0"]  # each once; the second run hit the cache
    changed = vertex(counted, name="two", bind={"factor": 4.0}, pure=True)
    assert flowdsl.Flow.from_functions(changed).run({"value": 1.0}, cache=store)["two"] == 4.0


def test_constants_are_part_of_the_checkpoint_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    log = tmp_path / "calls"

    def tally(x: int, step: int) -> int:
        with log.open("a") as out:
            out.write(f"{step} ")
        return x + step

    first = vertex(tally, name="tally", bind={"step": 1})
    flowdsl.Flow.from_functions(first).run({"x": 1}, checkpoint=path, run_id="r")
    same = flowdsl.Flow.from_functions(vertex(tally, name="tally", bind={"step": 1}))
    assert same.resume("r", checkpoint=path)["tally"] == 2
    assert calls_in(log) == ["1"]  # resumed: not run again
    other = flowdsl.Flow.from_functions(vertex(tally, name="tally", bind={"step": 5}))
    assert other.resume("r", checkpoint=path)["tally"] == 6
    assert calls_in(log) == ["1", "5"]  # the constant changed: it ran again


@every_mode
def test_expanded_vertices_run_on_every_backend(mode: tuple[str, str]) -> None:
    async def slow_scale(value: float, factor: float) -> float:
        return value * factor

    family = vertex.expand(
        slow_scale, {f"x{k}": {"value": Input("v"), "factor": float(k)} for k in range(1, 6)}
    )
    sums = vertex.expand(
        scale, {f"s{k}": {"value": From(f"x{k}"), "factor": 10.0} for k in range(1, 6)}
    )
    result = run_in(mode, flowdsl.Flow.from_functions(family, sums), {"v": 2.0})
    assert [result[f"s{k}"] for k in range(1, 6)] == [20.0 * k for k in range(1, 6)]


def test_made_vertex_module_attribute_points_at_the_function() -> None:
    assert isinstance(spend_lag_1, types.FunctionType) is False
    assert spend_lag_1.__module__ == lag.__module__
    assert "spend_lag_1" in repr(spend_lag_1)


def test_expanded_vertices_with_constants_run_on_dask(dask_client: object) -> None:
    pytest.importorskip("distributed")
    flow = flowdsl.Flow.from_functions(spend, spend_lag_1, spend_lags)
    result = flow.run({"days": 4}, backend="dask", dask_client=dask_client)
    assert result["spend_lag_3"] == [None, None, None, 1.0]
    assert result["spend_lag_1"] == [None, 1.0, 2.0, 3.0]


def test_an_input_may_not_take_a_vertex_name() -> None:
    flagged = vertex(lag, name="flagged", bind={"series": Input("spend"), "periods": 1})
    with pytest.raises(BindingError, match=r"Input\('spend'\) names a vertex.*From\('spend'\)"):
        flowdsl.compile(spend, flagged)


def test_an_input_may_not_take_an_absent_config_variant_name() -> None:
    @vertex(name="region_rate", config={"region": "EU"})
    def eu_rate() -> float:
        return 0.2

    reader = vertex(scale, name="reader", bind={"factor": Input("region_rate")})
    with pytest.raises(BindingError, match="exists only under config") as info:
        flowdsl.compile(eu_rate, reader, config={"region": "US"})
    assert (info.value.vertex, info.value.parameter) == ("reader", "factor")
    # Under the matching config it is a vertex, which Input(...) may not name either.
    with pytest.raises(BindingError, match=r"Input\('region_rate'\) names a vertex"):
        flowdsl.compile(eu_rate, reader, config={"region": "EU"})
