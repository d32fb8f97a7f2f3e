"""The serial backend through ``Flow.run`` / ``Flow.arun``."""

from __future__ import annotations

import gc
import inspect
import weakref
from typing import Annotated, Any, TypedDict

import anyio
import pytest

import flowdsl
from flowdsl import (
    DataResolutionError,
    Flow,
    From,
    MissingInputError,
    SettingsError,
    SourceLocation,
    UnknownInputError,
    VertexFailed,
    vertex,
)
from tests.strategies import definition_lines


class User(TypedDict):
    id: int
    name: str


def assert_points_at(location: SourceLocation | None, fn: Any) -> None:
    """``location`` is the file of ``fn`` and a line of its definition (decorator to ``def``)."""
    assert location is not None
    assert location.file == inspect.getsourcefile(fn)
    assert location.line in definition_lines(fn)


def diamond(calls: list[str]) -> Flow:
    """x -> a -> (b, c) -> d, with b a coroutine that yields to the loop and d one that does not."""

    @vertex
    def a(x: int) -> int:
        calls.append("a")
        return x + 1

    @vertex
    async def b(a: int) -> int:
        calls.append("b")
        await anyio.sleep(0)
        return a * 10

    @vertex
    def c(a: int, k: int = 3) -> int:
        calls.append("c")
        return a * k

    @vertex
    async def d(b: int, c: int) -> int:
        calls.append("d")
        return b + c

    return Flow.from_functions(a, b, c, d)


# --------------------------------------------------------------------------- sync and async


def test_sync_and_async_vertices_mixed_from_a_sync_run() -> None:
    calls: list[str] = []
    flow = diamond(calls)

    result = flow.run({"x": 1})

    assert (result["a"], result["b"], result["c"], result["d"]) == (2, 20, 6, 26)
    assert calls == ["a", "b", "c", "d"]
    assert result.order == ("a", "b", "c", "d")
    assert set(result.states.values()) == {"completed"}


def test_a_run_of_only_sync_vertices_needs_no_event_loop() -> None:
    @vertex
    def inside(x: int) -> bool:
        try:
            anyio.get_current_task()
        except RuntimeError:
            return False
        return True

    assert Flow.from_functions(inside).run({"x": 1})["inside"] is False


@pytest.mark.parametrize("loop", ["asyncio", "trio"])
def test_sync_run_with_coroutine_vertices_on_either_loop(loop: str) -> None:
    calls: list[str] = []

    result = diamond(calls).run({"x": 2}, anyio_backend=loop)

    assert result["d"] == 30 + 9
    assert calls == ["a", "b", "c", "d"]


@pytest.mark.anyio
async def test_arun_inside_a_running_loop(anyio_backend: str) -> None:
    calls: list[str] = []
    flow = diamond(calls)

    result = await flow.arun({"x": 1, "k": 5})

    assert result["d"] == 20 + 10
    assert result.order == ("a", "b", "c", "d")
    assert calls == ["a", "b", "c", "d"]
    assert result.metrics.backend == "serial"


@pytest.mark.anyio
async def test_arun_reports_failures_like_run(anyio_backend: str) -> None:
    @vertex
    async def boom(x: int) -> int:
        await anyio.sleep(0)
        raise ValueError(f"bad {x}")

    with pytest.raises(VertexFailed) as caught:
        await Flow.from_functions(boom).arun({"x": 1})

    assert caught.value.vertex == "boom"
    assert isinstance(caught.value.__cause__, ValueError)


# --------------------------------------------------------------------------- order


def test_order_is_topological_and_stable_in_declaration_order() -> None:
    calls: list[str] = []

    @vertex
    def late(early: int) -> int:
        calls.append("late")
        return early + 1

    @vertex
    def solo() -> int:
        calls.append("solo")
        return 0

    @vertex
    def early(x: int) -> int:
        calls.append("early")
        return x

    @vertex
    def last(late: int, solo: int) -> int:
        calls.append("last")
        return late + solo

    flow = Flow.from_functions(late, solo, early, last)
    # `late` must wait for `early`; among ready vertices the first declared goes first.
    expected = ["solo", "early", "late", "last"]
    assert list(flow.graph.order) == expected
    for _ in range(3):
        calls.clear()
        result = flow.run({"x": 1})
        assert list(result.order) == expected
        assert calls == expected


