"""Value and code fingerprints: distinct where values differ, stable across processes."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import enum
import functools
import importlib.util
import itertools
import json
import logging
import os
import pathlib
import re
import socket
import subprocess
import sys
import textwrap
import uuid
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from types import ModuleType
from typing import Any, NamedTuple

import attrs
import pytest

from flowdsl._services.fingerprint import (
    Unfingerprintable,
    cache_key,
    fingerprint_code,
    fingerprint_value,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Level(enum.IntEnum):
    LOW = 1


@dataclasses.dataclass
class Point:
    x: Any
    y: Any


@dataclasses.dataclass
class Other:
    x: Any
    y: Any


@attrs.define
class APoint:
    x: Any
    y: Any


class Pair(NamedTuple):
    x: Any
    y: Any


class Opaque:
    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.x == self.x

    __hash__ = None  # type: ignore[assignment]


class MyStr(str):
    pass


class Config:
    """A default with a readable repr and no address in it."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __repr__(self) -> str:
        return f"Config(level={self.level})"


DISTINCT: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2**70,
    -(2**70),
    1.0,
    0.0,
    -0.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    1 + 0j,
    complex(0, 1),
    "1",
    "",
    "a\udcff",
    b"1",
    b"",
    bytearray(b"1"),
    (),
    [],
    {},
    set(),
    frozenset(),
    (1, 2),
    [1, 2],
    [2, 1],
    (1,),
    [1],
    [True],
    [1.0],
    [1, 2.0],
    [1, 2**70],
    ["1", "2"],
    [[1, 2]],
    ([1, 2],),
    {1: 2},
    {2: 1},
    {"1": 2},
    {1: 2, 3: 4},
    {1, 2},
    frozenset({1, 2}),
    OrderedDict([(1, 2), (3, 4)]),
    OrderedDict([(3, 4), (1, 2)]),
    Counter({"a": 1}),
    {"a": 1},
    defaultdict(int, {"a": 1}),
    defaultdict(list, {"a": 1}),
    defaultdict(None, {"a": 1}),
    range(3),
    range(0, 3, 2),
    ...,
    Color.RED,
    Color.GREEN,
    Level.LOW,
    Point(1, 2),
    Point(2, 1),
    Other(1, 2),
    APoint(1, 2),
    Pair(1, 2),
    Decimal("1"),
    Decimal("1.0"),
    Decimal("-0"),
    Decimal("NaN"),
    Fraction(1, 1),
    Fraction(1, 2),
    datetime.date(2024, 1, 2),
    datetime.datetime(2024, 1, 2),
    datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
    datetime.datetime(2024, 1, 2, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
    datetime.datetime(2024, 1, 2, fold=1),
    datetime.time(1, 2, 3),
    datetime.time(1, 2, 3, 4),
    datetime.timedelta(days=1),
    datetime.timedelta(seconds=1),
    uuid.UUID(int=1),
    uuid.UUID(int=2),
    pathlib.PurePosixPath("a/b"),
    pathlib.PureWindowsPath("a/b"),
    pathlib.PurePosixPath("a/c"),
    re.compile("a+"),
    re.compile("a+", re.IGNORECASE),
    re.compile(b"a+"),
]


def test_distinct_values_have_distinct_fingerprints() -> None:
    digests = [fingerprint_value(value) for value in DISTINCT]
    for (i, a), (j, b) in itertools.combinations(enumerate(digests), 2):
        assert a != b, (DISTINCT[i], DISTINCT[j])


@pytest.mark.parametrize("value", DISTINCT, ids=repr)
def test_equal_copies_have_equal_fingerprints(value: Any) -> None:
    digest = fingerprint_value(value)
    assert isinstance(digest, bytes)
    assert len(digest) == 32
    assert fingerprint_value(copy.deepcopy(value)) == digest


def test_dict_and_set_order_does_not_matter() -> None:
    keys = [f"key{i}" for i in range(50)]
    forward = {k: i for i, k in enumerate(keys)}
    backward = {k: forward[k] for k in reversed(keys)}
    assert list(forward) != list(backward)
    assert fingerprint_value(forward) == fingerprint_value(backward)
    # 1 and 9 share a slot in a small set, so insertion order shows in iteration.
    low_first, high_first = {1}, {9}
    low_first.add(9)
    high_first.add(1)
    assert list(low_first) != list(high_first)
    assert fingerprint_value(low_first) == fingerprint_value(high_first)
    assert fingerprint_value(frozenset(low_first)) == fingerprint_value(frozenset(high_first))
    assert fingerprint_value({"a": {1, 2}, "b": [forward]}) == fingerprint_value(
        {"b": [backward], "a": {2, 1}}
    )


