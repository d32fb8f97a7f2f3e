"""``clearly_incompatible``: only clear mismatches count; whatever is undecidable is compatible."""
# ruff: noqa: UP007, UP045  (typing.Optional and typing.Union are under test here)

import collections.abc
import typing
from typing import Annotated, Any, Literal, NewType, Optional, Protocol, TypeVar, Union

import pytest
from typing_extensions import TypedDict

from flowdsl._compiler.compatibility import clearly_incompatible
from flowdsl._model.graph import NO_DEFAULT
from flowdsl._typing import type_name


class User(TypedDict):
    id: int


class Base:
    pass


class Derived(Base):
    pass


class Other:
    pass


class HasName(Protocol):
    name: str


UserId = NewType("UserId", int)
T = TypeVar("T")


@pytest.mark.parametrize(
    ("produced", "expected"),
    [
        (int, str),
        (str, int),
        (float, int),
        (complex, float),
        (bytes, str),
        (list[int], list[str]),
        (dict[str, int], dict[str, str]),
        (dict[str, int], list[int]),
        (list[int], tuple[int]),
        (Optional[int], str),
        (Union[int, bytes], str),
        (int | None, str | bytes),
        (None, int),
        (type(None), int),
        (Literal["a", "b"], int),
        (Literal[1], str),
        (Annotated[int, "meta"], str),
        (int, Annotated[str, "meta"]),
        (User, list[int]),
        (User, int),
        (Other, Base),
        (UserId, str),
        (list[list[int]], list[list[str]]),
        (collections.abc.Sequence[int], dict[str, int]),
    ],
)
def test_clear_mismatches(produced: Any, expected: Any) -> None:
    assert clearly_incompatible(produced, expected) is True


@pytest.mark.parametrize(
    ("produced", "expected"),
    [
        (int, int),
        (int, float),
        (int, complex),
        (float, complex),
        (bool, int),
        (bool, float),
        (Optional[int], int),
        (int, Optional[int]),
        (None, Optional[int]),
        (Union[int, str], str),
        (Derived, Base),
        (Base, Derived),
        (Any, int),
        (str, Any),
        (object, int),
        (int, object),
        (T, int),
        (int, T),
        (HasName, str),
        (int, HasName),
        ("NotResolved", int),
        (typing.ForwardRef("X"), int),
        (NO_DEFAULT, int),
        (int, NO_DEFAULT),
        (User, dict),
        (User, dict[str, Any]),
        (dict, User),
        (User, collections.abc.Mapping),
        (dict[str, int], collections.abc.Mapping[str, str]),
        (list[int], list[float]),
        (list[bool], list[int]),
        (list[int], list),
        (list, list[str]),
        (list[int], collections.abc.Sequence[int]),
        (tuple[int, ...], tuple[str, ...]),
        (tuple[int, str], tuple[int, str]),
        (typing.Callable[[int], str], typing.Callable[[str], str]),
        (UserId, int),
        (int, UserId),
        (Literal["a"], str),
        (Literal[True], int),
        (Annotated[int, "meta"], Annotated[float, "other"]),
    ],
)
def test_compatible_or_undecidable(produced: Any, expected: Any) -> None:
    assert clearly_incompatible(produced, expected) is False


def test_direction_matters_for_the_numeric_tower() -> None:
    assert clearly_incompatible(int, float) is False
    assert clearly_incompatible(float, int) is True


@pytest.mark.parametrize(
    ("tp", "text"),
    [
        (int, "int"),
        (type(None), "None"),
        (list[int], "list[int]"),
        (dict[str, list[int]], "dict[str, list[int]]"),
        (Optional[int], "Optional[int]"),
        (int | None, "int | None"),
        (Annotated[int, "meta"], "int"),
        (User, "User"),
        (collections.abc.Mapping[str, int], "Mapping[str, int]"),
        (typing.List[int], "List[int]"),  # noqa: UP006
    ],
)
def test_type_name(tp: Any, text: str) -> None:
    assert type_name(tp) == text