# --------------------------------------------------------------------------- inputs


def test_missing_inputs_are_all_reported_before_anything_runs() -> None:
    calls: list[str] = []

    @vertex
    def first(alpha: int) -> int:
        calls.append("first")
        return alpha

    @vertex
    def second(first: int, beta: str, gamma: int = 0) -> int:
        calls.append("second")
        return first + gamma

    @vertex
    def third(second: int, delta: float) -> float:
        calls.append("third")
        return second * delta

    flow = Flow.from_functions(first, second, third)
    with pytest.raises(MissingInputError) as caught:
        flow.run({"beta": "b"})

    error = caught.value
    assert error.missing == ("alpha", "delta")
    assert isinstance(error, LookupError)
    message = str(error)
    assert "missing 2 required inputs" in message
    assert "'alpha', read by first.alpha" in message
    assert "'delta', read by third.delta" in message
    assert "gamma" not in message
    assert calls == []


def test_missing_inputs_count_only_the_planned_vertices() -> None:
    @vertex
    def needed(alpha: int) -> int:
        return alpha

    @vertex
    def unneeded(beta: int) -> int:
        return beta

    flow = Flow.from_functions(needed, unneeded)
    assert flow.run({"alpha": 1}, outputs=["needed"])["needed"] == 1
    with pytest.raises(MissingInputError) as caught:
        flow.run({}, outputs=["needed"])
    assert caught.value.missing == ("alpha",)


def test_missing_input_named_like_a_vertex_gets_a_hint() -> None:
    @vertex
    def normalize(name: str) -> str:
        return name

    @vertex
    def greet(normalise: str) -> str:
        return normalise

    with pytest.raises(MissingInputError) as caught:
        Flow.from_functions(normalize, greet).run({"name": "x"})
    assert caught.value.missing == ("normalise",)
    assert "did you mean 'normalize'" in str(caught.value)


def test_unknown_input_with_did_you_mean() -> None:
    calls: list[str] = []

    @vertex
    def greet(name: str) -> str:
        calls.append("greet")
        return name

    with pytest.raises(UnknownInputError) as caught:
        Flow.from_functions(greet).run({"nmae": "x", "name": "y"})

    error = caught.value
    assert error.unknown == ("nmae",)
    assert isinstance(error, LookupError)
    assert "1 unknown input: 'nmae' (did you mean 'name'?)" in str(error)
    assert "the flow inputs are: name" in str(error)
    assert calls == []


def test_defaults_are_used_per_consumer() -> None:
    @vertex
    def p(x: int = 1) -> int:
        return x

    @vertex
    def q(x: int = 2) -> int:
        return x

    @vertex
    def r(*, x: int = 3) -> int:
        return x

    flow = Flow.from_functions(p, q, r)
    assert not flow.inputs["x"].required

    result = flow.run()
    assert (result["p"], result["q"], result["r"]) == (1, 2, 3)

    given = flow.run({"x": 9})
    assert (given["p"], given["q"], given["r"]) == (9, 9, 9)
    assert given.inputs == {"x": 9}


def test_an_input_required_by_one_consumer_is_required() -> None:
    @vertex
    def p(x: int = 1) -> int:
        return x

    @vertex
    def q(x: int) -> int:
        return x

    flow = Flow.from_functions(p, q)
    assert flow.inputs["x"].required
    with pytest.raises(MissingInputError):
        flow.run()
    assert flow.run(outputs=["p"])["p"] == 1


# --------------------------------------------------------------------------- outputs= and flow=


