"""Compile-time and decoration-time errors of the resilience and control-flow options."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

import flowdsl
from flowdsl import BindingError, CycleError, InvalidVertexError, TypeMismatchError, vertex
from tests.compiler._modules import def_location
from tests.compiler.test_compile_errors import HEADER, assert_context, compile_error

CONTROL_HEADER = HEADER + "from flowdsl import Previous\n"


@pytest.mark.parametrize(
    ("source", "vertex_name", "message"),
    [
        (
            """
@vertex(when="gaet")
def guarded(x: int) -> int:
    return x

@vertex
def gate(x: int) -> bool:
    return True
""",
            "guarded",
            "when='gaet': there is no vertex named 'gaet'; did you mean 'gate'?",
        ),
        (
            """
@vertex(when="guarded")
def guarded(x: int) -> int:
    return x
""",
            "guarded",
            "a vertex cannot be conditional on its own output",
        ),
        (
            """
@vertex
def gate(x: int) -> int:
    return x

@vertex(when="gate.flag")
def guarded(x: int) -> int:
    return x
""",
            "guarded",
            "when='gate.flag': 'gate' returns int, which has no fields",
        ),
        (
            """
def helper(x: int) -> bool:
    return True

@vertex(when=helper)
def guarded(x: int) -> int:
    return x
""",
            "guarded",
            "when=helper: names a function that is not a @vertex",
        ),
    ],
)
def test_bad_conditions(make_module, source: str, vertex_name: str, message: str) -> None:
    module = make_module(HEADER + source)
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, vertex_name, "when")
    assert message in str(error)


def test_a_cycle_through_a_condition_names_when(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex(when="b")
def a(x: int) -> bool:
    return True

@vertex
def b(a: bool) -> bool:
    return a
"""
    )
    error = compile_error(module)
    assert type(error) is CycleError
    assert "a.when reads b" in str(error)


@pytest.mark.parametrize(
    ("source", "parameter", "message"),
    [
        (
            """
@vertex
def loop(last: Annotated[Optional[int], Previous()]) -> int:
    return 1
""",
            "last",
            "Previous() feeds a loop its last output",
        ),
        (
            """
@vertex
def other(x: int) -> int:
    return x

@vertex(until=lambda v: True, max_iterations=2)
def loop(last: Annotated[Optional[int], Previous(), From("other")]) -> int:
    return 1
""",
            "last",
            "a parameter takes From(...) or Previous(), not both",
        ),
        (
            """
@vertex(until=lambda v: True, max_iterations=2)
def loop(
    a: Annotated[Optional[int], Previous()], b: Annotated[Optional[int], Previous()]
) -> int:
    return 1
""",
            "b",
            "only one parameter of a vertex can be Previous()",
        ),
        (
            """
@vertex(until=lambda v: True, max_iterations=2, map_over="a")
def loop(a: Annotated[Optional[int], Previous()]) -> int:
    return 1
""",
            "a",
            "the parameter mapped over cannot also be Previous()",
        ),
    ],
)
def test_bad_previous_parameters(make_module, source: str, parameter: str, message: str) -> None:
    module = make_module(CONTROL_HEADER + source)
    error = compile_error(module)
    assert type(error) is BindingError
    assert_context(error, module, "loop", parameter)
    assert message in str(error)


def test_a_mapped_parameter_is_checked_against_the_element_type(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex
def names(x: int) -> list[str]:
    return ["a"]

@vertex(map_over="names")
def lengths(names: int) -> int:
    return names

@vertex(map_over="names")
def upper(names: str) -> str:
    return names.upper()
"""
    )
    error = compile_error(module)
    assert type(error) is TypeMismatchError
    assert_context(error, module, "lengths", "names")
    assert "'names' produces str, but the parameter expects int" in str(error)
    assert def_location(module, "upper") not in [p.location for p in error.problems]


def test_binding_to_a_mapped_vertex_sees_a_list(make_module) -> None:
    module = make_module(
        HEADER
        + """
@vertex(map_over="items")
def doubled(items: int) -> int:
    return items * 2

@vertex
def wrong(doubled: int) -> int:
    return doubled
"""
    )
    error = compile_error(module)
    assert type(error) is TypeMismatchError
    assert "'doubled' produces list[int]" in str(error)


def f_two(a: int, b: int) -> int:
    return a + b


def needs_other(a: int, other: int) -> int:
    return a


def star(*args: Any) -> int:
    return 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": 1, "retry": flowdsl.RetryPolicy(1)}, "give retries= or retry=, not both"),
        ({"retries": -1}, "retries= takes a whole number >= 0; got -1"),
        ({"retries": 1.5}, "retries= takes a whole number >= 0; got 1.5"),
        ({"retry": 3}, "retry= takes a flowdsl.RetryPolicy; got 3"),
        ({"fallback": 3}, "fallback= takes functions; got 3"),
        ({"fallback": needs_other}, "fallback 'needs_other' needs 'other'"),
        ({"fallback": [f_two, star]}, "fallback 'star' takes *args"),
        ({"when": 3}, "when= takes 'vertex', 'vertex.field' or a decorated function; got 3"),
        ({"when": "a.b.c"}, "got 'a.b.c'"),
        ({"map_over": "c"}, "map_over= names the parameter to map over; 'c' is not one"),
        ({"until": lambda v: True}, "until= needs max_iterations="),
        ({"max_iterations": 3}, "max_iterations= bounds a loop; give until= too"),
        ({"until": lambda v: True, "max_iterations": 0}, "max_iterations= takes a whole number"),
        ({"until": 5, "max_iterations": 2}, "until= takes a predicate of the output; got 5"),
        ({"max_concurrency": 0}, "max_concurrency= takes a whole number >= 1; got 0"),
        ({"rate_limit": -1}, "rate_limit= takes a positive number; got -1"),
        ({"rate_limit": True}, "rate_limit= takes a positive number; got True"),
    ],
)
def test_bad_options_fail_at_decoration(options: dict[str, Any], message: str) -> None:
    def target(a: int, b: int) -> int:
        return a

    with pytest.raises(InvalidVertexError) as caught:
        vertex(**options)(target)
    assert message in str(caught.value)
    assert caught.value.vertex == "target"
    assert caught.value.location is not None


def test_options_are_recorded_in_the_model() -> None:
    policy = flowdsl.RetryPolicy(max_retries=2, delay=0.1)

    @vertex
    def gate(b: int) -> bool:
        return True

    @vertex(
        retry=policy,
        fallback=f_two,
        when="gate",
        map_over="a",
        until=bool,
        max_iterations=4,
        max_concurrency=3,
        rate_limit=2.5,
    )
    def target(a: int, b: int, c: Annotated[int | None, flowdsl.Previous()]) -> int:
        return a

    graph = flowdsl.compile(gate, target)
    node = graph.vertices["target"]
    assert node.options.retry == policy
    assert node.options.fallbacks == (f_two,)
    assert node.condition is not None
    assert node.condition.ref == "gate"
    assert node.upstream == ("gate",)
    options = node.options
    assert (
        options.map_over,
        options.max_iterations,
        options.max_concurrency,
        options.rate_limit,
    ) == (
        flowdsl.MapOver(("a",)),
        4,
        3,
        2.5,
    )
    assert [b.previous for b in node.bindings] == [False, False, True]
    assert "c" not in graph.inputs
    data = flowdsl.Flow(graph).to_json()
    assert '"kind": "condition"' in data
    assert '"kind": "previous"' in data
    assert '"max_concurrency": 3' in data
    assert 'v_gate -.->|"when ← gate"| v_target' in flowdsl.Flow(graph).to_mermaid()
