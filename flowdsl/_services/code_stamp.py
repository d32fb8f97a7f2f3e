"""When a function's code fingerprint can be reused without taking it again.

``fingerprint_code`` hashes a function's code with the closure cells,
defaults and globals it reads (and, recursively, the functions among them).
A cache hit needs that fingerprint on every run, and taking it costs more than
the hit itself. ``code_stamp`` notes every place that fingerprint reads from
(an attribute of a function, class or module, a closure cell, a key of a
namespace) with the object found there. If every place still holds the very
same object, and each of those objects is something that cannot change in
place, the fingerprint cannot have changed either: ``Stamp.holds`` looks, in
a few passes of C code, without walking the functions again.

Things that cannot change in place here: immutable values (``None``,
``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``, and tuples and
frozensets of them), plain functions (stamped recursively, as the fingerprint
follows them), builtin functions of a module, classes and modules (which the
fingerprint covers by name only). A function that reads anything else (a
list, a dict, an object of a user's class, a bound method, a partial) gets no
stamp: its fingerprint is taken again on every run, since the value may have
been mutated in place.
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable, Iterable
from itertools import repeat
from types import BuiltinFunctionType, FunctionType, ModuleType
from typing import Any

from .fingerprint import global_names, is_library_file

__all__ = ["Stamp", "code_stamp"]

#: Exact types whose values never change in place (containers: if their items do not).
_IMMUTABLE = frozenset({type(None), bool, int, float, complex, str, bytes})
_CONTAINERS = frozenset({tuple, frozenset})
_MISSING = object()
_BUILTINS = vars(builtins)


class _Changeable(Exception):
    """Something the fingerprint reads could change without changing identity."""


class Stamp:
    """The places a code fingerprint read from, each with the object found there.

    Three kinds of places: an attribute of an object (``owners``, ``names``),
    a key of a dict (``namespaces``, ``keys``: globals, builtins, keyword
    defaults; ``_MISSING`` for an absent key) and the size of a dict
    (``sized``: keyword defaults, whose keys the fingerprint lists). The
    stamp keeps every object it found alive, so that none of their
    identities can be taken by another object.
    """

    __slots__ = (
        "found",
        "in_namespaces",
        "keys",
        "names",
        "namespaces",
        "owners",
        "sized",
        "sizes",
    )

    def __init__(self) -> None:
        self.owners: list[object] = []
        self.names: list[str] = []
        self.found: list[object] = []
        self.namespaces: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.in_namespaces: list[object] = []
        self.sized: list[dict[str, Any]] = []
        self.sizes: list[int] = []

    def holds(self) -> bool:
        """Whether every place still holds the very object it held (the fingerprint then
        reads what it read before)."""
        is_ = operator.is_
        try:
            return (
                all(map(is_, map(getattr, self.owners, self.names), self.found))
                and all(
                    map(
                        is_,
                        map(dict.get, self.namespaces, self.keys, repeat(_MISSING)),
                        self.in_namespaces,
                    )
                )
                and list(map(len, self.sized)) == self.sizes
            )
        except (AttributeError, ValueError):  # an attribute deleted, a cell emptied
            return False

    def attribute(self, owner: object, name: str) -> Any:
        """Read ``owner.name``, noting it."""
        value = getattr(owner, name)
        self.owners.append(owner)
        self.names.append(name)
        self.found.append(value)
        return value

    def item(self, namespace: dict[str, Any], key: str) -> Any:
        """Read ``namespace[key]`` (``_MISSING`` if absent), noting it."""
        value = namespace.get(key, _MISSING)
        self.namespaces.append(namespace)
        self.keys.append(key)
        self.in_namespaces.append(value)
        return value

    def size(self, namespace: dict[str, Any]) -> int:
        """Read ``len(namespace)``, noting it."""
        self.sized.append(namespace)
        self.sizes.append(len(namespace))
        return len(namespace)


def joined(stamps: Iterable[Stamp]) -> Stamp:
    """One stamp that holds when all of ``stamps`` hold, each place read once.

    Examples:
        >>> def double(x: int) -> int:
        ...     return 2 * x
        >>> joined([code_stamp(double), code_stamp(double)]).holds()
        True
    """
    whole = Stamp()
    seen: set[tuple[int, int, str]] = set()
    for stamp in stamps:
        # The owners are kept alive by the stamps, so their ids are theirs.
        for owner, name, value in zip(stamp.owners, stamp.names, stamp.found, strict=True):
            if (0, id(owner), name) not in seen:
                seen.add((0, id(owner), name))
                whole.owners.append(owner)
                whole.names.append(name)
                whole.found.append(value)
        for namespace, key, value in zip(
            stamp.namespaces, stamp.keys, stamp.in_namespaces, strict=True
        ):
            if (1, id(namespace), key) not in seen:
                seen.add((1, id(namespace), key))
                whole.namespaces.append(namespace)
                whole.keys.append(key)
                whole.in_namespaces.append(value)
        whole.sized += stamp.sized
        whole.sizes += stamp.sizes
    return whole


def code_stamp(fn: Callable[..., Any]) -> Stamp | None:
    """Where ``fingerprint_code(fn)`` reads from, or ``None`` if a value could change in place.

    Examples:
        >>> def double(x: int) -> int:
        ...     return 2 * x
        >>> code_stamp(double).holds()
        True
    """
    if not isinstance(fn, FunctionType):
        return None
    stamp = Stamp()
    try:
        _function(fn, None, stamp, set())
    except _Changeable:
        return None
    return stamp


def _function(fn: FunctionType, root: str | None, stamp: Stamp, active: set[int]) -> None:
    # ``root``: the package of the function stamped (None while stamping it).
    if id(fn) in active:  # a recursive reference: the fingerprint marks it by name
        stamp.attribute(fn, "__qualname__")
        return
    code = stamp.attribute(fn, "__code__")
    package = _package(stamp.attribute(fn, "__module__"))
    stamp.attribute(fn, "__qualname__")
    if root is None:
        root = package
    elif is_library_file(code.co_filename) and package != root:
        return  # named, not followed, by the fingerprint
    active.add(id(fn))
    for value in stamp.attribute(fn, "__defaults__") or ():
        _reference(value, root, stamp, active)
    keyword_defaults = stamp.attribute(fn, "__kwdefaults__")
    if keyword_defaults is not None:
        stamp.size(keyword_defaults)
        for name in keyword_defaults:
            _reference(stamp.item(keyword_defaults, name), root, stamp, active)
    # ``__closure__`` and ``__globals__`` cannot be rebound; the cells' contents can.
    for cell in fn.__closure__ or ():
        try:
            contents = stamp.attribute(cell, "cell_contents")
        except ValueError:  # an empty cell, which a later run may find filled
            raise _Changeable from None
        _reference(contents, root, stamp, active)
    namespace = fn.__globals__
    for name in global_names(code):
        value = stamp.item(namespace, name)
        if value is _MISSING:
            # The fingerprint notes whether a builtin of that name exists.
            stamp.item(_BUILTINS, name)
        else:
            _reference(value, root, stamp, active)
    active.discard(id(fn))


def _reference(value: Any, root: str, stamp: Stamp, active: set[int]) -> None:
    cls = type(value)
    if cls is FunctionType:
        _function(value, root, stamp, active)
    elif cls in _IMMUTABLE or cls is object:
        pass  # the value itself is what the place holding it was checked for
    elif cls is BuiltinFunctionType and (
        value.__self__ is None or type(value.__self__) is ModuleType
    ):
        stamp.attribute(value, "__module__")
    elif cls in _CONTAINERS:
        for item in value:
            _reference(item, root, stamp, active)
    elif isinstance(value, type):
        stamp.attribute(value, "__module__")
        stamp.attribute(value, "__qualname__")
    elif cls is ModuleType:
        stamp.attribute(value, "__name__")
    else:
        raise _Changeable


def _package(module: str | None) -> str:
    return str(module or "").partition(".")[0]