def pipeline_flow(calls: list[str]) -> Flow:
    """The user pipeline of ``examples/pipeline.py``, recording calls, plus an unrelated branch."""

    @vertex
    def normalize(name: str) -> str:
        calls.append("normalize")
        return name.strip().lower()

    @vertex(pure=True, flows=("check",))
    def validate(normalize: str) -> bool:
        calls.append("validate")
        return normalize.isalnum()

    @vertex
    def fetch_user(normalize: str) -> User:
        calls.append("fetch_user")
        return {"id": 7, "name": normalize}

    @vertex(flows=("create_user",))
    def save(user_id: Annotated[int, From("fetch_user.id")], validate: bool) -> int:
        calls.append("save")
        return user_id if validate else -1

    @vertex(flows=("report",))
    def report(level: int = 1) -> str:
        calls.append("report")
        return f"level {level}"

    return Flow.from_functions(normalize, validate, fetch_user, save, report)


def test_outputs_prunes_what_is_not_needed() -> None:
    calls: list[str] = []
    flow = pipeline_flow(calls)

    result = flow.run({"name": " Alice "}, outputs=["validate"])

    assert calls == ["normalize", "validate"]
    assert list(result) == ["validate"]
    assert dict(result) == {"validate": True}
    assert set(result.states) == {"normalize", "validate"}
    with pytest.raises(KeyError, match="not requested"):
        result["normalize"]
    assert "fetch_user" not in result


def test_outputs_may_name_a_field_and_a_single_string() -> None:
    calls: list[str] = []
    flow = pipeline_flow(calls)

    result = flow.run({"name": " Alice "}, outputs=["fetch_user.name", "save"])
    assert dict(result) == {"fetch_user.name": "alice", "save": 7}
    assert calls == ["normalize", "validate", "fetch_user", "save"]

    calls.clear()
    single = flow.run({"name": " Bob "}, outputs="fetch_user.id")
    assert dict(single) == {"fetch_user.id": 7}
    assert calls == ["normalize", "fetch_user"]


def test_outputs_repeated_names_are_kept_once() -> None:
    result = pipeline_flow([]).run({"name": "a"}, outputs=["save", "save", "validate"])
    assert list(result) == ["save", "validate"]
    assert len(result) == 2


def test_flow_runs_tagged_vertices_and_what_they_need() -> None:
    calls: list[str] = []
    flow = pipeline_flow(calls)

    result = flow.run({"name": " Alice "}, flow="create_user")

    assert calls == ["normalize", "validate", "fetch_user", "save"]
    assert result["save"] == 7
    assert "report" not in result.states

    calls.clear()
    assert flow.run(flow="report")["report"] == "level 1"
    assert calls == ["report"]


def test_flow_and_outputs_combine() -> None:
    calls: list[str] = []
    result = pipeline_flow(calls).run({"name": "x"}, flow="report", outputs=["fetch_user.name"])
    assert sorted(calls) == ["fetch_user", "normalize", "report"]
    assert list(result) == ["fetch_user.name"]


@pytest.mark.parametrize(
    ("outputs", "hint"),
    [(["sav"], "did you mean 'save'"), (["fetch_usr.id"], "did you mean 'fetch_user'")],
)
def test_unknown_output_is_a_data_resolution_error(outputs: list[str], hint: str) -> None:
    calls: list[str] = []
    with pytest.raises(DataResolutionError) as caught:
        pipeline_flow(calls).run({"name": "x"}, outputs=outputs)
    assert hint in str(caught.value)
    assert repr(outputs[0].partition(".")[0]) in str(caught.value)
    assert calls == []


def test_an_unknown_field_of_a_structured_output_is_a_data_resolution_error() -> None:
    calls: list[str] = []
    with pytest.raises(DataResolutionError) as caught:
        pipeline_flow(calls).run({"name": "x"}, outputs=["fetch_user.email"])
    assert caught.value.vertex == "fetch_user"
    assert "'email'" in str(caught.value)


