"""Checker objects behind compiled contracts: one small class per kind of annotation.

Every checker answers two questions. ``ok(value)`` is the hot path: a bare
boolean, as cheap as the kind allows, asked of every value. ``find(value,
path)`` is asked only once a contract has failed: it walks the value and
returns the ``Violation`` naming the innermost place that is wrong (``None``
for the parts that are fine). Keeping the two apart means the common, passing
case never builds a path string or a message.

Checkers whose verdict depends only on ``type(value)`` (plain classes and unions
of them) derive from ``TypeSetChecker``, which checks a whole collection of
elements at once from the list of the elements' types.
"""

from __future__ import annotations

import abc
import reprlib
import threading
import typing
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import attrs

from flowdsl._services._arraylike import first_false, holds, missing, summary
from flowdsl._typing import type_name

__all__ = [
    "AllOfChecker",
    "CallableChecker",
    "Checker",
    "ClassChecker",
    "CollectionChecker",
    "Constraint",
    "ConstrainedChecker",
    "FieldSpec",
    "InstanceChecker",
    "LiteralChecker",
    "MappingChecker",
    "NeverChecker",
    "StructChecker",
    "SubclassChecker",
    "TupleChecker",
    "TypeSetChecker",
    "TypeUnionChecker",
    "UnionChecker",
    "Violation",
    "describe",
    "evaluate",
    "short_repr",
]

_MAX_ACTUAL = 80
_REPR = reprlib.Repr()
# Structural limits first, so the repr of a huge container is cheap to build.
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = 6
_REPR.maxdict = 4
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlong = 40

_MISSING: Any = object()
# Below this many elements a collection is checked with ``set.issuperset``,
# above it with ``list.count`` (measured crossover, CPython 3.11).
_SMALL = 16


@attrs.frozen
class Violation:
    """Where a value breaks its contract, what was expected there, and what came.

    ``path`` starts at the root name (``"user_id"``, ``"return['items'][3].price"``),
    ``expected`` is a type or a constraint (``"int"``, ``"> 0"``), ``actual`` is a
    short repr of the offending value plus its type (``"'7' (str)"``).
    """

    path: str
    expected: str
    actual: str


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ACTUAL else text[: _MAX_ACTUAL - 3] + "..."


def short_repr(value: Any) -> str:
    """A repr of ``value`` cut to about 80 characters, one line; never raises.

    Arrays and frames are summed up (``DataFrame(3 rows x 2 columns: a, b)``):
    their own repr spans many lines.
    """
    try:
        return _clip(summary(value) or _REPR.repr(value))
    except Exception:
        return f"<{type(value).__name__} object>"


def describe(value: Any) -> str:
    """The ``actual`` text of a violation: short repr plus type, ``'7' (str)``."""
    return f"{short_repr(value)} ({type_name(type(value))})"


class Checker(abc.ABC):
    """Checks values against one compiled annotation."""

    __slots__ = ("expected",)

    def __init__(self, expected: str) -> None:
        self.expected = expected

    @abc.abstractmethod
    def ok(self, value: Any) -> bool:
        """Whether ``value`` satisfies the annotation; the hot path."""

    def find(self, value: Any, path: str) -> Violation | None:
        """The violation inside ``value`` (located from ``path``), or ``None`` if it is fine."""
        return None if self.ok(value) else self.violation(value, path)

    def all_ok(self, values: Collection[Any]) -> bool:
        """Whether every element of the collection ``values`` is fine."""
        return all(map(self.ok, values))

    def find_among(
        self, items: Sequence[Any], where: Callable[[int], str]
    ) -> tuple[int, Violation] | None:
        """The first violation among ``items`` and its index; ``where(i)`` is item ``i``'s path.

        Each item is asked ``find`` directly, never ``ok`` then ``find``: asking
        both would walk every subtree on the way down once per level, which is
        quadratic on a long chain of nested values.
        """
        for index, item in enumerate(items):
            found = self.find(item, where(index))
            if found is not None:
                return index, found
        return None

    def shape_ok(self, value: Any) -> bool:
        """Whether ``value`` has the right outer shape, ignoring what it contains.

        A union uses it to pick the one member worth descending into for a
        precise path.
        """
        return self.ok(value)

    def violation(self, value: Any, path: str) -> Violation:
        """A violation of this whole checker by ``value`` at ``path``."""
        return Violation(path, self.expected, describe(value))


