"""The compiler reads parameters and plain annotations without ``inspect``/``typing``'s cost,
and gets exactly what they give."""

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any

import pytest

from flowdsl._compiler.bindings import _parameters, _plain_hints


def _every_kind(a, /, b, c=3, *rest, d, e=5, **more):  # type: ignore[no-untyped-def]
    return a


def _defaults_only(a=1, b=None):  # type: ignore[no-untyped-def]
    return a


def _keyword_only(*, x, y=2):  # type: ignore[no-untyped-def]
    return x


def _no_parameters() -> int:
    return 1


def _wrapped(x: int) -> int:
    return x


@functools.wraps(_wrapped)
def _wrapper(*args: Any, **kwargs: Any) -> int:
    return _wrapped(*args, **kwargs)


def _with_signature(a: int) -> int:
    return a


_with_signature.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("renamed", inspect.Parameter.KEYWORD_ONLY)]
)


@pytest.mark.parametrize(
    "function",
    [_every_kind, _defaults_only, _keyword_only, _no_parameters, _wrapper, _with_signature],
)
def test_parameters_match_inspect_signature(function: Callable[..., Any]) -> None:
    expected = [
        (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
    ]
    assert [tuple(p) for p in _parameters(function)] == expected


def _plain(a: int, b: str, c: float = 1.0) -> list:  # type: ignore[type-arg]
    return [a, b, c]


def _string(a: "int") -> int:
    return a


def _generic(a: list[int]) -> int:
    return 0


def _annotated(a: Annotated[int, "m"]) -> int:
    return a


def test_plain_annotations_are_the_hints_as_given() -> None:
    hints = _plain_hints(_plain, _parameters(_plain))
    assert hints == typing.get_type_hints(_plain, include_extras=True)


@pytest.mark.parametrize("function", [_generic, _annotated, _string])
def test_other_annotations_go_through_typing(function: Callable[..., Any]) -> None:
    # Strings, generics and Annotated may need evaluating: typing does that.
    assert _plain_hints(function, _parameters(function)) is None
