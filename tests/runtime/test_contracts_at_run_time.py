"""Contracts through real runs: arguments checked before a call, results after it.

Every backend (serial, thread, async) on both event loops where one is
involved; the modes ``strict``, ``warn`` and ``off`` per run and per vertex;
what a ``ContractViolation`` carries; and the compile-time ``ContractWarning``
for annotations that cannot be checked.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import (
    Annotated,
    Any,
    Literal,
    NamedTuple,
    NewType,
    Optional,
    Protocol,
    runtime_checkable,
)

import anyio
import attrs
import pytest
from typing_extensions import NotRequired, TypedDict

import flowdsl
from flowdsl import Check, ContractViolation, From, vertex
from flowdsl._runtime.checking import StepChecks
from flowdsl._services.contracts import compile_contract
from tests.runtime._modes import every_mode, run_in

BACKENDS = ["serial", "thread", "async"]
LOOPS = ["asyncio", "trio"]


@dataclasses.dataclass
class Item:
    name: str
    price: float


class Order(TypedDict):
    id: int
    items: list[Item]


class Point(TypedDict):
    x: int
    y: int
    label: NotRequired[str]


class Pair(NamedTuple):
    left: int
    right: str


@attrs.define
class Account:
    owner: str
    balance: int

    def close(self) -> None:
        """Makes an ``Account`` a ``Closable``."""


@runtime_checkable
class Closable(Protocol):
    def close(self) -> None: ...


UserId = NewType("UserId", int)


class Named(Protocol):  # not runtime-checkable: flowdsl cannot check it
    name: str


def _items(bad_at: int | None = None) -> list[Item]:
    items = [Item(f"item{i}", 1.5) for i in range(5)]
    if bad_at is not None:
        items[bad_at] = Item("broken", "free")  # type: ignore[arg-type]
    return items


def _def_line(function: Any) -> int:
    location = flowdsl.compile(function).vertices[function.__name__].location
    return location.line


# Arguments, including flow inputs, are checked before the body runs.


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bad_flow_input_fails_before_the_body_runs(backend: str, loop: str) -> None:
    calls: list[int] = []

    @vertex
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    flow = flowdsl.Flow.from_functions(double)
    with pytest.raises(ContractViolation) as caught:
        flow.run({"x": "7"}, backend=backend, anyio_backend=loop)

    error = caught.value
    assert calls == []
    assert error.vertex == "double"
    assert error.parameter == "x"
    assert error.location is not None
    assert error.location.file == __file__
    assert error.location.line == _def_line(double)
    assert error.path == "x"
    assert error.expected == "int"
    assert error.actual == "'7' (str)"
    assert str(error) == (
        f"vertex 'double', parameter 'x' ({error.location}): x: expected int, got '7' (str)"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_async_vertex_with_a_bad_argument_is_never_awaited(backend: str) -> None:
    calls: list[int] = []

    @vertex
    async def double(x: int) -> int:
        calls.append(x)
        await anyio.sleep(0)
        return 2 * x

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(double).run({"x": 1.0}, backend=backend)
    assert calls == []
    assert (caught.value.parameter, caught.value.actual) == ("x", "1.0 (float)")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bad_upstream_output_fails_the_reader_before_its_body(backend: str) -> None:
    calls: list[str] = []

    @vertex
    def source(x: int) -> Any:
        return str(x)

    @vertex
    def reader(source: int) -> int:
        calls.append("reader")
        return source

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(source, reader).run({"x": 1}, backend=backend)
    assert calls == []
    assert (caught.value.vertex, caught.value.parameter) == ("reader", "source")


def test_bool_is_not_an_int() -> None:
    @vertex
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(double).run({"x": True})
    assert (caught.value.expected, caught.value.actual) == ("int", "True (bool)")


def test_an_int_is_a_float() -> None:
    @vertex
    def half(x: float) -> float:
        return x / 2

    assert flowdsl.Flow.from_functions(half).run({"x": 3})["half"] == 1.5


def test_a_field_read_with_from_is_checked_against_the_readers_annotation() -> None:
    calls: list[int] = []

    @vertex
    def user(x: int) -> dict[str, Any]:
        return {"age": "old", "name": "ada"}

    @vertex
    def next_age(age: Annotated[int, From("user.age")]) -> int:
        calls.append(age)
        return age + 1

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(user, next_age).run({"x": 1})
    error = caught.value
    assert calls == []
    assert (error.vertex, error.parameter, error.path) == ("next_age", "age", "age")
    assert (error.expected, error.actual) == ("int", "'old' (str)")


def test_check_constraints_are_applied() -> None:
    @vertex
    def root(x: Annotated[int, Check(lambda v: v > 0, "must be positive")]) -> int:
        return x

    flow = flowdsl.Flow.from_functions(root)
    assert flow.run({"x": 4})["root"] == 4
    with pytest.raises(ContractViolation) as caught:
        flow.run({"x": -1})
    assert (caught.value.expected, caught.value.actual) == ("must be positive", "-1 (int)")


def test_annotated_types_constraints_are_applied() -> None:
    annotated_types = pytest.importorskip(
        "annotated_types", reason="annotated-types is not installed (flowdsl does not need it)"
    )

    @vertex
    def root(x: Annotated[int, annotated_types.Gt(0)]) -> int:
        return x

    flow = flowdsl.Flow.from_functions(root)
    assert flow.run({"x": 4})["root"] == 4
    with pytest.raises(ContractViolation) as caught:
        flow.run({"x": 0})
    assert caught.value.expected == "> 0"


SUPPORTED = [
    # annotation, a value that passes, one that fails, the path, the expected text
    (list[int], [1, 2], [1, "2"], "x[1]", "int"),
    (dict[str, int], {"a": 1}, {"a": 1, "b": "2"}, "x['b']", "int"),
    (tuple[int, str], (1, "a"), (1, 2), "x[1]", "str"),
    (set[int], {1}, {1.5}, "x{1.5}", "int"),
    (Optional[int], None, "1", "x", "Optional[int]"),  # noqa: UP045 - the Optional form itself
    (int | str, "a", 1.5, "x", "int | str"),
    (Literal["a", "b"], "a", "c", "x", "Literal['a', 'b']"),
    (Point, {"x": 1, "y": 2}, {"x": 1, "y": "2"}, "x['y']", "int"),
    (Item, Item("a", 1.0), Item("a", "1"), "x.price", "float"),  # type: ignore[arg-type]
    (Pair, Pair(1, "a"), Pair(1, 2), "x.right", "str"),  # type: ignore[arg-type]
    (Account, Account("a", 1), Account("a", "1"), "x.balance", "int"),  # type: ignore[arg-type]
    (UserId, UserId(1), "1", "x", "int"),
    (Closable, Account("a", 1), 1, "x", "Closable"),
    (Callable[[int], int], abs, 1, "x", "Callable[[int], int]"),
    (Any, object(), None, None, None),
]


@pytest.mark.parametrize(("annotation", "good", "bad", "path", "expected"), SUPPORTED)
def test_each_supported_annotation_is_checked_in_a_run(
    annotation: Any, good: Any, bad: Any, path: str | None, expected: str | None
) -> None:
    def take(x: Any) -> None:
        return None

    take.__annotations__ = {"x": annotation, "return": None}
    flow = flowdsl.Flow.from_functions(vertex(take))
    assert flow.run({"x": good})["take"] is None
    if path is None:
        assert flow.run({"x": bad})["take"] is None
        return
    with pytest.raises(ContractViolation) as caught:
        flow.run({"x": bad})
    assert (caught.value.path, caught.value.expected) == (path, expected)


def test_contracts_are_compiled_once_at_compile_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[Any] = []

    def counting(annotation: Any, *args: Any) -> Any:
        compiled.append(annotation)
        return compile_contract(annotation, *args)

    monkeypatch.setattr("flowdsl._compiler.contracts.compile_contract", counting)

    @vertex
    def double(x: int) -> int:
        return 2 * x

    flow = flowdsl.Flow.from_functions(double)
    at_compile = len(compiled)
    contracts = flow.vertices["double"].contracts
    assert contracts is not None
    assert set(contracts.parameters) == {"x"}
    assert contracts.returns is not None
    for x in range(3):
        assert flow.run({"x": x})["double"] == 2 * x
    assert len(compiled) == at_compile > 0


# Results are checked after the call, fields of structured outputs included.


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bad_return_value_fails_after_the_call(backend: str, loop: str) -> None:
    calls: list[int] = []

    @vertex
    def count(x: int) -> int:
        calls.append(x)
        return "many"  # type: ignore[return-value]

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(count).run({"x": 1}, backend=backend, anyio_backend=loop)
    error = caught.value
    assert calls == [1]
    assert (error.vertex, error.parameter, error.path) == ("count", "return", "return")
    assert (error.expected, error.actual) == ("int", "'many' (str)")
    assert error.location is not None
    assert error.location.line == _def_line(count)


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_an_async_return_value_is_checked_after_the_await(backend: str, loop: str) -> None:
    calls: list[str] = []

    @vertex
    async def count(x: int) -> int:
        await anyio.sleep(0)
        calls.append("after await")
        return "many"  # type: ignore[return-value]

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(count).run({"x": 1}, backend=backend, anyio_backend=loop)
    assert calls == ["after await"]
    assert (caught.value.path, caught.value.actual) == ("return", "'many' (str)")


@pytest.mark.anyio
@pytest.mark.parametrize("backend", BACKENDS)
async def test_arun_checks_contracts_inside_a_running_loop(backend: str) -> None:
    @vertex
    async def count(x: int) -> int:
        await anyio.sleep(0)
        return str(x)  # type: ignore[return-value]

    with pytest.raises(ContractViolation) as caught:
        await flowdsl.Flow.from_functions(count).arun({"x": 1}, backend=backend)
    assert caught.value.path == "return"


def test_a_typeddict_return_missing_a_required_key_fails() -> None:
    @vertex
    def point(x: int) -> Point:
        return {"x": x}  # type: ignore[typeddict-item]

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(point).run({"x": 1})
    error = caught.value
    assert (error.path, error.expected, error.actual) == ("return['y']", "int", "missing")


def test_a_typeddict_return_may_leave_out_an_optional_key() -> None:
    @vertex
    def point(x: int) -> Point:
        return {"x": x, "y": 2}

    assert flowdsl.Flow.from_functions(point).run({"x": 1})["point"] == {"x": 1, "y": 2}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bad_field_deep_in_a_list_of_dataclasses_is_located(backend: str) -> None:
    @vertex
    def items(x: int) -> list[Item]:
        return _items(bad_at=3)

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(items).run({"x": 1}, backend=backend)
    error = caught.value
    assert (error.path, error.expected, error.actual) == (
        "return[3].price",
        "float",
        "'free' (str)",
    )


def test_a_bad_field_deep_in_a_typeddict_is_located() -> None:
    @vertex
    def order(x: int) -> Order:
        return {"id": x, "items": _items(bad_at=3)}

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(order).run({"x": 1})
    error = caught.value
    assert error.path == "return['items'][3].price"
    assert str(error).endswith("return['items'][3].price: expected float, got 'free' (str)")


def test_good_structured_values_pass() -> None:
    @vertex
    def order(x: int) -> Order:
        return {"id": x, "items": _items()}

    @vertex
    def total(order: Order) -> float:
        return sum(item.price for item in order["items"])

    assert flowdsl.Flow.from_functions(order, total).run({"x": 1})["total"] == 7.5


# Modes: strict (default), warn, off; per run and per vertex.


@pytest.mark.parametrize("backend", BACKENDS)
def test_warn_logs_the_violation_and_the_run_goes_on(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    @vertex
    def count(x: int) -> int:
        return f"{x}!"  # type: ignore[return-value]

    @vertex
    def shout(count: Any) -> str:
        return f"{count}!"

    flow = flowdsl.Flow.from_functions(count, shout)
    with caplog.at_level(logging.WARNING, logger="flowdsl"):
        result = flow.run({"x": "7"}, backend=backend, contracts="warn")

    assert dict(result) == {"count": "7!", "shout": "7!!"}
    messages = [r.getMessage() for r in caplog.records if r.name == "flowdsl"]
    assert len(messages) == 2
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    assert any("parameter 'x'" in m and "x: expected int, got '7' (str)" in m for m in messages)
    assert any("return: expected int, got '7!' (str)" in m for m in messages)
    assert all("vertex 'count'" in m for m in messages)


@pytest.mark.parametrize("backend", BACKENDS)
def test_off_checks_nothing(backend: str, caplog: pytest.LogCaptureFixture) -> None:
    @vertex
    def count(x: int) -> int:
        return f"{x}!"  # type: ignore[return-value]

    with caplog.at_level(logging.DEBUG, logger="flowdsl"):
        result = flowdsl.Flow.from_functions(count).run(
            {"x": "7"}, backend=backend, contracts="off"
        )
    assert result["count"] == "7!"
    assert not caplog.records


def test_strict_is_the_default() -> None:
    @vertex
    def double(x: int) -> int:
        return 2 * x

    flow = flowdsl.Flow.from_functions(double)
    with pytest.raises(ContractViolation):
        flow.run({"x": "7"})
    with pytest.raises(ContractViolation):
        flow.run({"x": "7"}, contracts="strict")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_vertex_with_contracts_off_wins_over_a_strict_run(backend: str) -> None:
    @vertex(contracts="off")
    def loose(x: int) -> int:
        return f"{x}"  # type: ignore[return-value]

    @vertex
    def strict(loose: Any) -> str:
        return str(loose) * 2

    flow = flowdsl.Flow.from_functions(loose, strict)
    result = flow.run({"x": "7"}, backend=backend, contracts="strict")
    assert dict(result) == {"loose": "7", "strict": "77"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_vertex_with_contracts_strict_wins_over_a_run_with_off(backend: str) -> None:
    calls: list[str] = []

    @vertex
    def loose(x: int) -> int:
        return f"{x}"  # type: ignore[return-value]

    @vertex(contracts="strict")
    def checked(loose: int) -> int:
        calls.append("checked")
        return loose

    flow = flowdsl.Flow.from_functions(loose, checked)
    with pytest.raises(ContractViolation) as caught:
        flow.run({"x": "7"}, backend=backend, contracts="off")
    assert calls == []
    assert (caught.value.vertex, caught.value.parameter) == ("checked", "loose")


def test_a_vertex_with_contracts_warn_wins_over_a_strict_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @vertex(contracts="warn")
    def count(x: int) -> Any:
        return x

    with caplog.at_level(logging.WARNING, logger="flowdsl"):
        result = flowdsl.Flow.from_functions(count).run({"x": "7"}, contracts="strict")
    assert result["count"] == "7"
    assert ["x: expected int" in r.getMessage() for r in caplog.records] == [True]


@pytest.mark.parametrize("backend", BACKENDS)
def test_on_error_continue_records_the_violation_and_skips_dependents(backend: str) -> None:
    @vertex
    def bad(x: int) -> int:
        return "x"  # type: ignore[return-value]

    @vertex
    def after_bad(bad: int) -> int:
        return bad

    @vertex
    def good(x: int) -> int:
        return x + 1

    flow = flowdsl.Flow.from_functions(bad, after_bad, good)
    result = flow.run({"x": 1}, backend=backend, on_error="continue")

    assert dict(result) == {"good": 2}
    assert set(result.errors) == {"bad"}
    error = result.errors["bad"]
    assert isinstance(error, ContractViolation)
    assert error.path == "return"
    assert result.states["after_bad"] == "skipped"
    assert result.states["bad"] == "failed"


# Option errors and annotations flowdsl cannot check.


def test_a_bad_contracts_value_for_a_run_is_a_settings_error() -> None:
    @vertex
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(flowdsl.SettingsError, match="contracts"):
        flowdsl.Flow.from_functions(double).run({"x": 1}, contracts="loose")


def test_a_bad_contracts_value_for_a_vertex_is_an_invalid_vertex_error() -> None:
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(flowdsl.InvalidVertexError, match="contracts") as caught:
        vertex(contracts="loose")(double)  # type: ignore[call-overload]
    assert caught.value.vertex == "double"


def test_an_uncheckable_annotation_is_a_compile_time_warning() -> None:
    @vertex
    def greet(who: Named) -> str:
        return f"hello {who.name}"

    with pytest.warns(flowdsl.ContractWarning) as caught:
        flow = flowdsl.Flow.from_functions(greet)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "vertex 'greet'" in message
    assert "'who'" in message
    assert "Named" in message
    assert caught[0].filename == __file__
    assert caught[0].lineno == flow.vertices["greet"].location.line


# bind= constants: checked once, when the flow compiles.


def _scale(value: float, factor: float) -> float:
    return value * factor


def test_a_bind_constant_is_checked_at_compile_time_and_not_on_each_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[str] = []
    original = StepChecks.check

    def recording(self: StepChecks, value: Any, rule: Any) -> None:
        checked.append(rule.name)
        original(self, value, rule)

    monkeypatch.setattr(StepChecks, "check", recording)
    triple = vertex(_scale, name="triple", bind={"value": flowdsl.Input("x"), "factor": 3})
    flow = flowdsl.Flow.from_functions(triple)
    # int is not float's exact type, so each value below is checked by a call.
    assert flow.run({"x": 2})["triple"] == 6
    assert flow.run({"x": 2})["triple"] == 6
    assert checked == ["value", "return", "value", "return"]


@every_mode
def test_the_argument_beside_bind_constants_is_still_checked(mode: tuple[str, str]) -> None:
    triple = vertex(_scale, name="triple", bind={"value": flowdsl.Input("x"), "factor": 3.0})
    flow = flowdsl.Flow.from_functions(triple)
    assert run_in(mode, flow, {"x": 2.0})["triple"] == 6.0
    with pytest.raises(ContractViolation) as info:
        run_in(mode, flow, {"x": "2"})
    assert (info.value.vertex, info.value.parameter) == ("triple", "value")


def test_a_bind_constant_s_own_checks_are_recorded_on_every_run() -> None:
    def scaled(
        value: float,
        factor: Annotated[float, Check(lambda f: f < 2, "small factor", importance="warn")],
    ) -> float:
        return value * factor

    big = vertex(scaled, name="big", bind={"factor": 5.0})
    flow = flowdsl.Flow.from_functions(big)
    for _ in range(2):
        with pytest.warns(flowdsl.ContractWarning, match="small factor"):
            result = flow.run({"value": 1.0})
        assert [(o.parameter, o.message, o.passed) for o in result.checks["big"]] == [
            ("factor", "small factor", False)
        ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_argument_of_a_vertex_reading_several_outputs_is_checked(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A vertex reading several whole outputs checks their exact types inline
    # and falls back to the full checks only for a value of another type: a
    # subclass that passes, a value that fails, each reported by its parameter.
    @vertex
    def a(x: Any) -> Any:
        return x

    @vertex
    def b(y: Any) -> Any:
        return y

    @vertex
    def total(a: int, b: float) -> float:
        return float(a) + float(b)  # runs on a bad value too, when contracts only warn

    flow = flowdsl.Flow.from_functions(a, b, total)
    assert flow.run({"x": 1, "y": 2.5}, backend=backend)["total"] == 3.5
    assert flow.run({"x": 1, "y": 2}, backend=backend)["total"] == 3  # an int is a float
    with pytest.raises(ContractViolation) as caught:
        flow.run({"x": 1, "y": "2"}, backend=backend)
    assert (caught.value.vertex, caught.value.parameter) == ("total", "b")
    assert caught.value.location is not None
    assert caught.value.location.line > 0
    with pytest.raises(ContractViolation) as caught:
        flow.run({"x": True, "y": 2.0}, backend=backend)
    assert (caught.value.parameter, caught.value.actual) == ("a", "True (bool)")
    # The same step, warned about once per bad call, then checked again.
    with caplog.at_level(logging.WARNING, logger="flowdsl"):
        for y in ("1", 1.0, "2"):
            flow.run({"x": 1, "y": y}, backend=backend, contracts="warn")
    warned = [r.getMessage() for r in caplog.records if r.name == "flowdsl"]
    assert len(warned) == 2
    assert all("vertex 'total'" in m and "parameter 'b'" in m for m in warned)


def test_the_serial_loop_checks_plain_steps_without_their_invokers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A first serial run makes the exact-type tests of plain steps itself; their
    # invokers (what the other schedulers call) are not built for it.
    from flowdsl._runtime import checking

    def unbuilt(*args: Any) -> Any:
        raise AssertionError("an invoker was built")

    monkeypatch.setattr(checking, "_unary_invoker", unbuilt)
    monkeypatch.setattr(checking, "_tuple_invoker", unbuilt)

    @vertex
    def one(x: int) -> int:
        return x + 1

    @vertex
    def two(one: int, x: int) -> int:
        return one + x

    @vertex
    def bad(two: int) -> str:
        return two  # type: ignore[return-value]

    flow = flowdsl.Flow.from_functions(one, two)
    assert flow.run({"x": 1})["two"] == 3
    with pytest.raises(ContractViolation) as found:
        flow.run({"x": "a"})
    assert (found.value.vertex, found.value.parameter) == ("one", "x")
    with pytest.raises(ContractViolation) as found:
        flowdsl.Flow.from_functions(one, two, bad).run({"x": 1})
    assert (found.value.vertex, found.value.parameter) == ("bad", "return")