class TypeSetChecker(Checker):
    """A checker whose verdict on a value follows from the value's type alone.

    ``known`` holds types already proven acceptable; it only ever grows, so a
    concurrent reader sees a subset of the truth, which is still correct.
    """

    __slots__ = ("known",)

    def __init__(self, expected: str, known: Iterable[type]) -> None:
        super().__init__(expected)
        self.known: set[type] = set(known)

    @abc.abstractmethod
    def type_ok(self, tp: type) -> bool:
        """Whether every value whose ``type()`` is ``tp`` is acceptable."""

    def _learn(self, tp: type) -> bool:
        if self.type_ok(tp):
            self.known.add(tp)
            return True
        return False

    def all_ok(self, values: Collection[Any]) -> bool:
        """Check all elements from their types, in C loops (see the module docstring)."""
        known = self.known
        if len(values) <= _SMALL:
            # One C call, no intermediate list: the cheapest for short collections.
            if known.issuperset(map(type, values)):
                return True
            types = [*map(type, values)]
        else:
            types = [*map(type, values)]
            first = types[0]
            # ``list.count`` of an identical object is an identity test per
            # element: a long homogeneous collection is confirmed at memory speed.
            if types.count(first) == len(types) and (first in known or self._learn(first)):
                return True
        items = values if isinstance(values, Sequence) else list(values)
        return self._first_bad(items, types) is None

    def find_among(
        self, items: Sequence[Any], where: Callable[[int], str]
    ) -> tuple[int, Violation] | None:
        """Locate the first bad element from the elements' types (leaves: no subtree to walk)."""
        index = self._first_bad(items, [*map(type, items)])
        if index is None:
            return None
        found = self.find(items[index], where(index))
        return None if found is None else (index, found)

    def _first_bad(self, items: Sequence[Any], types: list[type]) -> int | None:
        known = self.known
        suspects = [tp for tp in set(types) if tp not in known and not self._learn(tp)]
        first: int | None = None
        # Only elements of a suspect type are asked one by one, found with the
        # C-speed ``list.index``. They are still asked, not condemned: an object
        # may claim another class through ``__class__``, which isinstance honours.
        for suspect in suspects:
            start = 0
            stop = len(types) if first is None else first
            while (index := _index(types, suspect, start, stop)) is not None:
                if not self.ok(items[index]):
                    first = index
                    break
                start = index + 1
        return first


def _index(types: list[type], tp: type, start: int, stop: int) -> int | None:
    try:
        return types.index(tp, start, stop)
    except ValueError:
        return None


class ClassChecker(TypeSetChecker):
    """``isinstance`` against a plain class, with PEP 484's numeric rules.

    ``bool`` is refused where ``int``/``float``/``complex`` is asked, although it
    is a subclass of ``int``; ``int`` is accepted for ``float`` and ``int``/``float``
    for ``complex``.
    """

    __slots__ = ("_accepted", "_refuse_bool", "exact")

    def __init__(self, cls: type, expected: str | None = None) -> None:
        numeric_tower: dict[type, tuple[type, ...]] = {
            int: (int,),
            float: (float, int),
            complex: (complex, float, int),
        }
        accepted = numeric_tower.get(cls, (cls,))
        super().__init__(expected or type_name(cls), accepted)
        self.exact = cls
        self._accepted = accepted
        self._refuse_bool = cls in numeric_tower

    def ok(self, value: Any) -> bool:
        """Exact type first (the common case), then ``isinstance``."""
        if type(value) is self.exact:
            return True
        return isinstance(value, self._accepted) and not (
            self._refuse_bool and isinstance(value, bool)
        )

    def type_ok(self, tp: type) -> bool:
        """Whether ``tp`` is a subclass of the class (``bool`` excepted for numbers)."""
        return issubclass(tp, self._accepted) and not (self._refuse_bool and issubclass(tp, bool))


class TypeUnionChecker(TypeSetChecker):
    """A union whose members all judge by type: ``int | str | None``."""

    __slots__ = ("members",)

    def __init__(self, expected: str, members: Sequence[TypeSetChecker]) -> None:
        super().__init__(expected, set().union(*(m.known for m in members)))
        self.members = tuple(members)

    def ok(self, value: Any) -> bool:
        """Known types first, then each member in turn."""
        if type(value) in self.known:
            return True
        return any(member.ok(value) for member in self.members)

    def type_ok(self, tp: type) -> bool:
        """Whether some member accepts ``tp``."""
        return any(member.type_ok(tp) for member in self.members)


