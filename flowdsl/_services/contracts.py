"""Contract checking: compile an annotation once, check values against it on every call.

``compile_contract(annotation)`` turns a resolved annotation into a
``Contract``; the executor calls ``contract.check(value, root)`` on each
argument before a vertex runs and on its result after. Compiling does all the
introspection up front (``typing.get_origin``, field lists, ``Annotated``
metadata), so checking is a few attribute reads and ``isinstance`` tests:

* a plain class (``int``, ``str``, ``Path``) costs one ``type(v) is C`` test
  inside one method call, ``isinstance`` only for subclasses;
* a container of builtins (``list[int]``, ``dict[str, float]``) is checked from
  the list of its elements' types in C loops; once it is known to fail, the
  first bad index is found with ``list.index`` on that list, still in C;
* nested containers and structured types recurse through compiled checkers.

Measured on CPython 3.11.7, from the repository root (a shared machine, so
the timings wander by ~20%)::

    python -m timeit -s "from flowdsl._services.contracts import compile_contract as c" \\
        -s "k = c(int)" "k.check(5, 'x')"
    # 43-57 ns: the cost of calling any two-argument Python function that does
    # ``type(v) is int`` (42-62 ns); the bare test inline is 17 ns.

    python -m timeit -s "from flowdsl._services.contracts import compile_contract as c" \\
        -s "k = c(list[int]); v = list(range(10**6))" "k.check(v, 'x')"
    # 15.5 ms for a million ints, fully checked (``{*map(type, v)}`` alone: 21 ms);
    # 80 ms when the last element is a str and its index must be found.
"""

from __future__ import annotations

import abc
import functools
import inspect
import operator
import types
import typing
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import typing_extensions

from flowdsl._lazy import lazy_module
from flowdsl._markers import Check, From
from flowdsl._services._contract_checkers import (
    AllOfChecker,
    CallableChecker,
    Checker,
    ClassChecker,
    CollectionChecker,
    ConstrainedChecker,
    Constraint,
    FieldSpec,
    InstanceChecker,
    LiteralChecker,
    MappingChecker,
    NeverChecker,
    StructChecker,
    SubclassChecker,
    TupleChecker,
    TypeSetChecker,
    TypeUnionChecker,
    UnionChecker,
    Violation,
    describe,
    evaluate,
)
from flowdsl._typing import (
    StructuredField,
    annotated_parts,
    is_typeddict,
    structured_fields,
    type_name,
)

if TYPE_CHECKING:
    from flowdsl._services import _frame_schemas as frame_schemas
else:  # DataFrame schemas: imported when an annotation has metadata or is generic
    frame_schemas = lazy_module("flowdsl._services._frame_schemas")

__all__ = ["Contract", "Violation", "compile_contract", "describe"]


@attrs.frozen(eq=False)
class Contract:
    """A compiled annotation; ``check(value, root)`` tells whether a value satisfies it.

    ``unsupported`` names the parts of the annotation that cannot be checked at
    run time (they are let through); the caller warns about them once, at
    compile time. Build one with ``compile_contract``.
    """

    annotation: Any
    unsupported: tuple[str, ...]
    _checker: Checker | None = attrs.field(alias="checker", repr=False)
    #: The ``Check`` markers of the annotation itself (not of types inside it):
    #: run one by one, each outcome recorded, by ``checks`` below.
    checks: tuple[Check, ...] = attrs.field(default=(), kw_only=True)

    @property
    def exact_type(self) -> type | None:
        """A type whose instances (exactly that type) always pass, for a caller's fast path."""
        return None

    def check(self, value: Any, root: str) -> Violation | None:
        """``None`` when ``value`` is fine, else where and how it is wrong.

        ``root`` names the value in the violation's path: the parameter's name,
        or ``"return"``. A value nested too deeply to walk within Python's
        recursion limit (a linked list of some hundreds of nodes) is let
        through unchecked: the contract is a safety net and must not fail a
        run on a value it cannot judge. The annotation's own checks count
        when their importance is ``"fail"``; a run looks at the type with
        ``check_type`` and records each check with ``run_checks`` instead.
        """
        found = self.check_type(value, root)
        if found is not None or not self.checks:
            return found
        for check, violation in self.run_checks(value, root):
            if violation is not None and check.importance == "fail":
                return violation
        return None

    def check_type(self, value: Any, root: str) -> Violation | None:
        """Like ``check``, without the annotation's own checks."""
        checker = self._checker
        if checker is None:
            return None
        try:
            if checker.ok(value):
                return None
            return checker.find(value, root)
        except RecursionError:
            return None

    def run_checks(self, value: Any, root: str) -> list[tuple[Check, Violation | None]]:
        """Each of ``checks`` on ``value``: the check, and its violation (``None``: it held)."""
        return [
            (check, evaluate(check.predicate, value, root, check.message)) for check in self.checks
        ]


