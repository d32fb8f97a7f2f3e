"""Is a produced type clearly unable to meet an expected one? Conservative on purpose.

Only clear mismatches are reported (``int`` into ``str``, ``list[int]`` into
``list[str]``); whatever cannot be decided statically (``Any``, type
variables, protocols, unresolvable generics) counts as compatible, and the
run-time contracts check the values.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from typing import Any

import typing_extensions

from .._typing import annotated_parts, is_typeddict

__all__ = ["clearly_incompatible"]

_UNION_TYPES: tuple[Any, ...] = (typing.Union, types.UnionType)
# PEP 484's numeric tower: an int is acceptable where a float is expected, and so on.
_PROMOTIONS: dict[type, tuple[type, ...]] = {float: (int,), complex: (int, float)}


def _alternatives(tp: Any) -> tuple[Any, ...]:
    tp, _ = annotated_parts(tp)
    if typing_extensions.get_origin(tp) in _UNION_TYPES:
        return tuple(a for arg in typing_extensions.get_args(tp) for a in _alternatives(arg))
    if typing_extensions.get_origin(tp) is typing_extensions.Literal:
        return tuple(type(v) for v in typing_extensions.get_args(tp))
    return (tp,)


def _undecidable(tp: Any) -> bool:
    return (
        tp is inspect.Parameter.empty
        or tp is Any
        or tp is object
        or isinstance(tp, (typing.TypeVar, str, typing.ForwardRef))
        or getattr(tp, "_is_protocol", False)
    )


def _runtime_class(tp: Any) -> Any:
    if tp is None:
        return type(None)
    supertype = getattr(tp, "__supertype__", None)  # NewType
    if supertype is not None:
        return _runtime_class(supertype)
    if is_typeddict(tp):
        return dict
    origin = typing_extensions.get_origin(tp)
    return origin if origin is not None else tp


def _compatible(produced: Any, expected: Any) -> bool:
    if _undecidable(produced) or _undecidable(expected):
        return True
    p_class, e_class = _runtime_class(produced), _runtime_class(expected)
    if not isinstance(p_class, type) or not isinstance(e_class, type):
        return True
    if getattr(e_class, "_is_protocol", False) or getattr(p_class, "_is_protocol", False):
        return True
    if issubclass(p_class, _PROMOTIONS.get(e_class, ())):
        return True
    if not (issubclass(p_class, e_class) or issubclass(e_class, p_class)):
        return False
    p_args, e_args = typing_extensions.get_args(produced), typing_extensions.get_args(expected)
    if (
        p_class is e_class
        and p_args
        and len(p_args) == len(e_args)
        and Ellipsis not in p_args + e_args
        and not issubclass(p_class, typing.Callable)  # type: ignore[arg-type]
    ):
        return all(not clearly_incompatible(p, e) for p, e in zip(p_args, e_args, strict=True))
    return True


def clearly_incompatible(produced: Any, expected: Any) -> bool:
    """True when no alternative of ``produced`` could be accepted by ``expected``."""
    if produced is expected:
        return False
    try:
        return _incompatible_pair(produced, expected)
    except TypeError:  # an unhashable annotation: decide without the memo
        return _incompatible(produced, expected)


def _incompatible(produced: Any, expected: Any) -> bool:
    expected_options = _alternatives(expected)
    return not any(_compatible(p, e) for p in _alternatives(produced) for e in expected_options)


# A graph repeats the same few annotation pairs thousands of times.
_incompatible_pair = functools.lru_cache(maxsize=4096)(_incompatible)