def test_unknown_flow_is_a_data_resolution_error() -> None:
    calls: list[str] = []
    with pytest.raises(DataResolutionError) as caught:
        pipeline_flow(calls).run({"name": "x"}, flow="create_usr")
    message = str(caught.value)
    assert "no flow named 'create_usr'" in message
    assert "did you mean 'create_user'" in message
    assert "check, create_user, report" in message
    assert calls == []


# --------------------------------------------------------------------------- failures


def failing_flow(calls: list[str]) -> tuple[Flow, Any]:
    @vertex
    def a(x: int) -> int:
        calls.append("a")
        return x

    @vertex
    def b(a: int) -> int:
        calls.append("b")
        raise ValueError(f"b cannot take {a}")

    @vertex
    def c(b: int) -> int:
        calls.append("c")
        return b

    @vertex
    def d(a: int) -> int:
        calls.append("d")
        return a + 1

    @vertex
    def e(c: int, d: int) -> int:
        calls.append("e")
        return c + d

    return Flow.from_functions(a, b, c, d, e), b


def test_a_failing_vertex_raises_vertex_failed_with_a_partial_result() -> None:
    calls: list[str] = []
    flow, b = failing_flow(calls)

    with pytest.raises(VertexFailed) as caught:
        flow.run({"x": 4})

    error = caught.value
    assert type(error.__cause__) is ValueError
    assert str(error.__cause__) == "b cannot take 4"
    assert error.vertex == "b"
    assert_points_at(error.location, b)
    assert error.attempts == 1
    assert "raised ValueError: b cannot take 4" in str(error)
    assert str(error.location) in str(error)
    assert calls == ["a", "b"]

    partial = error.result
    assert partial is not None
    assert dict(partial.states) == {
        "a": "completed",
        "b": "failed",
        "c": "pending",
        "d": "pending",
        "e": "pending",
    }
    assert dict(partial) == {"a": 4}
    assert partial.order == ("a",)
    assert partial.errors == {"b": error.__cause__}


def test_on_error_continue_finishes_independent_branches() -> None:
    calls: list[str] = []
    flow, _ = failing_flow(calls)

    result = flow.run({"x": 4}, on_error="continue")

    assert calls == ["a", "b", "d"]
    assert dict(result.states) == {
        "a": "completed",
        "b": "failed",
        "c": "skipped",
        "d": "completed",
        "e": "skipped",
    }
    assert dict(result) == {"a": 4, "d": 5}
    assert list(result.errors) == ["b"]
    assert isinstance(result.errors["b"], ValueError)
    assert result.order == ("a", "d")
    assert "c" not in result


def test_a_dict_output_missing_a_bound_key_names_both_vertices() -> None:
    calls: list[str] = []

    @vertex
    def producer(x: int) -> dict[str, int]:
        calls.append("producer")
        return {"a": x}

    @vertex
    def consumer(value: Annotated[int, From("producer.b")]) -> int:
        calls.append("consumer")
        return value

    flow = Flow.from_functions(producer, consumer)
    with pytest.raises(DataResolutionError) as caught:
        flow.run({"x": 1})

    error = caught.value
    assert error.vertex == "consumer"
    assert error.parameter == "value"
    assert_points_at(error.location, consumer)
    message = str(error)
    assert "'producer.b'" in message
    assert "vertex 'producer'" in message
    assert f"({inspect.getsourcefile(producer)}:" in message
    assert "'a'" in message  # what the output did have
    assert calls == ["producer"]

    result = flow.run({"x": 1}, on_error="continue")
    assert isinstance(result.errors["consumer"], DataResolutionError)
    assert result.states["consumer"] == "failed"


def test_a_dict_output_key_is_read_at_run_time() -> None:
    @vertex
    def producer(x: int) -> dict[str, int]:
        return {"a": x, "b": 2 * x}

    @vertex
    def consumer(value: Annotated[int, From("producer.b")]) -> int:
        return value + 1

    assert Flow.from_functions(producer, consumer).run({"x": 5})["consumer"] == 11