def test_dict_values_are_paired_with_their_keys() -> None:
    assert fingerprint_value({"a": 1, "b": 2}) != fingerprint_value({"a": 2, "b": 1})


def test_ordered_dict_order_matters() -> None:
    assert fingerprint_value(OrderedDict(a=1, b=2)) != fingerprint_value(OrderedDict(b=2, a=1))


def test_nested_values_change_the_fingerprint() -> None:
    base = {"users": [Point(1, (2, 3)), APoint("a", {"k": [1.5]})]}
    changed = {"users": [Point(1, (2, 3)), APoint("a", {"k": [1.25]})]}
    assert fingerprint_value(base) != fingerprint_value(changed)
    assert fingerprint_value(base) == fingerprint_value(copy.deepcopy(base))


def test_bulk_lists_are_fast_and_exact() -> None:
    numbers = list(range(1_000_000))
    digest = fingerprint_value(numbers)
    numbers[500_000] = -1
    assert fingerprint_value(numbers) != digest
    numbers[500_000] = 500_000
    assert fingerprint_value(numbers) == digest
    assert fingerprint_value([*numbers[:999], True]) != fingerprint_value(numbers[:1000])
    assert fingerprint_value(tuple(numbers)) != digest
    floats = [0.5, -0.0, float("nan")]
    assert fingerprint_value(floats) != fingerprint_value([0.5, 0.0, float("nan")])


def test_large_bytes() -> None:
    data = bytes(10_000_000)
    assert fingerprint_value(data) == fingerprint_value(bytes(10_000_000))
    assert fingerprint_value(data) != fingerprint_value(data[:-1] + b"\x01")
    assert fingerprint_value(data) != fingerprint_value(bytearray(data))


def test_dataclass_extra_attributes_count() -> None:
    plain = Point(1, 2)
    tagged = Point(1, 2)
    tagged.note = "x"  # type: ignore[attr-defined]
    assert fingerprint_value(plain) != fingerprint_value(tagged)


class SlotBase:
    __slots__ = ("secret",)
    secret: int


@dataclasses.dataclass
class Slotted(SlotBase):
    x: int


@dataclasses.dataclass
class DictRecord(dict):  # type: ignore[type-arg]
    x: int


@dataclasses.dataclass(frozen=True, slots=True)
class Frozen:
    x: int


def test_slots_outside_the_fields_count() -> None:
    plain, hidden = Slotted(1), Slotted(1)
    hidden.secret = 5
    assert fingerprint_value(plain) != fingerprint_value(hidden)
    assert fingerprint_value(Frozen(1)) == fingerprint_value(Frozen(1))
    assert fingerprint_value(Frozen(1)) != fingerprint_value(Frozen(2))


def test_records_that_are_also_builtin_containers_are_refused() -> None:
    record = DictRecord(1)
    record["hidden"] = "state"
    with pytest.raises(Unfingerprintable, match="inherits from dict"):
        fingerprint_value(record)


def test_zoneinfo_datetimes() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        paris, tokyo = zoneinfo.ZoneInfo("Europe/Paris"), zoneinfo.ZoneInfo("Asia/Tokyo")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database on this machine")
    moment = datetime.datetime(2024, 1, 2, 3)
    assert fingerprint_value(moment.replace(tzinfo=paris)) != fingerprint_value(
        moment.replace(tzinfo=tokyo)
    )


@pytest.fixture
def open_socket() -> Iterator[socket.socket]:
    sock = socket.socket()
    yield sock
    sock.close()


def _generator() -> Iterator[int]:
    yield 1


@dataclasses.dataclass
class Holder:
    item: Any


