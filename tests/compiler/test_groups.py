"""Compile errors of atomic groups: groups must be closed, Transaction() needs a group."""

from __future__ import annotations

from typing import Any

import flowdsl
from flowdsl import GroupError
from tests.compiler.test_compile_errors import HEADER, compile_error


def test_a_group_that_is_not_closed_is_a_group_error(make_module: Any) -> None:
    module = make_module(
        HEADER
        + """
from flowdsl import AtomicGroup, MemoryTransaction
g = AtomicGroup("g", backend=MemoryTransaction())

@vertex(group=g)
def a(x: int) -> int:
    return x

@vertex
def outside(a: int) -> int:
    return a

@vertex(group=g)
def b(outside: int) -> int:
    return outside
"""
    )
    error = compile_error(module)
    assert type(error) is GroupError
    assert error.vertex == "outside"
    assert "outside atomic group 'g' but on a path between its vertices (a, b)" in str(error)
    assert error.location is not None


def test_transaction_needs_a_group(make_module: Any) -> None:
    module = make_module(
        HEADER
        + """
from flowdsl import Transaction

@vertex
def lonely(x: int, tx: Annotated[Any, Transaction()]) -> int:
    return x
"""
    )
    error = compile_error(module)
    assert type(error) is flowdsl.BindingError
    assert error.parameter == "tx"
    assert "this vertex has no group=" in str(error)