def test_a_requested_output_field_that_is_missing_is_an_error() -> None:
    @vertex
    def producer(x: int) -> dict[str, int]:
        return {"a": x}

    flow = Flow.from_functions(producer)
    assert dict(flow.run({"x": 1}, outputs=["producer.a"])) == {"producer.a": 1}
    with pytest.raises(DataResolutionError) as caught:
        flow.run({"x": 1}, outputs=["producer.b"])
    assert caught.value.vertex == "producer"
    assert "'producer.b' was requested" in str(caught.value)
    assert "no field 'b'" in str(caught.value)


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("backend", "gpu"),
        ("backend", 3),
        ("on_error", "ignore"),
        ("max_workers", 0),
        ("max_workers", -2),
        ("max_workers", 1.5),
        ("max_workers", True),
        ("anyio_backend", "curio"),
    ],
)
def test_bad_run_options_are_settings_errors(option: str, value: Any) -> None:
    calls: list[str] = []
    flow = diamond(calls)
    with pytest.raises(SettingsError) as caught:
        flow.run({"x": 1}, **{option: value})
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.source == f"argument {option}"
    assert f"{option}={value!r}" in str(error)
    assert calls == []


@pytest.mark.anyio
async def test_bad_options_in_arun(anyio_backend: str) -> None:
    with pytest.raises(SettingsError, match="backend='gpu'"):
        await diamond([]).arun({"x": 1}, backend="gpu")


# --------------------------------------------------------------------------- memory


class Blob:
    """A value that can be weakly referenced."""

    def __init__(self, size: int) -> None:
        self.size = size


def blob_flow(refs: list[weakref.ref[Blob]], alive_later: list[bool]) -> Flow:
    @vertex
    def make(n: int) -> Blob:
        blob = Blob(n)
        refs.append(weakref.ref(blob))
        return blob

    @vertex
    def measure(make: Blob) -> int:
        return make.size

    @vertex
    def later(measure: int) -> int:
        alive_later.append(refs[0]() is not None)
        return measure + 1

    return Flow.from_functions(make, measure, later)


def test_with_outputs_an_intermediate_value_is_released_after_its_last_consumer() -> None:
    refs: list[weakref.ref[Blob]] = []
    alive_later: list[bool] = []

    result = blob_flow(refs, alive_later).run({"n": 3}, outputs=["later"])

    assert result["later"] == 4
    assert alive_later == [False]  # already gone while `later` ran
    gc.collect()
    assert refs[0]() is None
    with pytest.raises(KeyError):
        result.value_of("make")
    assert result.value_of("later") == 4
    trace = result.lineage.trace("later")
    (edge,) = trace.steps[1].edges
    assert edge.source == "make"
    assert not edge.has_value


def test_without_outputs_every_value_is_kept() -> None:
    refs: list[weakref.ref[Blob]] = []
    alive_later: list[bool] = []

    result = blob_flow(refs, alive_later).run({"n": 3})

    assert alive_later == [True]
    gc.collect()
    assert refs[0]() is result["make"]
    assert result.value_of("make").size == 3
    assert result.value_of("measure") == 3


def test_a_requested_intermediate_is_kept() -> None:
    refs: list[weakref.ref[Blob]] = []
    alive_later: list[bool] = []

    result = blob_flow(refs, alive_later).run({"n": 3}, outputs=["make", "later"])

    assert alive_later == [True]
    assert result["make"].size == 3
    with pytest.raises(KeyError):
        result.value_of("measure")


def test_run_results_of_separate_runs_are_independent() -> None:
    calls: list[str] = []
    flow = diamond(calls)
    first, second = flow.run({"x": 1}), flow.run({"x": 2})
    assert (first["d"], second["d"]) == (26, 39)
    assert first.run_id != second.run_id


def test_flowdsl_reexports_the_runtime_api() -> None:
    assert flowdsl.Flow is Flow
    assert flowdsl.RunResult.__module__ == "flowdsl"