@attrs.frozen(eq=False)
class _ExactTypeContract(Contract):
    """A contract on a bare class: the exact-type test is done inline, before any call."""

    _exact: type = attrs.field(alias="exact", repr=False)
    _find: Callable[[Any, str], Violation | None] = attrs.field(alias="find", repr=False)

    @property
    def exact_type(self) -> type | None:
        """The annotated class itself."""
        return self._exact

    def check(self, value: Any, root: str) -> Violation | None:
        """``None`` when ``value`` is fine, else where and how it is wrong."""
        if type(value) is self._exact:
            return None
        return self._find(value, root)

    # It has no checks of its own: the type is all there is.
    check_type = check


@attrs.frozen(eq=False)
class _KnownTypesContract(Contract):
    """A contract on a union of classes: known-good types are looked up inline."""

    _known: set[type] = attrs.field(alias="known", repr=False)
    _find: Callable[[Any, str], Violation | None] = attrs.field(alias="find", repr=False)

    def check(self, value: Any, root: str) -> Violation | None:
        """``None`` when ``value`` is fine, else where and how it is wrong."""
        if type(value) in self._known:
            return None
        return self._find(value, root)

    check_type = check


def compile_contract(annotation: Any, localns: Mapping[str, Any] | None = None) -> Contract | None:
    """Compile ``annotation`` (resolved, possibly ``Annotated``) into a ``Contract``.

    ``None`` when there is nothing to check (``Any``, ``object``, or
    ``inspect.Parameter.empty``). An annotation that is entirely unsupported
    still gives a ``Contract``, which lets everything through, so that its
    ``unsupported`` reaches the caller. ``localns`` resolves the field
    annotations of classes defined inside a function.
    """
    compiler = _Compiler(localns)
    checks: list[Check] = []
    checker = compiler.compile(annotation, checks)
    unsupported = tuple(dict.fromkeys(compiler.unsupported))
    if checks:
        return Contract(annotation, unsupported, checker=checker, checks=tuple(checks))
    if checker is None and not unsupported:
        return None
    if isinstance(checker, ClassChecker):
        return _ExactTypeContract(
            annotation, unsupported, checker=checker, exact=checker.exact, find=checker.find
        )
    if isinstance(checker, TypeSetChecker):
        return _KnownTypesContract(
            annotation, unsupported, checker=checker, known=checker.known, find=checker.find
        )
    return Contract(annotation, unsupported, checker=checker)


_WRAPPERS = frozenset(
    {
        typing_extensions.Required,
        typing_extensions.NotRequired,
        typing_extensions.ReadOnly,
        typing.Final,
        typing.ClassVar,
    }
)
_LITERALS = (typing.Literal, typing_extensions.Literal)
_UNIONS = (typing.Union, types.UnionType)
_ANNOTATED_TYPES = "annotated_types"
# annotated-types objects that document rather than constrain.
_ANNOTATED_TYPES_NOT_CONSTRAINTS = frozenset({"DocInfo"})


