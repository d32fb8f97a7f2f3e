"""Tests for the contract checker: every supported annotation form, passing and failing."""

from __future__ import annotations

import collections
import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import (
    Annotated,
    Any,
    Literal,
    NamedTuple,
    NewType,
    Optional,
    Protocol,
    TypeVar,
    Union,
    runtime_checkable,
)

import attrs
import pytest
import typing_extensions
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typing_extensions import NotRequired, Required, TypedDict

from flowdsl._markers import Check, From
from flowdsl._services.contracts import Contract, Violation, compile_contract
from flowdsl._typing import type_name
from tests.quick import examples


# Stand-ins for the annotated-types package, which flowdsl recognises without
# importing: same class names, same attributes, same module name.
@dataclasses.dataclass(frozen=True)
class Gt:
    gt: Any


@dataclasses.dataclass(frozen=True)
class Ge:
    ge: Any


@dataclasses.dataclass(frozen=True)
class Lt:
    lt: Any


@dataclasses.dataclass(frozen=True)
class Le:
    le: Any


@dataclasses.dataclass(frozen=True)
class MultipleOf:
    multiple_of: Any


@dataclasses.dataclass(frozen=True)
class MinLen:
    min_length: int


@dataclasses.dataclass(frozen=True)
class MaxLen:
    max_length: int


@dataclasses.dataclass(frozen=True)
class Predicate:
    func: Callable[[Any], bool]


@dataclasses.dataclass(frozen=True)
class Not:
    func: Callable[[Any], bool]


@dataclasses.dataclass(frozen=True)
class Timezone:
    tz: str


@dataclasses.dataclass(frozen=True)
class DocInfo:
    documentation: str


@dataclasses.dataclass(frozen=True)
class Interval:
    gt: Any = None
    ge: Any = None
    lt: Any = None
    le: Any = None

    __is_annotated_types_grouped_metadata__ = True

    def __iter__(self) -> Iterator[object]:
        for cls, bound in ((Gt, self.gt), (Ge, self.ge), (Lt, self.lt), (Le, self.le)):
            if bound is not None:
                yield cls(bound)


@dataclasses.dataclass(frozen=True)
class Len:
    min_length: int = 0
    max_length: int | None = None

    __is_annotated_types_grouped_metadata__ = True

    def __iter__(self) -> Iterator[object]:
        if self.min_length:
            yield MinLen(self.min_length)
        if self.max_length is not None:
            yield MaxLen(self.max_length)


_FAKES = (
    Gt,
    Ge,
    Lt,
    Le,
    MultipleOf,
    MinLen,
    MaxLen,
    Predicate,
    Not,
    Timezone,
    DocInfo,
    Interval,
    Len,
)
for _fake in _FAKES:
    _fake.__module__ = "annotated_types"


@dataclasses.dataclass
class Item:
    name: str
    price: float


class Order(TypedDict):
    id: int
    items: list[Item]


class Movie(TypedDict, total=False):
    title: Required[str]
    year: int
    rating: NotRequired[float]


class Point(NamedTuple):
    x: int
    y: float


@attrs.define
class User:
    name: str
    age: Annotated[int, Ge(0)]


@dataclasses.dataclass
class Node:
    value: int
    children: list[Node]


@dataclasses.dataclass
class Link:
    value: int
    next: Link | None


@dataclasses.dataclass
class Broken:
    other: NoSuchType  # type: ignore[name-defined]  # noqa: F821


T = TypeVar("T")


@dataclasses.dataclass
class Box(typing.Generic[T]):
    content: T


UserId = NewType("UserId", int)


class Color(enum.Enum):
    RED = 1
    BLUE = 2


class Level(enum.IntEnum):
    LOW = 1


@runtime_checkable
class Closable(Protocol):
    def close(self) -> None: ...


class Drawable(Protocol):
    def draw(self) -> None: ...


class Animal:
    pass


class Dog(Animal):
    pass


def check(annotation: Any, value: Any, root: str = "x") -> Violation | None:
    contract = compile_contract(annotation)
    assert contract is not None
    return contract.check(value, root)


