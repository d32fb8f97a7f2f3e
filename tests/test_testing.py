"""``run(overrides=...)`` and the ``flowdsl.testing`` helpers."""

from __future__ import annotations

import functools
import inspect
import pickle
from typing import Annotated, TypedDict

import anyio
import pytest

import flowdsl
from flowdsl import ContractViolation, From, vertex
from flowdsl.testing import assert_not_ran, assert_ran, call_vertex, ran
from tests.runtime._modes import every_mode, run_in


class User(TypedDict):
    id: int
    name: str


calls: list[str] = []


@vertex
def token(secret: str) -> str:
    calls.append("token")
    return f"t-{secret}"


@vertex
def fetch_user(token: str, user_id: int) -> User:
    calls.append("fetch_user")
    return {"id": user_id, "name": "remote"}


@vertex
def greeting(name: Annotated[str, From("fetch_user.name")]) -> str:
    calls.append("greeting")
    return f"hello {name}"


@vertex
def audit(token: str) -> str:
    calls.append("audit")
    return "audited"


FLOW = flowdsl.Flow.from_functions(token, fetch_user, greeting, audit)


@every_mode
def test_an_overridden_vertex_is_not_run_and_what_only_it_needed_is_pruned(
    mode: tuple[str, str],
) -> None:
    calls.clear()
    user: User = {"id": 1, "name": "Ada"}
    result = run_in(mode, FLOW, {"secret": "s"}, overrides={"fetch_user": user})
    assert result["greeting"] == "hello Ada"
    assert result["fetch_user"] == user
    assert result["fetch_user.name"] == "Ada"
    assert str(result.states["fetch_user"]) == "overridden"
    assert sorted(calls) == ["audit", "greeting", "token"]  # token: audit still needs it
    assert_ran(result, "greeting", "audit", "token")
    assert_not_ran(result, "fetch_user")
    trace = str(result.lineage.trace("greeting"))
    assert "fetch_user [overridden]" in trace


def test_inputs_only_an_overridden_vertex_needed_are_no_longer_required() -> None:
    calls.clear()
    result = FLOW.run(
        {}, overrides={"token": "fake", "fetch_user": {"id": 2, "name": "Bo"}}, outputs=["greeting"]
    )
    assert dict(result) == {"greeting": "hello Bo"}
    assert calls == ["greeting"]
    assert ran(result) == {"greeting"}


def test_an_override_is_checked_against_the_return_annotation() -> None:
    with pytest.raises(ContractViolation) as caught:
        FLOW.run({"secret": "s"}, overrides={"fetch_user": {"id": "one", "name": "x"}})
    assert caught.value.vertex == "fetch_user"
    assert caught.value.parameter == "return"
    result = FLOW.run(
        {"secret": "s"}, overrides={"fetch_user": {"id": 1, "name": 2}}, contracts="off"
    )
    assert result["fetch_user.name"] == 2


def test_an_unknown_override_name_is_an_error_with_a_hint() -> None:
    with pytest.raises(flowdsl.UnknownInputError, match="'fetch_usr'; did you mean 'fetch_user'"):
        FLOW.run({"secret": "s"}, overrides={"fetch_usr": {}})


def test_call_vertex_checks_contracts_and_raises_the_original_error() -> None:
    assert call_vertex(greeting, name="Cy") == "hello Cy"
    assert call_vertex(fetch_user, token="t", user_id=3) == {"id": 3, "name": "remote"}
    with pytest.raises(ContractViolation):
        call_vertex(fetch_user, token="t", user_id="three")
    assert call_vertex(fetch_user, token="t", user_id="three", contracts="off")["id"] == "three"

    @vertex
    def fails(x: int) -> int:
        raise KeyError(x)

    with pytest.raises(KeyError):
        call_vertex(fails, x=1)
    with pytest.raises(flowdsl.MissingInputError):
        call_vertex(fails)
    with pytest.raises(flowdsl.InvalidVertexError):
        call_vertex(len, x=1)


def test_call_vertex_runs_a_conditional_vertex_without_its_condition() -> None:
    @vertex
    def gate(x: int) -> bool:
        return False

    @vertex(when="gate", retries=2)
    def guarded(x: int) -> int:
        return x * 3

    assert call_vertex(guarded, x=2) == 6


def test_assertions_say_what_went_wrong() -> None:
    result = FLOW.run({"secret": "s"}, overrides={"fetch_user": {"id": 1, "name": "A"}})
    with pytest.raises(AssertionError, match=r"expected to run: fetch_user \(overridden\)"):
        assert_ran(result, "fetch_user")
    with pytest.raises(AssertionError, match=r"expected not to run: audit \(completed\)"):
        assert_not_ran(result, "audit")


def _scale(value: float, factor: float) -> float:
    return value * factor


async def _fetch_scaled(value: float, factor: float) -> float:
    return value * factor


def test_call_vertex_applies_the_bind_constants_of_a_made_vertex() -> None:
    double = vertex(_scale, name="double", bind={"value": From("base"), "factor": 2.0})
    assert call_vertex(double, value=4.0) == 8.0
    # An argument given wins over the constant, as a call of a partial would.
    assert call_vertex(double, value=4.0, factor=3.0) == 12.0
    with pytest.raises(ContractViolation) as info:
        call_vertex(double, value="four")
    assert (info.value.vertex, info.value.parameter) == ("double", "value")
    family = vertex.expand(_scale, {f"times_{k}": {"factor": float(k)} for k in (2, 5)})
    assert [call_vertex(v, value=1.0) for v in family.values()] == [2.0, 5.0]
    tripled = vertex(functools.partial(_scale, factor=3.0), name="tripled")
    assert call_vertex(tripled, value=2.0) == 6.0


def test_call_vertex_takes_a_vertex_with_after_config_and_renamed_inputs() -> None:
    @vertex(after="elsewhere", config={"mode": "fast"})
    def quick(value: Annotated[float, flowdsl.Input("raw_value")]) -> float:
        return value + 1

    renamed = vertex(_scale, name="renamed", bind={"value": flowdsl.Input("x"), "factor": 10.0})
    assert call_vertex(quick, value=1.0) == 2.0
    assert call_vertex(renamed, value=1.0) == 10.0


def test_a_made_vertex_of_a_coroutine_function_is_a_coroutine_function() -> None:
    made = vertex(_fetch_scaled, name="fetched", bind={"factor": 2.0})
    from_partial = vertex(functools.partial(_fetch_scaled, factor=2.0), name="partly")
    assert inspect.iscoroutinefunction(made)
    assert inspect.iscoroutinefunction(from_partial)
    assert inspect.iscoroutinefunction(pickle.loads(pickle.dumps(made)))
    assert not inspect.iscoroutinefunction(vertex(_scale, name="plain", bind={}))
    assert anyio.run(made, 1.0, 3.0) == 3.0
    assert call_vertex(made, value=4.0) == 8.0