def _is_unchecked(tp: Any) -> bool:
    return tp is inspect.Parameter.empty or tp is Any or tp is object


def _strip_wrappers(tp: Any) -> Any:
    """``Required[T]``, ``NotRequired[T]``, ``ReadOnly[T]``... to ``T``."""
    while typing_extensions.get_origin(tp) in _WRAPPERS:
        tp = typing_extensions.get_args(tp)[0]
    return tp


def _is_type_determined(cls: type) -> bool:
    """Whether ``isinstance(v, cls)`` depends only on ``type(v)`` (no custom metaclass hook)."""
    hook = type(cls).__instancecheck__
    return hook is type.__instancecheck__ or hook is abc.ABCMeta.__instancecheck__


def _class_checker(cls: type, expected: str | None = None) -> Checker:
    if _is_type_determined(cls):
        return ClassChecker(cls, expected)
    return InstanceChecker(cls, expected)


def _call_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _is_multiple(multiple: Any, value: Any) -> bool:
    return bool(value % multiple == 0)


def _len_at_least(bound: int, value: Any) -> bool:
    return len(value) >= bound


def _len_at_most(bound: int, value: Any) -> bool:
    return len(value) <= bound


def _fails(predicate: Callable[[Any], object], value: Any) -> bool:
    return not predicate(value)


def _bound_constraints(meta: Any) -> list[Constraint]:
    """Constraints read off annotated-types-like attributes: ``gt``, ``min_length``, ``func``..."""
    found: list[Constraint] = []
    # operator.lt(bound, v) is ``bound < v``, i.e. ``v > bound``; partials keep the test in C.
    comparisons = (
        ("gt", operator.lt, ">"),
        ("ge", operator.le, ">="),
        ("lt", operator.gt, "<"),
        ("le", operator.ge, "<="),
    )
    for attr, compare, symbol in comparisons:
        bound = getattr(meta, attr, None)
        if bound is not None:
            found.append(Constraint(functools.partial(compare, bound), f"{symbol} {bound!r}"))
    multiple = getattr(meta, "multiple_of", None)
    if multiple is not None:
        test = functools.partial(_is_multiple, multiple)
        found.append(Constraint(test, f"a multiple of {multiple!r}"))
    min_length = getattr(meta, "min_length", None)
    if min_length is not None:
        found.append(
            Constraint(functools.partial(_len_at_least, min_length), f"len >= {min_length}")
        )
    max_length = getattr(meta, "max_length", None)
    if max_length is not None:
        found.append(
            Constraint(functools.partial(_len_at_most, max_length), f"len <= {max_length}")
        )
    func = getattr(meta, "func", None)
    if callable(func):
        if type(meta).__name__ == "Not":
            found.append(Constraint(functools.partial(_fails, func), f"not {_call_name(func)}"))
        else:
            found.append(Constraint(func, f"satisfies {_call_name(func)}"))
    return found