def fails(annotation: Any, value: Any, root: str = "x") -> Violation:
    violation = check(annotation, value, root)
    assert violation is not None, f"{value!r} should not satisfy {annotation!r}"
    return violation


# --- nothing to check ---------------------------------------------------------------------


@pytest.mark.parametrize("annotation", [Any, object, inspect.Parameter.empty, TypeVar("T")])
def test_nothing_to_check_compiles_to_none(annotation: Any) -> None:
    assert compile_contract(annotation) is None


def test_contract_is_immutable_and_keeps_its_annotation() -> None:
    contract = compile_contract(list[int])
    assert isinstance(contract, Contract)
    assert contract.annotation == list[int]
    assert contract.unsupported == ()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        contract.annotation = int  # type: ignore[misc]


# --- plain classes and the numeric tower -------------------------------------------------


def test_int_accepts_ints_and_int_subclasses() -> None:
    assert check(int, 5) is None
    assert check(int, Level.LOW) is None


def test_int_refuses_a_string_with_path_expected_and_actual() -> None:
    assert fails(int, "7", "user_id") == Violation("user_id", "int", "'7' (str)")


def test_bool_is_not_an_int() -> None:
    assert fails(int, True) == Violation("x", "int", "True (bool)")
    assert fails(list[int], [1, False]) == Violation("x[1]", "int", "False (bool)")


def test_bool_asks_for_a_bool() -> None:
    assert check(bool, True) is None
    assert fails(bool, 1).actual == "1 (int)"


def test_int_is_a_float_but_bool_is_not() -> None:
    assert check(float, 1) is None
    assert check(float, 1.5) is None
    assert fails(float, True).expected == "float"
    assert fails(float, "1.0").actual == "'1.0' (str)"
    assert check(list[float], [1, 2.5, 3]) is None


def test_int_and_float_are_complex() -> None:
    for value in (1, 1.5, 1j):
        assert check(complex, value) is None
    assert fails(complex, "1j").expected == "complex"


def test_none_and_str_and_bytes() -> None:
    assert check(None, None) is None
    assert fails(None, 0, "return") == Violation("return", "None", "0 (int)")
    assert check(str, "a") is None
    assert fails(str, b"a").actual == "b'a' (bytes)"
    assert check(bytes, b"a") is None


def test_plain_class_accepts_subclasses() -> None:
    assert check(Animal, Dog()) is None
    violation = fails(Dog, Animal())
    assert violation.expected == "Dog"
    assert violation.actual.endswith("(Animal)")


def test_an_object_claiming_a_class_through_dunder_class_is_accepted() -> None:
    class Proxy:
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            return int

    assert check(int, Proxy()) is None
    assert check(list[int], [1, Proxy(), 2]) is None
    assert fails(list[int], [1, Proxy(), "2"]).path == "x[2]"


def test_actual_is_truncated() -> None:
    violation = fails(int, "a" * 500)
    assert len(violation.actual) <= 90
    assert violation.actual.endswith("(str)")
    assert len(fails(int, list(range(10**5))).actual) <= 90


# --- builtin generics --------------------------------------------------------------------


def test_list_of_int() -> None:
    assert check(list[int], [1, 2, 3]) is None
    assert check(list[int], []) is None
    assert fails(list[int], [1, 2, "3"]) == Violation("x[2]", "int", "'3' (str)")
    assert fails(list[int], (1, 2)) == Violation("x", "list[int]", "(1, 2) (tuple)")


def test_list_of_int_subclasses_and_mixed_types() -> None:
    assert check(list[int], [Level.LOW, 1, Level.LOW]) is None
    assert check(list[int | str], [1, "a", 2]) is None
    assert fails(list[int | str], [1, "a", 2.5]).path == "x[2]"


def test_first_bad_index_is_reported_among_several() -> None:
    value: list[Any] = list(range(100))
    value[70] = "a"
    value[40] = 1.5
    value[90] = None
    assert fails(list[int], value).path == "x[40]"


