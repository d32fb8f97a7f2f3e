"""When a function's code fingerprint can be reused without taking it again.

``fingerprint_code`` hashes a function's code with the closure cells,
defaults and globals it reads (and, recursively, the functions among them).
A cache hit needs that fingerprint on every run, and taking it costs more than
the hit itself. ``code_stamp`` lists, as objects, everything that fingerprint
reads: if every one of them is the very same object at the next run, and each
is something that cannot change in place, the fingerprint cannot have changed
either.

Things that cannot change in place here: immutable values (``None``,
``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``, and tuples and
frozensets of them), plain functions (stamped recursively, as the fingerprint
follows them), builtin functions, classes and modules (which the fingerprint
covers by name only). A function that reads anything else (a list, a dict, an
object of a user's class, a bound method, a partial) gets no stamp: its
fingerprint is taken again on every run, since the value may have been
mutated in place.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from types import BuiltinFunctionType, FunctionType, ModuleType
from typing import Any

from .fingerprint import global_names, is_library_file

__all__ = ["Stamp", "code_stamp", "same_stamp"]

Stamp = tuple[object, ...]

#: Exact types whose values never change in place (containers: if their items do not).
_IMMUTABLE = frozenset({type(None), bool, int, float, complex, str, bytes})
_CONTAINERS = frozenset({tuple, frozenset})
_MISSING = object()
_END = object()


class _Changeable(Exception):
    """Something the fingerprint reads could change without changing identity."""


def code_stamp(fn: Callable[..., Any]) -> Stamp | None:
    """The objects ``fingerprint_code(fn)`` reads, or ``None`` if one could change in place.

    Examples:
        >>> def double(x: int) -> int:
        ...     return 2 * x
        >>> same_stamp(code_stamp(double), code_stamp(double))
        True
    """
    if not isinstance(fn, FunctionType):
        return None
    parts: list[object] = []
    try:
        _function(fn, fn, parts, set())
    except _Changeable:
        return None
    return tuple(parts)


def same_stamp(old: Stamp | None, new: Stamp | None) -> bool:
    """Whether two stamps hold the very same objects (``None`` is never the same)."""
    if old is None or new is None or len(old) != len(new):
        return False
    return all(a is b for a, b in zip(old, new, strict=True))


def _function(fn: FunctionType, root: FunctionType, parts: list[object], active: set[int]) -> None:
    parts.append(fn)
    if id(fn) in active:  # a recursive reference: the fingerprint marks it by name
        parts += (fn.__qualname__,)
        return
    code = fn.__code__
    module = fn.__module__
    if (
        fn is not root
        and is_library_file(code.co_filename)
        and _package(module) != _package(root.__module__)
    ):
        # Named, not followed, by the fingerprint.
        parts += (module, fn.__qualname__)
        return
    active.add(id(fn))
    parts += (code, module, fn.__qualname__, fn.__defaults__)
    for value in fn.__defaults__ or ():
        _reference(value, root, parts, active)
    keyword_defaults = fn.__kwdefaults__ or {}
    for name in sorted(keyword_defaults):
        parts.append(name)
        _reference(keyword_defaults[name], root, parts, active)
    parts.append(_END)  # the one part of varying length: end it
    for cell in fn.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:
            parts.append(_MISSING)
            continue
        _reference(contents, root, parts, active)
    namespace = fn.__globals__
    for name in global_names(code):
        value = namespace.get(name, _MISSING)
        if value is _MISSING:
            parts.append(hasattr(builtins, name))
        else:
            _reference(value, root, parts, active)
    active.discard(id(fn))


def _reference(value: Any, root: FunctionType, parts: list[object], active: set[int]) -> None:
    cls = type(value)
    if cls is FunctionType:
        _function(value, root, parts, active)
    elif cls in _IMMUTABLE or cls is BuiltinFunctionType or cls is object:
        parts.append(value)
    elif cls in _CONTAINERS:
        parts.append(value)
        for item in value:
            _reference(item, root, parts, active)
    elif isinstance(value, type):
        parts += (value, value.__module__, value.__qualname__)
    elif cls is ModuleType:
        parts += (value, value.__name__)
    else:
        raise _Changeable


def _package(module: str | None) -> str:
    return str(module or "").partition(".")[0]