class _Compiler:
    """One compilation: collects unsupported parts and memoizes structured types."""

    def __init__(self, localns: Mapping[str, Any] | None = None) -> None:
        self.localns = localns
        self.unsupported: list[str] = []
        self._structs: dict[type, StructChecker] = {}
        self._in_progress: set[type] = set()

    def compile(self, annotation: Any, own_checks: list[Check] | None = None) -> Checker | None:
        """A checker for ``annotation``, or ``None`` when nothing about it can be checked.

        With ``own_checks``, the annotation's own ``Check`` markers go there
        instead of into the checker.
        """
        bare, metadata = annotated_parts(annotation)
        if own_checks is not None:
            own_checks.extend(meta for meta in metadata if isinstance(meta, Check))
            metadata = tuple(meta for meta in metadata if not isinstance(meta, Check))
        base = self._compile_bare(bare)
        schemas = [(meta, frame_schemas.schema_checker(meta)) for meta in metadata]
        if any(checker is not None for _, checker in schemas):
            members = [base] + [checker for _, checker in schemas if checker is not None]
            base = AllOfChecker(type_name(bare), [m for m in members if m is not None])
            metadata = tuple(meta for meta, checker in schemas if checker is None)
        constraints = self._constraints(metadata)
        if not constraints:
            return base
        return ConstrainedChecker(type_name(bare), base, constraints)

    def _constraints(self, metadata: Iterable[Any]) -> list[Constraint]:
        constraints: list[Constraint] = []
        for meta in metadata:
            if isinstance(meta, From):
                continue
            if isinstance(meta, Check):
                if meta.importance == "warn":
                    # Inside a type a check is part of that type's contract, which
                    # cannot half-fail; only a value's own checks may just warn.
                    self.unsupported.append(
                        f"{meta.message!r} (importance='warn' applies to a parameter's or "
                        "the return value's own checks, not to checks inside a type)"
                    )
                    continue
                constraints.append(Constraint(meta.predicate, meta.message))
            elif getattr(meta, "__is_annotated_types_grouped_metadata__", False):
                constraints.extend(self._constraints(iter(meta)))
            elif not isinstance(meta, type):
                found = _bound_constraints(meta)
                constraints.extend(found)
                meta_cls = type(meta)
                if (
                    not found
                    and meta_cls.__module__ == _ANNOTATED_TYPES
                    and meta_cls.__name__ not in _ANNOTATED_TYPES_NOT_CONSTRAINTS
                ):
                    self.unsupported.append(repr(meta))
        return constraints

    def _compile_bare(self, tp: Any) -> Checker | None:
        if _is_unchecked(tp):
            return None
        if tp is None or tp is type(None):
            return ClassChecker(type(None), "None")
        if tp is typing.NoReturn or tp is typing_extensions.Never:
            return NeverChecker(type_name(tp))
        if tp is typing_extensions.LiteralString:
            return ClassChecker(str)
        if hasattr(tp, "__supertype__"):
            return self.compile(tp.__supertype__)
        if isinstance(tp, typing.TypeVar):
            return self._compile_typevar(tp)
        if tp is typing.Tuple:  # noqa: UP006 - an identity test on the bare alias, not an annotation
            return ClassChecker(tuple)
        origin = typing_extensions.get_origin(tp)
        if origin is None:
            return self._compile_class(tp)
        args = typing_extensions.get_args(tp)
        if origin in _WRAPPERS:
            return self.compile(args[0])
        if origin in _UNIONS:
            return self._compile_union(tp, args)
        if origin in _LITERALS:
            return LiteralChecker(type_name(tp), args)
        if origin is type:
            return self._compile_subclass(tp, args)
        if origin is Callable:
            return CallableChecker(type_name(tp))
        if origin is tuple:
            return self._compile_tuple(tp, args)
        if isinstance(origin, type):
            return self._compile_generic(tp, origin, args)
        self.unsupported.append(type_name(tp))
        return None

    def _compile_typevar(self, tp: Any) -> Checker | None:
        if tp.__bound__ is not None:
            return self.compile(tp.__bound__)
        if tp.__constraints__:
            return self._compile_union(tp, tp.__constraints__)
        return None

    def _compile_union(self, tp: Any, members: Iterable[Any]) -> Checker | None:
        checkers = []
        for member in members:
            checker = self.compile(member)
            # A member that cannot be checked might accept anything: so can the union.
            if checker is None:
                return None
            checkers.append(checker)
        if all(isinstance(checker, TypeSetChecker) for checker in checkers):
            return TypeUnionChecker(type_name(tp), typing.cast(list[TypeSetChecker], checkers))
        return UnionChecker(type_name(tp), checkers)

    def _compile_subclass(self, tp: Any, args: tuple[Any, ...]) -> Checker | None:
        if not args or _is_unchecked(args[0]):
            return ClassChecker(type)
        target = args[0]
        if isinstance(target, typing.TypeVar):
            target = target.__bound__ or object
        bases = typing_extensions.get_args(target) if typing.get_origin(target) in _UNIONS else ()
        bases = bases or (target,)
        if all(isinstance(base, type) for base in bases):
            return SubclassChecker(type_name(tp), bases)
        self.unsupported.append(type_name(tp))
        return ClassChecker(type)

    def _compile_tuple(self, tp: Any, args: tuple[Any, ...]) -> Checker | None:
        if len(args) == 2 and args[1] is Ellipsis:
            element = self.compile(args[0])
            if element is None:
                return ClassChecker(tuple, type_name(tp))
            return CollectionChecker(type_name(tp), tuple, element, reiterable_only=False)
        positions = []
        for index, arg in enumerate(args):
            checker = self.compile(arg)
            if checker is not None:
                positions.append((index, checker))
        return TupleChecker(type_name(tp), len(args), positions)

    def _compile_generic(self, tp: Any, origin: type, args: tuple[Any, ...]) -> Checker | None:
        name = type_name(tp)
        schema = frame_schemas.generic_schema(origin, args)  # pandera.typing.DataFrame[Model]
        if schema is not None:
            return schema
        # A TypedDict is a dict and a NamedTuple a tuple, but their fields are what matters.
        structured = is_typeddict(origin) or issubclass(origin, tuple)
        if issubclass(origin, Mapping) and len(args) == 2 and not structured:
            key, value = self.compile(args[0]), self.compile(args[1])
            if key is None and value is None:
                return _class_checker(origin, name)
            return MappingChecker(name, origin, key, value)
        if issubclass(origin, Iterator):
            if not all(_is_unchecked(arg) for arg in args):
                self.unsupported.append(
                    f"the items of {name} (checking them would consume the iterator)"
                )
            return _class_checker(origin, name)
        if issubclass(origin, Iterable) and len(args) == 1 and not structured:
            element = self.compile(args[0])
            if element is None:
                return _class_checker(origin, name)
            reiterable_only = not issubclass(origin, Collection)
            return CollectionChecker(name, origin, element, reiterable_only)
        if not all(_is_unchecked(arg) for arg in args):
            self.unsupported.append(f"the type arguments of {name}")
        return self._compile_class(origin)

    def _compile_class(self, tp: Any) -> Checker | None:
        if not isinstance(tp, type):
            self.unsupported.append(type_name(tp))
            return None
        if getattr(tp, "_is_protocol", False):
            if getattr(tp, "_is_runtime_protocol", False):
                return InstanceChecker(tp)
            self.unsupported.append(f"{type_name(tp)} (a Protocol that is not runtime-checkable)")
            return None
        known = self._structs.get(tp)
        if known is not None:
            # Met again while its own fields are being compiled: a recursive type.
            if tp in self._in_progress:
                known.recursive = True
            return known
        try:
            fields = structured_fields(tp, self.localns)
        except NameError as exc:
            # Structured, but its fields cannot be resolved: check the class alone.
            self.unsupported.append(f"the fields of {type_name(tp)} ({exc})")
            fields = ()
        if fields is not None:
            return self._compile_struct(tp, fields)
        return _class_checker(tp)

    def _compile_struct(self, tp: type, fields: tuple[StructuredField, ...]) -> StructChecker:
        struct = StructChecker(type_name(tp), dict if is_typeddict(tp) else tp)
        # Registered before its fields are compiled, so a field naming ``tp`` finds it.
        self._structs[tp] = struct
        self._in_progress.add(tp)
        struct.fields = tuple(
            FieldSpec(
                name=field.name,
                by_attr=field.access == "attr",
                required=field.required,
                checker=self.compile(field.annotation),
                expected=type_name(_strip_wrappers(field.annotation)),
            )
            for field in fields
        )
        self._in_progress.discard(tp)
        return struct