def test_large_list_of_int() -> None:
    value: list[Any] = list(range(200_000))
    assert check(list[int], value) is None
    value[123_456] = "x"
    assert fails(list[int], value).path == "x[123456]"
    mixed: list[int] = [Level.LOW] * 100 + list(range(100))
    assert check(list[int], mixed) is None
    assert fails(list[int], [*mixed, True]).path == "x[200]"
    assert fails(tuple[int, ...], (*mixed, 1.5, "a")).path == "x[200]"


def test_dict_paths_use_the_key_repr() -> None:
    annotation = dict[str, list[float]]
    assert check(annotation, {"a": [1.0, 2], "b": []}) is None
    assert fails(annotation, {"a": [1.0], "b": [1, "q"]}) == Violation(
        "x['b'][1]", "float", "'q' (str)"
    )
    assert fails(annotation, {"a": [1.0], 3: []}) == Violation("x[3]", "str (as a key)", "3 (int)")


def test_dict_with_any_side() -> None:
    assert check(dict[str, Any], {"a": object()}) is None
    assert fails(dict[str, Any], {1: 1}).expected == "str (as a key)"
    assert fails(dict[Any, int], {"a": "b"}).path == "x['a']"
    assert check(dict[Any, Any], {1: 2}) is None
    assert fails(dict[Any, Any], [1]).expected == "dict[Any, Any]"


def test_tuple_forms() -> None:
    assert check(tuple[int, ...], (1, 2, 3)) is None
    assert fails(tuple[int, ...], (1, "2")).path == "x[1]"
    assert fails(tuple[int, ...], [1]).expected == "tuple[int, ...]"
    assert check(tuple[int, str], (1, "a")) is None
    assert fails(tuple[int, str], (1, 2)) == Violation("x[1]", "str", "2 (int)")
    assert fails(tuple[int, str], (1,)) == Violation(
        "x", "tuple[int, str] (length 2)", "(1,) (tuple)"
    )
    assert check(tuple[()], ()) is None
    assert fails(tuple[()], (1,)).path == "x"
    assert check(tuple[Any, int], ("anything", 1)) is None


def test_set_and_frozenset_name_the_bad_element() -> None:
    assert check(set[int], {1, 2}) is None
    assert fails(set[int], {1, "a"}) == Violation("x{'a'}", "int", "'a' (str)")
    assert check(frozenset[str], frozenset({"a"})) is None
    assert fails(frozenset[str], {"a"}).expected == "frozenset[str]"
    assert check(frozenset, frozenset()) is None


def test_typing_aliases() -> None:
    assert check(typing.List[int], [1]) is None  # noqa: UP006
    assert fails(typing.List[int], ["a"]).path == "x[0]"  # noqa: UP006
    assert fails(typing.Dict[str, int], {"a": "b"}).path == "x['a']"  # noqa: UP006
    assert check(typing.List, [object()]) is None  # noqa: UP006
    assert check(typing.Tuple, (1, "a", None)) is None  # noqa: UP006
    assert fails(typing.Tuple, [1]).expected == "tuple"  # noqa: UP006
    assert check(typing.Tuple[int, ...], (1,)) is None  # noqa: UP006


# --- abstract collections ----------------------------------------------------------------


def test_sequence_checks_the_abc_and_the_elements() -> None:
    assert check(Sequence[int], (1, 2)) is None
    assert check(typing.Sequence[int], [1, 2]) is None
    assert fails(Sequence[int], [1, "a"]).path == "x[1]"
    assert fails(Sequence[int], {1, 2}).expected == "Sequence[int]"
    assert fails(Sequence[int], "ab").path == "x[0]"


def test_mapping_accepts_any_mapping() -> None:
    assert check(Mapping[str, int], types.MappingProxyType({"a": 1})) is None
    assert check(typing.Mapping[str, int], collections.OrderedDict(a=1)) is None
    assert fails(Mapping[str, int], types.MappingProxyType({"a": "b"})).path == "x['a']"


def test_iterable_checks_elements_of_collections() -> None:
    assert check(Iterable[int], [1, 2]) is None
    assert check(typing.Iterable[int], {1: "a"}) is None
    assert fails(Iterable[int], (1, "a")).path == "x[1]"
    assert fails(Iterable[int], 3).expected == "Iterable[int]"
    assert check(collections.deque[int], collections.deque([1])) is None
    assert fails(collections.deque[int], collections.deque([1, "a"])).path == "x[1]"