class InstanceChecker(Checker):
    """``isinstance`` when the class may look at more than the type (runtime protocols)."""

    __slots__ = ("cls",)

    def __init__(self, cls: type, expected: str | None = None) -> None:
        super().__init__(expected or type_name(cls))
        self.cls = cls

    def ok(self, value: Any) -> bool:
        """``isinstance(value, cls)``."""
        return isinstance(value, self.cls)


class CallableChecker(Checker):
    """``Callable[...]``: only callability is checkable without calling."""

    __slots__ = ()

    def ok(self, value: Any) -> bool:
        """``callable(value)``."""
        return callable(value)


class NeverChecker(Checker):
    """``NoReturn``/``Never``: no value is acceptable."""

    __slots__ = ()

    def ok(self, value: Any) -> bool:
        """Always false."""
        return False


class SubclassChecker(Checker):
    """``type[X]``: the value is a class and a subclass of ``X``."""

    __slots__ = ("bases",)

    def __init__(self, expected: str, bases: tuple[type, ...]) -> None:
        super().__init__(expected)
        self.bases = bases

    def ok(self, value: Any) -> bool:
        """``isinstance(value, type) and issubclass(value, bases)``."""
        return isinstance(value, type) and issubclass(value, self.bases)


class LiteralChecker(Checker):
    """``Literal[...]``: equal to one of the values and of its type (``True`` is not ``1``)."""

    __slots__ = ("_by_type",)

    def __init__(self, expected: str, values: Iterable[Any]) -> None:
        super().__init__(expected)
        by_type: dict[type, list[Any]] = {}
        for literal in values:
            by_type.setdefault(type(literal), []).append(literal)
        self._by_type = {tp: tuple(group) for tp, group in by_type.items()}

    def ok(self, value: Any) -> bool:
        """Look up the literals of ``type(value)``, then compare."""
        candidates = self._by_type.get(type(value))
        return candidates is not None and value in candidates


class UnionChecker(Checker):
    """A union with at least one member that looks inside values."""

    __slots__ = ("members",)

    def __init__(self, expected: str, members: Sequence[Checker]) -> None:
        super().__init__(expected)
        self.members = tuple(members)

    def ok(self, value: Any) -> bool:
        """Whether some member accepts the value."""
        # A loop, not any(): no generator to build on the hot path.
        for member in self.members:  # noqa: SIM110
            if member.ok(value):
                return True
        return False

    def find(self, value: Any, path: str) -> Violation | None:
        """Descend into the only member of the right shape, else blame the union.

        A member of the wrong shape cannot accept the value, so with a single
        shaped member its verdict is the union's.
        """
        shaped = [member for member in self.members if member.shape_ok(value)]
        if len(shaped) == 1:
            return shaped[0].find(value, path)
        if any(member.ok(value) for member in shaped):
            return None
        return self.violation(value, path)

    def shape_ok(self, value: Any) -> bool:
        """Whether some member has the value's shape."""
        return any(member.shape_ok(value) for member in self.members)


class CollectionChecker(Checker):
    """``list[T]``, ``set[T]``, ``tuple[T, ...]``, ``Sequence[T]``, ``Iterable[T]``...

    With ``reiterable_only`` (abstract ``Iterable``-like origins), elements are
    checked only when the value is a collection that can be iterated again, so
    an iterator or generator handed in is never consumed.
    """

    __slots__ = ("cls", "element", "reiterable_only")

    def __init__(
        self, expected: str, cls: type[Iterable[Any]], element: Checker, reiterable_only: bool
    ) -> None:
        super().__init__(expected)
        # Typed as a collection class although, with ``reiterable_only``, it may
        # be a bare ``Iterable``: then ok() and find() test for a collection
        # before touching elements, and the hot path needs no cast.
        self.cls = typing.cast("type[Collection[Any]]", cls)
        self.element = element
        self.reiterable_only = reiterable_only

    def _elements_checkable(self, value: Any) -> bool:
        return not self.reiterable_only or (
            isinstance(value, Collection) and not isinstance(value, Iterator)
        )

    def ok(self, value: Any) -> bool:
        """The outer ``isinstance``, then all elements in bulk."""
        if not isinstance(value, self.cls):
            return False
        if self.reiterable_only and not self._elements_checkable(value):
            return True
        return self.element.all_ok(value)

    def find(self, value: Any, path: str) -> Violation | None:
        """The first bad element, addressed by index (``x[2]``) or, unordered, by repr."""
        if not isinstance(value, self.cls):
            return self.violation(value, path)
        if not self._elements_checkable(value):
            return None
        if isinstance(value, Sequence):
            found = self.element.find_among(value, lambda index: f"{path}[{index}]")
        else:
            items = list(value)
            found = self.element.find_among(
                items, lambda index: f"{path}{{{short_repr(items[index])}}}"
            )
        return None if found is None else found[1]

    def shape_ok(self, value: Any) -> bool:
        """``isinstance`` of the collection class."""
        return isinstance(value, self.cls)


