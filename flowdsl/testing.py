"""Helpers for testing flows and vertices: call one vertex under its contracts, check what ran.

Examples:
    >>> import flowdsl
    >>> from flowdsl import vertex
    >>> from flowdsl.testing import assert_ran, call_vertex
    >>> @vertex
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> @vertex
    ... def inc(double: int) -> int:
    ...     return double + 1
    >>> call_vertex(inc, double=4)
    5
    >>> result = flowdsl.Flow.from_functions(double, inc).run({"x": 1}, overrides={"double": 10})
    >>> assert_ran(result, "inc")
    >>> result["inc"], str(result.states["double"])
    (11, 'overridden')
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import attrs

from ._dsl import attach_spec, spec_of
from ._flow import Flow
from ._markers import From, Input
from ._result import RunResult, VertexState
from ._typing import annotated_parts
from .errors import InvalidVertexError, VertexFailed

__all__ = ["assert_not_ran", "assert_ran", "call_vertex", "ran"]


def _alone(function: Callable[..., Any], given: Iterable[str]) -> tuple[Callable[..., Any], str]:
    # A copy of the vertex that reads every parameter as an input: without its
    # condition, its after= edges, its config and its From(...) and Input(...)
    # references, which name other vertices (or inputs) that are not there
    # when the vertex is compiled on its own. Of its bind=, only the constants
    # stay, those the caller does not give. Returns the copy and its name.
    spec = spec_of(function)
    if spec is None:
        raise InvalidVertexError(f"call_vertex takes a vertex; got {function!r}")
    original = spec.function
    if not isinstance(original, types.FunctionType):
        raise InvalidVertexError(f"call_vertex takes a vertex of a function; got {function!r}")
    hints = typing.get_type_hints(
        original, localns=dict(spec.local_names or {}), include_extras=True
    )
    copy = types.FunctionType(
        original.__code__,
        original.__globals__,
        original.__name__,
        original.__defaults__,
        original.__closure__,
    )
    copy.__kwdefaults__ = original.__kwdefaults__
    copy.__annotations__ = {name: _without_references(hint) for name, hint in hints.items()}
    copy.__qualname__ = original.__qualname__
    copy.__module__ = original.__module__
    given = set(given)
    constants = tuple(
        (parameter, value)
        for parameter, value in spec.options.bind
        if not isinstance(value, (From, Input)) and parameter not in given
    )
    options = attrs.evolve(spec.options, when=None, after=(), config=(), bind=constants)
    attach_spec(copy, attrs.evolve(spec, function=copy, options=options))
    return copy, spec.name


def _without_references(annotation: Any) -> Any:
    base, metadata = annotated_parts(annotation)
    kept = tuple(m for m in metadata if not isinstance(m, (From, Input)))
    if not kept:
        return base
    annotated: Any = Annotated
    arguments = (base, *kept)
    return annotated[arguments]


def call_vertex(
    function: Callable[..., Any], /, *, contracts: str = "strict", **arguments: Any
) -> Any:
    """Call one vertex with the given arguments, as a run would: contracts checked,
    retries, fallbacks, ``map_over`` and loops applied; return its output.

    Each parameter is given by name, whatever it is bound to in a flow. A
    vertex made by ``vertex(fn, bind=...)`` or ``vertex.expand`` takes its
    ``bind=`` constants (a partial's arguments among them) unless an argument
    gives that parameter. What the function raises is raised as it is (not
    wrapped in ``VertexFailed``).

    Examples:
        >>> from flowdsl import vertex
        >>> from flowdsl.testing import call_vertex
        >>> @vertex(map_over="items")
        ... def square(items: int) -> int:
        ...     return items * items
        >>> call_vertex(square, items=[1, 2, 3])
        [1, 4, 9]
        >>> def scale(value: float, factor: float) -> float:
        ...     return value * factor
        >>> double = vertex(scale, name="double", bind={"factor": 2.0})
        >>> call_vertex(double, value=4.0), call_vertex(double, value=4.0, factor=3.0)
        (8.0, 12.0)

    Raises:
        InvalidVertexError: ``function`` is not a vertex.
        ContractViolation: an argument or the result breaks its annotation.
        MissingInputError: a parameter without a default was not given.
        UnknownInputError: an argument names no parameter.
    """
    alone, name = _alone(function, arguments)
    flow = Flow.from_functions(alone)
    try:
        result = flow.run(arguments, contracts=contracts)
    except VertexFailed as failure:
        if failure.__cause__ is not None and type(failure) is VertexFailed:
            raise failure.__cause__ from None
        raise
    return result[name]


def ran(result: RunResult) -> frozenset[str]:
    """The vertices a run called (completed or failed), not those skipped, overridden or pending.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> from flowdsl.testing import ran
        >>> @vertex
        ... def one() -> int:
        ...     return 1
        >>> sorted(ran(flowdsl.Flow.from_functions(one).run()))
        ['one']
    """
    called = (VertexState.COMPLETED, VertexState.FAILED)
    return frozenset(name for name, state in result.states.items() if state in called)


def assert_ran(result: RunResult, *vertices: str) -> None:
    """Fail unless every one of ``vertices`` was called in the run.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> from flowdsl.testing import assert_ran
        >>> @vertex
        ... def one() -> int:
        ...     return 1
        >>> assert_ran(flowdsl.Flow.from_functions(one).run(), "one")
    """
    _check(result, vertices, expected=True)


def assert_not_ran(result: RunResult, *vertices: str) -> None:
    """Fail unless none of ``vertices`` was called in the run (skipped, overridden, pruned).

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> from flowdsl.testing import assert_not_ran
        >>> @vertex
        ... def one() -> int:
        ...     return 1
        >>> @vertex
        ... def two(one: int) -> int:
        ...     return one + 1
        >>> flow = flowdsl.Flow.from_functions(one, two)
        >>> assert_not_ran(flow.run(overrides={"one": 5}), "one")
    """
    _check(result, vertices, expected=False)


def _check(result: RunResult, vertices: Iterable[str], *, expected: bool) -> None:
    called = ran(result)
    wrong = [name for name in vertices if (name in called) != expected]
    if not wrong:
        return
    states = result.states
    shown = ", ".join(f"{name} ({states.get(name, 'not planned')})" for name in wrong)
    raise AssertionError(f"expected {'to run' if expected else 'not to run'}: {shown}")