def test_iterators_and_generators_are_never_consumed() -> None:
    generator = (n for n in [1, "a", 3])
    assert check(Iterable[int], generator) is None
    assert next(generator) == 1
    iterator = iter([1, "a"])
    assert check(Iterable[int], iterator) is None
    assert list(iterator) == [1, "a"]


def test_iterator_elements_are_reported_unsupported() -> None:
    contract = compile_contract(Iterator[int])
    assert contract is not None
    assert contract.unsupported == (
        "the items of Iterator[int] (checking them would consume the iterator)",
    )
    iterator = iter(["a"])
    assert contract.check(iterator, "x") is None
    assert next(iterator) == "a"
    assert fails(Iterator[int], [1]).expected == "Iterator[int]"
    assert compile_contract(Iterator[Any]).unsupported == ()  # type: ignore[union-attr]


# --- unions and literals -----------------------------------------------------------------


def test_optional() -> None:
    assert check(Optional[int], None) is None  # noqa: UP045
    assert check(Optional[int], 3) is None  # noqa: UP045
    assert fails(Optional[int], "3") == Violation("x", "Optional[int]", "'3' (str)")  # noqa: UP045
    assert fails(int | None, True).expected == "int | None"


def test_union_descends_into_the_only_member_of_the_right_shape() -> None:
    assert fails(list[int] | None, [1, "a"]) == Violation("x[1]", "int", "'a' (str)")
    free = Item("a", "free")  # type: ignore[arg-type]
    assert fails(Union[Item, int], free).path == "x.price"  # noqa: UP007
    assert fails(list[int] | tuple[str, ...], [1, "a"]).path == "x[1]"
    # Two members of the right shape: the union as a whole is blamed.
    assert fails(list[int] | list[str], [1, "a"]).path == "x"


def test_union_with_an_unchecked_member_checks_nothing() -> None:
    assert compile_contract(int | Any) is None
    contract = compile_contract(int | Drawable)
    assert contract is not None
    assert contract.unsupported == ("Drawable (a Protocol that is not runtime-checkable)",)
    assert contract.check("anything", "x") is None


def test_literal() -> None:
    annotation = Literal["a", "b", 1, None, Color.RED]
    for value in ("a", "b", 1, None, Color.RED):
        assert check(annotation, value) is None
    assert fails(annotation, "c") == Violation(
        "x", "Literal['a', 'b', 1, None, <Color.RED: 1>]", "'c' (str)"
    )
    assert fails(annotation, True).actual == "True (bool)"
    assert fails(annotation, Color.BLUE).path == "x"
    assert fails(Literal[1], 1.0).path == "x"


# --- structured types --------------------------------------------------------------------


def test_nested_path_through_typeddict_list_and_dataclass() -> None:
    order = {"id": 1, "items": [Item("a", 1.0), Item("b", 2), Item("c", 3.0), Item("d", "9")]}  # type: ignore[arg-type]
    assert fails(Order, order, "return") == Violation(
        "return['items'][3].price", "float", "'9' (str)"
    )
    order["items"] = [Item("a", 1.0)]
    assert check(Order, order) is None


def test_typeddict_required_and_optional_keys() -> None:
    assert check(Movie, {"title": "Heat"}) is None
    assert check(Movie, {"title": "Heat", "year": 1995, "rating": 8, "extra": object()}) is None
    assert fails(Movie, {"year": 1995}) == Violation("x['title']", "str", "missing")
    assert fails(Movie, {"title": "Heat", "rating": "good"}) == Violation(
        "x['rating']", "float", "'good' (str)"
    )
    assert fails(Order, {"items": []}) == Violation("x['id']", "int", "missing")
    assert fails(Movie, ["title"]).expected == "Movie"


def test_dataclass_fields() -> None:
    assert check(Item, Item("a", 1)) is None
    assert fails(Item, Item(3, 1.0)) == Violation("x.name", "str", "3 (int)")  # type: ignore[arg-type]
    assert fails(Item, {"name": "a", "price": 1.0}).expected == "Item"