class MappingChecker(Checker):
    """``dict[K, V]``, ``Mapping[K, V]``...: keys and values checked in bulk.

    Either side may be ``None`` (annotated ``Any``), then it is not looked at.
    """

    __slots__ = ("cls", "key", "value")

    def __init__(
        self,
        expected: str,
        cls: type[Mapping[Any, Any]],
        key: Checker | None,
        value: Checker | None,
    ) -> None:
        super().__init__(expected)
        self.cls = cls
        self.key = key
        self.value = value

    def ok(self, value: Any) -> bool:
        """The outer ``isinstance``, then all keys, then all values."""
        if not isinstance(value, self.cls):
            return False
        if self.key is not None and not self.key.all_ok(value):
            return False
        return self.value is None or self.value.all_ok(value.values())

    def find(self, value: Any, path: str) -> Violation | None:
        """The first bad entry at ``x['key']``; a bad key says so in ``expected``."""
        if not isinstance(value, self.cls):
            return self.violation(value, path)
        keys = list(value)

        def where(index: int) -> str:
            return f"{path}[{short_repr(keys[index])}]"

        bad_key = None if self.key is None else self.key.find_among(keys, where)
        bad_item = (
            None if self.value is None else self.value.find_among(list(value.values()), where)
        )
        if bad_key is not None and (bad_item is None or bad_key[0] <= bad_item[0]):
            found = bad_key[1]
            return attrs.evolve(found, expected=f"{found.expected} (as a key)")
        return None if bad_item is None else bad_item[1]

    def shape_ok(self, value: Any) -> bool:
        """``isinstance`` of the mapping class."""
        return isinstance(value, self.cls)


class TupleChecker(Checker):
    """``tuple[A, B]``: exact length, each position against its own checker."""

    __slots__ = ("length", "positions")

    def __init__(
        self, expected: str, length: int, positions: Sequence[tuple[int, Checker]]
    ) -> None:
        super().__init__(expected)
        self.length = length
        # Only the positions that check something (``Any`` positions are left out).
        self.positions = tuple(positions)

    def ok(self, value: Any) -> bool:
        """Length, then each checked position."""
        if not self.shape_ok(value):
            return False
        return all(checker.ok(value[index]) for index, checker in self.positions)

    def find(self, value: Any, path: str) -> Violation | None:
        """A wrong length blames the tuple; else the first bad position, ``x[1]``."""
        if not self.shape_ok(value):
            return Violation(path, f"{self.expected} (length {self.length})", describe(value))
        for index, checker in self.positions:
            found = checker.find(value[index], f"{path}[{index}]")
            if found is not None:
                return found
        return None

    def shape_ok(self, value: Any) -> bool:
        """A tuple of the right length."""
        return isinstance(value, tuple) and len(value) == self.length


class FieldSpec(NamedTuple):
    """One checked field of a structured type."""

    name: str
    by_attr: bool
    required: bool
    checker: Checker | None
    expected: str


_LOCAL = threading.local()


def _visiting() -> set[tuple[int, int]]:
    ids: set[tuple[int, int]] | None = getattr(_LOCAL, "ids", None)
    if ids is None:
        ids = _LOCAL.ids = set()
    return ids


