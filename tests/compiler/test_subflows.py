"""Compiling sub-flows (``flow.as_vertex``): each mistake named where it was written."""

from __future__ import annotations

import pytest

import flowdsl
from flowdsl import (
    BindingError,
    CycleError,
    DuplicateVertexError,
    From,
    InvalidVertexError,
    TypeMismatchError,
    vertex,
)


def _inner() -> flowdsl.Flow:
    @vertex
    def doubled(amount: int) -> int:
        return 2 * amount

    return flowdsl.Flow.from_functions(doubled)


def test_a_bind_key_that_is_no_input_is_a_binding_error_with_a_suggestion() -> None:
    with pytest.raises(BindingError, match=r"'amont', which is not an input.*'amount'"):
        _inner().as_vertex("sub", bind={"amont": 1})


def test_outputs_must_name_vertices_of_the_sub_flow() -> None:
    with pytest.raises(BindingError, match=r"'double', which is not a vertex.*'doubled'") as caught:
        _inner().as_vertex("sub", outputs=["double"])
    assert "test_subflows.py" in str(caught.value)


@pytest.mark.parametrize("name", ["two words", "", "a.b", 3])
def test_the_name_is_an_identifier(name: object) -> None:
    with pytest.raises(InvalidVertexError, match="identifier"):
        _inner().as_vertex(name)  # type: ignore[arg-type]


def test_binding_to_an_unknown_vertex_names_the_sub_flow_and_its_input() -> None:
    sub = _inner().as_vertex("sub", bind={"amount": From("nowhere")})
    with pytest.raises(BindingError) as caught:
        flowdsl.Flow.from_functions(sub)
    assert caught.value.vertex == "sub"
    assert caught.value.parameter == "amount"
    assert "no vertex named 'nowhere'" in str(caught.value)
    assert "test_subflows.py" in str(caught.value)


def test_a_clearly_wrong_type_is_a_mismatch() -> None:
    @vertex
    def label() -> str:
        return "x"

    with pytest.raises(TypeMismatchError, match=r"doubled.amount as int.*type str"):
        flowdsl.Flow.from_functions(label, _inner().as_vertex("sub", bind={"amount": label}))


def test_a_name_taken_by_a_vertex_is_a_duplicate() -> None:
    @vertex
    def sub() -> int:
        return 1

    with pytest.raises(DuplicateVertexError):
        flowdsl.Flow.from_functions(sub, _inner().as_vertex("sub"))


def test_a_cycle_through_a_sub_flow_is_found() -> None:
    @vertex
    def back(loop: dict) -> int:  # type: ignore[type-arg]
        return 1

    with pytest.raises(CycleError, match="loop/doubled"):
        flowdsl.Flow.from_functions(back, _inner().as_vertex("loop", bind={"amount": back}))


def test_the_same_sub_flow_reached_twice_is_one_vertex() -> None:
    sub = _inner().as_vertex("sub")
    assert sorted(flowdsl.Flow.from_functions(sub, sub).vertices) == ["sub", "sub/doubled"]


def test_an_empty_flow_cannot_be_a_vertex() -> None:
    with pytest.raises(InvalidVertexError, match="without vertices"):
        flowdsl.Flow(flowdsl.compile()).as_vertex("empty")