def test_attrs_fields_and_their_constraints() -> None:
    assert check(User, User("ann", 3)) is None
    assert fails(User, User("ann", -1)) == Violation("x.age", ">= 0", "-1 (int)")
    assert fails(User, User("ann", "3")) == Violation("x.age", "int", "'3' (str)")  # type: ignore[arg-type]


def test_namedtuple_fields() -> None:
    assert check(Point, Point(1, 2)) is None
    assert fails(Point, Point(1, "2")) == Violation("x.y", "float", "'2' (str)")  # type: ignore[arg-type]
    assert fails(Point, (1, 2.0)).expected == "Point"


def test_missing_attribute_is_reported() -> None:
    item = Item("a", 1.0)
    del item.price
    assert fails(Item, item) == Violation("x.price", "float", "missing")


def test_recursive_type_compiles_and_checks() -> None:
    tree = Node(1, [Node(2, []), Node(3, [Node(4, [])])])
    assert check(Node, tree) is None
    tree.children[1].children[0].value = "four"  # type: ignore[assignment]
    assert fails(Node, tree) == Violation("x.children[1].children[0].value", "int", "'four' (str)")


def test_cyclic_value_of_a_recursive_type_terminates() -> None:
    loop = Node(1, [])
    loop.children.append(loop)
    assert check(Node, loop) is None
    loop.children.append(Node("bad", [loop]))  # type: ignore[arg-type]
    assert fails(Node, loop) == Violation("x.children[1].value", "int", "'bad' (str)")


def chain(length: int, last_value: object) -> Link:
    link = Link(last_value, None)  # type: ignore[arg-type]
    for index in range(length - 1):
        link = Link(index, link)
    return link


def test_long_chain_of_a_recursive_type_is_checked_to_its_end() -> None:
    assert check(Link, chain(200, 0)) is None
    violation = fails(Link, chain(200, "end"))
    assert violation.path == "x" + ".next" * 199 + ".value"


def test_value_too_deep_for_the_recursion_limit_is_let_through() -> None:
    assert check(Link, chain(5000, "end")) is None


def test_unresolvable_field_annotation_is_unsupported() -> None:
    contract = compile_contract(Broken)
    assert contract is not None
    assert contract.unsupported == ("the fields of Broken (name 'NoSuchType' is not defined)",)
    assert contract.check(Broken(1), "x") is None
    assert contract.check(1, "x") == Violation("x", "Broken", "1 (int)")


# --- special forms -----------------------------------------------------------------------


def test_newtype_checks_the_supertype() -> None:
    assert check(UserId, UserId(3)) is None
    assert check(UserId, 3) is None
    assert fails(UserId, "3").expected == "int"


def test_protocols() -> None:
    class File:
        def close(self) -> None:
            pass

    assert check(Closable, File()) is None
    assert fails(Closable, 3).expected == "Closable"
    assert check(list[Closable], [File(), File()]) is None
    assert fails(list[Closable], [File(), 3]).path == "x[1]"
    contract = compile_contract(Drawable)
    assert contract is not None
    assert contract.unsupported == ("Drawable (a Protocol that is not runtime-checkable)",)
    assert contract.check(3, "x") is None
    assert compile_contract(list[Drawable]).unsupported == contract.unsupported  # type: ignore[union-attr]
    assert fails(list[Drawable], (1,)).path == "x"


def test_callable_checks_callability_only() -> None:
    assert check(Callable[[int], str], len) is None
    assert check(typing.Callable[..., Any], lambda: None) is None
    assert check(Callable, print) is None
    assert fails(Callable[[int], str], 3) == Violation("x", "Callable[[int], str]", "3 (int)")


def test_type_of() -> None:
    assert check(type[Animal], Dog) is None
    assert fails(type[Animal], Dog()).expected == type_name(type[Animal])
    assert fails(type[int], str).actual == "<class 'str'> (type)"
    assert check(type[int | str], str) is None
    assert check(type, int) is None
    assert check(type[Any], int) is None
    assert fails(type[Any], 1).expected == "type"
    assert check(typing.Type[Animal], Dog) is None  # noqa: UP006