class StructChecker(Checker):
    """TypedDict, attrs class, dataclass, NamedTuple: ``isinstance``, then each field.

    Built empty and filled by the compiler, so a type can refer to itself. A
    ``recursive`` one guards against cyclic values: an object already being
    checked further up (on this thread) is taken as fine where it reappears.
    """

    __slots__ = ("cls", "fields", "recursive")

    def __init__(self, expected: str, cls: type) -> None:
        super().__init__(expected)
        self.cls = cls
        self.fields: tuple[FieldSpec, ...] = ()
        self.recursive = False

    def _fields_ok(self, value: Any) -> bool:
        for name, by_attr, required, checker, _ in self.fields:
            item = getattr(value, name, _MISSING) if by_attr else value.get(name, _MISSING)
            if item is _MISSING:
                if required:
                    return False
            elif checker is not None and not checker.ok(item):
                return False
        return True

    def _first_bad_field(self, value: Any, path: str) -> Violation | None:
        for name, by_attr, required, checker, expected in self.fields:
            where = f"{path}.{name}" if by_attr else f"{path}[{name!r}]"
            item = getattr(value, name, _MISSING) if by_attr else value.get(name, _MISSING)
            if item is _MISSING:
                if required:
                    return Violation(where, expected, "missing")
            elif checker is not None:
                found = checker.find(item, where)
                if found is not None:
                    return found
        return None

    # The cycle guard is written out in ok() and find() rather than shared
    # through a helper: each extra frame per nesting level lowers the depth of
    # value that fits in Python's recursion limit.

    def ok(self, value: Any) -> bool:
        """``isinstance``, then every field."""
        if not isinstance(value, self.cls):
            return False
        if not self.recursive:
            return self._fields_ok(value)
        key = (id(self), id(value))
        visiting = _visiting()
        if key in visiting:
            return True
        visiting.add(key)
        try:
            return self._fields_ok(value)
        finally:
            visiting.discard(key)

    def find(self, value: Any, path: str) -> Violation | None:
        """The wrong class blames the value; else the first bad field, ``x.f`` or ``x['k']``."""
        if not isinstance(value, self.cls):
            return self.violation(value, path)
        if not self.recursive:
            return self._first_bad_field(value, path)
        key = (id(self), id(value))
        visiting = _visiting()
        if key in visiting:
            return None
        visiting.add(key)
        try:
            return self._first_bad_field(value, path)
        finally:
            visiting.discard(key)

    def shape_ok(self, value: Any) -> bool:
        """``isinstance`` of the class."""
        return isinstance(value, self.cls)


class AllOfChecker(Checker):
    """``Annotated[pd.DataFrame, Columns(...)]``: the type's checker, then each schema's."""

    __slots__ = ("members",)

    def __init__(self, expected: str, members: Sequence[Checker]) -> None:
        super().__init__(expected)
        self.members = tuple(members)

    def ok(self, value: Any) -> bool:
        """Whether every member accepts the value."""
        return all(member.ok(value) for member in self.members)

    def find(self, value: Any, path: str) -> Violation | None:
        """The first member's violation."""
        for member in self.members:
            found = member.find(value, path)
            if found is not None:
                return found
        return None

    def shape_ok(self, value: Any) -> bool:
        """The first member's (the type's) shape."""
        return self.members[0].shape_ok(value)


class Constraint(NamedTuple):
    """One ``Annotated`` constraint: a test and how to say what it expects."""

    test: Callable[[Any], object]
    expected: str


def _passes(constraint: Constraint, value: Any) -> bool:
    try:
        return holds(constraint.test(value))
    except Exception:
        return False


def evaluate(
    test: Callable[[Any], object], value: Any, path: str, expected: str
) -> Violation | None:
    """Run one predicate on ``value``: ``None`` if it holds, else the violation.

    A predicate that raises has failed, and the violation says what it raised.
    One that answers with an array of booleans holds when all of them are true;
    its violation points at the first element that is not (``path['age'][7]``).
    """
    try:
        outcome = test(value)
        if holds(outcome):
            return None
    except Exception as exc:
        raised = f"{describe(value)}; the check raised {type(exc).__name__}: "
        return Violation(path, expected, raised + _clip(str(exc)))
    located = first_false(outcome, value, path)
    if located is None:
        return Violation(path, expected, describe(value))
    where, element = located
    return Violation(where, expected, "(no value there)" if missing(element) else describe(element))


class ConstrainedChecker(Checker):
    """``Annotated[T, Gt(0), Check(...)]``: ``T`` first, then each constraint in order.

    A constraint that raises counts as failed, and the violation says what it raised.
    """

    __slots__ = ("base", "constraints")

    def __init__(
        self, expected: str, base: Checker | None, constraints: Sequence[Constraint]
    ) -> None:
        super().__init__(expected)
        self.base = base
        self.constraints = tuple(constraints)

    def ok(self, value: Any) -> bool:
        """The base type, then every constraint."""
        if self.base is not None and not self.base.ok(value):
            return False
        return all(_passes(constraint, value) for constraint in self.constraints)

    def find(self, value: Any, path: str) -> Violation | None:
        """The base type's violation, else the first failed constraint's."""
        if self.base is not None:
            found = self.base.find(value, path)
            if found is not None:
                return found
        for constraint in self.constraints:
            found = evaluate(constraint.test, value, path, constraint.expected)
            if found is not None:
                return found
        return None

    def shape_ok(self, value: Any) -> bool:
        """The base type's shape; constraints are not shape."""
        return self.base is None or self.base.shape_ok(value)