class _UnsupportedTz(datetime.tzinfo):
    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return datetime.timedelta(0)

    def dst(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return datetime.timedelta(0)

    def tzname(self, dt: datetime.datetime | None) -> str:
        return "X"


@pytest.mark.parametrize(
    ("make", "type_name"),
    [
        (object, "object"),
        (lambda: lambda: 1, "function"),
        (lambda: _generator(), "generator"),
        (lambda: Opaque(1), f"{__name__}.Opaque"),
        (lambda: MyStr("a"), f"{__name__}.MyStr"),
        (lambda: [1, {"a": (Opaque(1),)}], f"{__name__}.Opaque"),
        (lambda: Holder(Opaque(1)), f"{__name__}.Opaque"),
        (lambda: {Opaque: 1}, "type"),
        (lambda: memoryview(b"a"), "memoryview"),
        (lambda: defaultdict(lambda: 0), "collections.defaultdict"),
        (lambda: datetime.datetime(2024, 1, 1, tzinfo=_UnsupportedTz()), "_UnsupportedTz"),
    ],
)
def test_unfingerprintable_values(make: Callable[[], Any], type_name: str) -> None:
    with pytest.raises(Unfingerprintable) as caught:
        fingerprint_value(make())
    assert caught.value.type_name.endswith(type_name)
    assert type_name.rsplit(".", 1)[-1] in str(caught.value)


def test_unfingerprintable_socket_and_file(open_socket: socket.socket, tmp_path: Any) -> None:
    with pytest.raises(Unfingerprintable) as caught:
        fingerprint_value({"conn": open_socket})
    assert caught.value.type_name == "socket.socket"
    with open(tmp_path / "f.txt", "w") as handle, pytest.raises(Unfingerprintable):
        fingerprint_value([handle])


def test_local_classes_are_refused() -> None:
    @dataclasses.dataclass
    class Local:
        x: int

    with pytest.raises(Unfingerprintable, match="inside a function"):
        fingerprint_value(Local(1))


def test_self_referential_containers_raise() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(Unfingerprintable, match="contains itself"):
        fingerprint_value(loop)
    mapping: dict[str, Any] = {}
    mapping["me"] = [mapping]
    with pytest.raises(Unfingerprintable):
        fingerprint_value(mapping)
    holder = Holder(None)
    holder.item = holder
    with pytest.raises(Unfingerprintable):
        fingerprint_value(holder)


def test_shared_references_are_not_cycles() -> None:
    shared = [1, 2]
    assert fingerprint_value([shared, shared]) == fingerprint_value([[1, 2], [1, 2]])


def test_deep_nesting_raises_instead_of_crashing() -> None:
    deep: Any = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(Unfingerprintable, match="deeper"):
        fingerprint_value(deep)
    shallow: Any = []
    for _ in range(50):
        shallow = {"x": shallow}
    fingerprint_value(shallow)


def test_numpy_arrays_and_scalars() -> None:
    np = pytest.importorskip(
        "numpy", reason="numpy is not installed; its fingerprint path is exercised only with it"
    )
    array = np.arange(12, dtype=np.int64).reshape(3, 4)
    assert fingerprint_value(array) == fingerprint_value(array.copy())
    # Equal values in another memory layout behave differently (ravel(order="K")).
    assert fingerprint_value(array.T) != fingerprint_value(np.ascontiguousarray(array.T))
    assert fingerprint_value(array.T) == fingerprint_value(np.asfortranarray(array.T.copy()))
    assert fingerprint_value(array[:, ::2]) != fingerprint_value(array[:, ::2].copy())
    assert fingerprint_value(array[::-1]) != fingerprint_value(array[::-1].copy())
    assert fingerprint_value(array) != fingerprint_value(array.reshape(4, 3))
    assert fingerprint_value(array) != fingerprint_value(array.astype(np.int32))
    assert fingerprint_value(array) != fingerprint_value(array.tolist())
    assert fingerprint_value(np.float64(1.0)) != fingerprint_value(1.0)
    assert fingerprint_value(np.float64(1.0)) != fingerprint_value(np.float32(1.0))
    assert fingerprint_value(np.float64(1.0)) != fingerprint_value(np.array([1.0]))
    with pytest.raises(Unfingerprintable):
        fingerprint_value(np.array([object()], dtype=object))


def test_numpy_is_not_imported_for_other_values() -> None:
    script = (
        "import sys\n"
        "from flowdsl._services.fingerprint import fingerprint_value\n"
        "fingerprint_value({'a': [1, 2.0, (3,)]})\n"
        "print('numpy' in sys.modules)\n"
    )
    assert _run(script).strip() == "False"


# --- code fingerprints -------------------------------------------------------


def _define(source: str, name: str = "f", **namespace: Any) -> Any:
    """Define a function from source, as if in a module with ``namespace``."""
    scope: dict[str, Any] = {"__name__": "fpmod", **namespace}
    exec(compile(textwrap.dedent(source), "<fpmod>", "exec"), scope)
    return scope[name]


BASE = """
def f(x, y=1, *, z=(1, 2)):
    def inner(a):
        return a * 3
    scale = lambda b: b + 4
    return [inner(i) + scale(y) for i in range(x)] + list(z)
"""


@pytest.mark.parametrize(
    "variant",
    [
        BASE.replace("a * 3", "a * 5"),
        BASE.replace("b + 4", "b + 6"),
        BASE.replace("for i in range(x)", "for i in range(x) if i"),
        BASE.replace("y=1", "y=2"),
        BASE.replace("z=(1, 2)", "z=(1, 3)"),
        BASE.replace("a * 3", "a - 3"),
        BASE.replace("list(z)", "sorted(z)"),
        BASE.replace("*, z", "z"),
    ],
)
def test_code_changes_change_the_fingerprint(variant: str) -> None:
    assert variant != BASE
    assert fingerprint_code(_define(variant)) != fingerprint_code(_define(BASE))


def test_moving_a_function_keeps_its_fingerprint() -> None:
    moved = "\n\n\n# a comment\n\n" + BASE
    original = _define(BASE)
    relocated = _define(moved)
    assert relocated.__code__.co_firstlineno != original.__code__.co_firstlineno
    scope: dict[str, Any] = {"__name__": "fpmod"}
    exec(compile(textwrap.dedent(BASE), "/elsewhere/other.py", "exec"), scope)
    assert fingerprint_code(relocated) == fingerprint_code(original)
    assert fingerprint_code(scope["f"]) == fingerprint_code(original)


def test_globals_and_helpers_are_covered() -> None:
    source = """
    def helper(x):
        return x * FACTOR
    def f(x):
        return helper(x) + OFFSET
    """
    first = fingerprint_code(_define(source, FACTOR=2, OFFSET=1))
    assert fingerprint_code(_define(source, FACTOR=2, OFFSET=1)) == first
    assert fingerprint_code(_define(source, FACTOR=3, OFFSET=1)) != first
    assert fingerprint_code(_define(source, FACTOR=2, OFFSET=5)) != first
    changed = source.replace("x * FACTOR", "x ** FACTOR")
    assert fingerprint_code(_define(changed, FACTOR=2, OFFSET=1)) != first


def test_modules_classes_loggers_library_functions_and_recursion() -> None:
    source = """
    import json
    from json import dumps
    log = logging.getLogger("flowdsl.test")
    MISSING = object()
    def f(x, default=MISSING):
        log.debug("called")
        if x == 0:
            return Point(0, 0)
        return f(x - 1), json.loads(dumps(x)), cached(x)
    """
    cached = functools.lru_cache(maxsize=None)(_define("def f(x):\n    return x"))
    digest = fingerprint_code(_define(source, logging=logging, Point=Point, cached=cached))
    again = fingerprint_code(_define(source, logging=logging, Point=Point, cached=cached))
    assert digest == again
    assert fingerprint_code(_define(source, logging=logging, Point=Other, cached=cached)) != digest


def test_mutual_recursion_terminates() -> None:
    source = """
    def even(n):
        return True if n == 0 else odd(n - 1)
    def odd(n):
        return False if n == 0 else even(n - 1)
    """
    even = _define(source, "even")
    assert fingerprint_code(even) == fingerprint_code(_define(source, "even"))
    assert fingerprint_code(even) != fingerprint_code(_define(source, "odd"))


def test_unfingerprintable_globals_refuse_the_function(open_socket: socket.socket) -> None:
    f = _define("def f(x):\n    return CONN.send(x)", CONN=open_socket)
    with pytest.raises(Unfingerprintable) as caught:
        fingerprint_code(f)
    assert caught.value.type_name == "socket.socket"


def _make_closure(value: Any) -> Callable[[int], Any]:
    def scaled(x: int) -> Any:
        return x * value

    return scaled


def test_closure_values_are_covered() -> None:
    assert fingerprint_code(_make_closure(2)) == fingerprint_code(_make_closure(2))
    assert fingerprint_code(_make_closure(2)) != fingerprint_code(_make_closure(3))
    assert fingerprint_code(_make_closure([1, 2])) != fingerprint_code(_make_closure([1, 3]))
    assert fingerprint_code(_make_closure(_make_closure(2))) != fingerprint_code(
        _make_closure(_make_closure(3))
    )
    with pytest.raises(Unfingerprintable):
        fingerprint_code(_make_closure(Opaque(1)))


def test_wrapped_functions_follow_the_wrapped_code() -> None:
    def decorate(fn: Callable[[int], int]) -> Callable[[int], int]:
        @functools.wraps(fn)
        def wrapper(x: int) -> int:
            return fn(x)

        return wrapper

    one = decorate(_define("def f(x):\n    return x + 1"))
    two = decorate(_define("def f(x):\n    return x + 2"))
    assert fingerprint_code(one) != fingerprint_code(two)


def test_defaults_fall_back_to_an_address_free_repr() -> None:
    source = "def f(x, cfg=CFG):\n    return cfg.level + x"
    low = fingerprint_code(_define(source, CFG=Config(1)))
    assert fingerprint_code(_define(source, CFG=Config(1))) == low
    assert fingerprint_code(_define(source, CFG=Config(2))) != low
    with pytest.raises(Unfingerprintable):
        fingerprint_code(_define(source, CFG=Opaque(1)))


def test_methods_partials_and_builtins() -> None:
    point = Point(1, 2)
    method = _define("def area(self):\n    return self.x * self.y", "area")
    Bound = type("Bound", (), {"area": method, "__module__": __name__})
    with pytest.raises(Unfingerprintable):
        fingerprint_code(Bound().area)
    f = _define(BASE)
    assert fingerprint_code(functools.partial(f, 1)) != fingerprint_code(functools.partial(f, 2))
    assert fingerprint_code(functools.partial(f, 1)) != fingerprint_code(f)
    assert fingerprint_code(len) != fingerprint_code(abs)
    # Followed as the function itself: it reads a module-level encoder object.
    with pytest.raises(Unfingerprintable, match="JSONEncoder"):
        fingerprint_code(json.dumps)
    assert fingerprint_code(point.__eq__) == fingerprint_code(Point(1, 2).__eq__)
    assert fingerprint_code(point.__eq__) != fingerprint_code(Point(1, 3).__eq__)


def test_cache_key() -> None:
    one, two = fingerprint_value(1), fingerprint_value(2)
    key = cache_key("v", "abc", None, [("a", one), ("b", two)])
    assert re.fullmatch("[0-9a-f]{64}", key)
    assert cache_key("v", "abc", None, [("b", two), ("a", one)]) == key
    others = {
        cache_key("w", "abc", None, [("a", one), ("b", two)]),
        cache_key("v", "abd", None, [("a", one), ("b", two)]),
        cache_key("v", "abc", "", [("a", one), ("b", two)]),
        cache_key("v", "abc", "1", [("a", one), ("b", two)]),
        cache_key("v", "abc", None, [("a", two), ("b", one)]),
        cache_key("v", "abc", None, [("a", one)]),
        cache_key("v", "abc", None, []),
    }
    assert key not in others
    assert len(others) == 7


# --- across processes --------------------------------------------------------

MODULE = """
import dataclasses, datetime, decimal, enum, uuid

@dataclasses.dataclass
class Item:
    name: str
    tags: frozenset

class Mode(enum.Enum):
    FAST = "fast"

LIMIT = 10

def helper(x):
    return x[:LIMIT]

def vertex(name, words=("a", "b"), *, mode=Mode.FAST):
    cleaned = {w.strip(): len(w) for w in words}
    return helper(name.lower()), cleaned, sorted({c for c in name})

VALUE = {
    "words": {"alpha", "beta", "gamma", "delta"},
    "index": {"k" + str(i): [i, float(i), str(i)] for i in range(20)},
    "item": Item("x", frozenset({"p", "q", "r"})),
    "mode": Mode.FAST,
    "when": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
    "money": decimal.Decimal("12.50"),
    "id": uuid.UUID(int=7),
    "ints": list(range(1000)),
}
"""

SCRIPT = """
import importlib.util, sys
from flowdsl._services.fingerprint import fingerprint_code, fingerprint_value
spec = importlib.util.spec_from_file_location("fpshared", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["fpshared"] = module
spec.loader.exec_module(module)
print(fingerprint_value(module.VALUE).hex())
print(fingerprint_code(module.vertex))
"""


def _run(script: str, *args: str, seed: str = "0") -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _load(path: pathlib.Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("fpshared", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fpshared"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["fpshared"]
    return module


def test_fingerprints_are_stable_across_processes(tmp_path: pathlib.Path) -> None:
    here = tmp_path / "here" / "fpshared.py"
    there = tmp_path / "there" / "fpshared.py"
    here.parent.mkdir()
    there.parent.mkdir()
    here.write_text(MODULE)
    # The subprocess loads the same source from another file, lower down.
    there.write_text("\n\n\n" + MODULE)
    module = _load(here)
    expected = [fingerprint_value(module.VALUE).hex(), fingerprint_code(module.vertex)]
    for seed in ("1", "12345"):
        assert _run(SCRIPT, str(there), seed=seed).split() == expected