def test_typevars() -> None:
    bounded = TypeVar("bounded", bound=Animal)
    assert check(bounded, Dog()) is None
    assert fails(bounded, 1).expected == "Animal"
    constrained = TypeVar("constrained", int, str)
    assert check(constrained, "a") is None
    assert fails(constrained, 1.5).path == "x"
    assert check(type[bounded], Dog) is None


def test_never_accepts_nothing() -> None:
    assert fails(typing.NoReturn, 0) == Violation("x", "NoReturn", "0 (int)")
    assert fails(typing_extensions.Never, None, "return") == Violation(
        "return", "Never", "None (None)"
    )


def test_final_and_required_wrappers_are_transparent() -> None:
    assert fails(typing.Final[int], "a").expected == "int"


# --- Annotated constraints ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "good", "bad", "expected"),
    [
        (Gt(0), 1, 0, "> 0"),
        (Ge(0), 0, -1, ">= 0"),
        (Lt(10), 9, 10, "< 10"),
        (Le(10), 10, 11, "<= 10"),
        (MultipleOf(3), 9, 10, "a multiple of 3"),
    ],
)
def test_numeric_constraints(constraint: object, good: int, bad: int, expected: str) -> None:
    annotation = Annotated[int, constraint]
    assert check(annotation, good) is None
    assert fails(annotation, bad) == Violation("x", expected, f"{bad} (int)")


def test_length_constraints() -> None:
    assert check(Annotated[str, MinLen(2)], "ab") is None
    assert fails(Annotated[str, MinLen(2)], "a").expected == "len >= 2"
    assert fails(Annotated[list[int], MaxLen(1)], [1, 2]).expected == "len <= 1"
    assert check(Annotated[str, Len(1, 3)], "abc") is None
    assert fails(Annotated[str, Len(1, 3)], "").expected == "len >= 1"
    assert fails(Annotated[str, Len(1, 3)], "abcd").expected == "len <= 3"


def test_interval_and_predicates() -> None:
    percent = Annotated[float, Interval(ge=0, le=100)]
    assert check(percent, 50) is None
    assert fails(percent, 101).expected == "<= 100"
    assert fails(percent, -1).expected == ">= 0"
    assert check(Annotated[str, Predicate(str.isdigit)], "12") is None
    assert fails(Annotated[str, Predicate(str.isdigit)], "1a").expected == "satisfies str.isdigit"
    assert fails(Annotated[str, Not(str.isdigit)], "12").expected == "not str.isdigit"


def test_duck_typed_constraint_from_another_module() -> None:
    @dataclasses.dataclass(frozen=True)
    class Between:
        gt: int
        lt: int

    assert check(Annotated[int, Between(0, 5)], 3) is None
    assert fails(Annotated[int, Between(0, 5)], 5).expected == "< 5"


def test_flowdsl_check_uses_its_message() -> None:
    side = Annotated[float, Check(lambda s: s >= 0, "a side is never negative")]
    assert check(side, 2.0) is None
    assert fails(side, -1.0) == Violation("x", "a side is never negative", "-1.0 (float)")


def test_base_type_is_checked_before_constraints() -> None:
    assert fails(Annotated[int, Gt(0)], "5") == Violation("x", "int", "'5' (str)")


def test_raising_constraint_is_a_violation_that_says_so() -> None:
    violation = fails(Annotated[Any, Gt(0)], "a")
    assert violation.expected == "> 0"
    assert violation.actual.startswith("'a' (str); the check raised TypeError: ")


def test_constraint_inside_optional_and_list() -> None:
    assert fails(Optional[Annotated[int, Gt(0)]], -1).expected == "> 0"  # noqa: UP045
    assert check(Optional[Annotated[int, Gt(0)]], None) is None  # noqa: UP045
    assert fails(list[Annotated[int, Gt(0)]], [1, 0]) == Violation("x[1]", "> 0", "0 (int)")


def test_from_doc_and_foreign_metadata_are_ignored_silently() -> None:
    annotation = Annotated[int, From("u.id"), DocInfo("an id"), "some other tool's note", Animal]
    contract = compile_contract(annotation)
    assert contract is not None
    assert contract.unsupported == ()
    assert contract.check(-5, "x") is None
    assert contract.check("a", "x") == Violation("x", "int", "'a' (str)")
    assert compile_contract(Annotated[Any, From("u")]) is None


def test_unknown_annotated_types_constraint_is_unsupported() -> None:
    contract = compile_contract(Annotated[int, Timezone("UTC"), Gt(0)])
    assert contract is not None
    assert contract.unsupported == ("Timezone(tz='UTC')",)
    assert contract.check(1, "x") is None
    assert contract.check(0, "x") == Violation("x", "> 0", "0 (int)")


def test_unsupported_annotation_objects_are_reported() -> None:
    contract = compile_contract("NotResolved")
    assert contract is not None
    assert contract.unsupported == ("'NotResolved'",)
    assert contract.check(1, "x") is None


def test_generic_class_arguments_are_reported_unsupported() -> None:
    contract = compile_contract(Box[int])
    assert contract is not None
    assert contract.unsupported == (f"the type arguments of {type_name(Box[int])}",)
    assert contract.check(Box("anything"), "x") is None
    assert contract.check(1, "x") is not None


# --- property: random nested values ------------------------------------------------------

LEAVES: dict[type, st.SearchStrategy[Any]] = {
    int: st.integers(),
    str: st.text(max_size=3),
    float: st.floats(allow_nan=False),
}
WRONG_LEAF: dict[type, object] = {int: True, str: 0, float: "0"}

annotation_strategy = st.recursive(
    st.sampled_from(list(LEAVES)),
    lambda inner: st.one_of(
        inner.map(lambda t: list[t]),  # type: ignore[valid-type]
        inner.map(lambda t: dict[str, t]),  # type: ignore[valid-type]
        inner.map(lambda t: tuple[t, ...]),  # type: ignore[valid-type]
        st.lists(inner, min_size=1, max_size=3).map(lambda ts: tuple[tuple(ts)]),  # type: ignore[misc]
    ),
    max_leaves=6,
)


def values_for(tp: Any) -> st.SearchStrategy[Any]:
    if tp in LEAVES:
        return LEAVES[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return st.lists(values_for(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=3), values_for(args[1]), max_size=3)
    if args[-1] is Ellipsis:
        return st.lists(values_for(args[0]), max_size=3).map(tuple)
    return st.tuples(*map(values_for, args))


def leaves(value: Any, tp: Any, path: str, steps: tuple[Any, ...]) -> Iterator[Any]:
    """Every leaf as ``(path, steps to reach it, its annotation)``."""
    if tp in LEAVES:
        yield path, steps, tp
        return
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is dict:
        for key, item in value.items():
            yield from leaves(item, args[1], f"{path}[{key!r}]", (*steps, key))
        return
    item_types = [args[0]] * len(value) if origin is list or args[-1] is Ellipsis else args
    for index, (item, item_type) in enumerate(zip(value, item_types, strict=True)):
        yield from leaves(item, item_type, f"{path}[{index}]", (*steps, index))


def replaced(value: Any, steps: tuple[Any, ...], new: object) -> Any:
    if not steps:
        return new
    head, rest = steps[0], steps[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    items = list(value)
    items[head] = replaced(items[head], rest, new)
    return tuple(items) if isinstance(value, tuple) else items


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_random_nested_values_pass_and_a_mutated_leaf_is_located(data: st.DataObject) -> None:
    annotation = data.draw(annotation_strategy, label="annotation")
    value = data.draw(values_for(annotation), label="value")
    contract = compile_contract(annotation)
    assert contract is not None
    assert contract.unsupported == ()
    assert contract.check(value, "v") is None

    found = list(leaves(value, annotation, "v", ()))
    assume(found)
    path, steps, leaf_type = data.draw(st.sampled_from(found), label="leaf")
    wrong = WRONG_LEAF[leaf_type]
    violation = contract.check(replaced(value, steps, wrong), "v")
    assert violation == Violation(path, type_name(leaf_type), f"{wrong!r} ({type(wrong).__name__})")
