"""``flowdsl.fingerprint.register``: users' own types in cache keys."""

from __future__ import annotations

import pytest

import flowdsl
import flowdsl.fingerprint
from flowdsl import vertex
from flowdsl._services._fingerprint_hooks import _registered, _resolved
from flowdsl._services.fingerprint import Unfingerprintable, fingerprint_value
from tests.runtime import _probe as probe


class Money:
    def __init__(self, cents: int, currency: str) -> None:
        self.cents, self.currency = cents, currency


class Euro(Money):
    def __init__(self, cents: int) -> None:
        super().__init__(cents, "EUR")


class Point:
    def __init__(self, x: float, y: float) -> None:
        self.x, self.y = x, y


class Handle:
    pass


class Broken:
    pass


@pytest.fixture(autouse=True)
def _forget_registrations() -> object:
    before = dict(_registered)
    yield None
    _registered.clear()
    _registered.update(before)
    _resolved.clear()


def test_an_unregistered_type_cannot_be_fingerprinted() -> None:
    with pytest.raises(Unfingerprintable):
        fingerprint_value(Money(100, "EUR"))


def test_registered_values_are_fingerprinted_by_their_token() -> None:
    flowdsl.fingerprint.register(Money, lambda m: (m.cents, m.currency))
    assert fingerprint_value(Money(100, "EUR")) == fingerprint_value(Money(100, "EUR"))
    assert fingerprint_value(Money(100, "EUR")) != fingerprint_value(Money(101, "EUR"))
    # The class is part of the key: equal tokens of two types never meet.
    assert fingerprint_value(Money(100, "EUR")) != fingerprint_value((100, "EUR"))


def test_subclasses_follow_their_base_unless_registered_themselves() -> None:
    flowdsl.fingerprint.register(Money, lambda m: (m.cents, m.currency))
    assert fingerprint_value(Euro(100)) == fingerprint_value(Euro(100))
    assert fingerprint_value(Euro(100)) != fingerprint_value(Money(100, "EUR"))
    # Its own registration wins: this token ignores the amount, so all Euros meet.
    flowdsl.fingerprint.register(Euro, lambda e: "any euro")
    assert fingerprint_value(Euro(100)) == fingerprint_value(Euro(51))


def test_register_as_a_decorator_returns_the_function() -> None:
    @flowdsl.fingerprint.register(Point)
    def point_token(p: Point) -> tuple[float, float]:
        return (p.x, p.y)

    assert point_token(Point(1, 2)) == (1, 2)
    assert fingerprint_value([Point(1, 2)]) != fingerprint_value([Point(1, 3)])


def test_tokens_may_hold_other_registered_values() -> None:
    flowdsl.fingerprint.register(Point, lambda p: (p.x, p.y))
    flowdsl.fingerprint.register(Money, lambda m: {"at": Point(m.cents, 0)})
    assert fingerprint_value(Money(1, "x")) != fingerprint_value(Money(2, "x"))


def test_registering_a_builtin_or_a_non_class_is_refused() -> None:
    with pytest.raises(TypeError, match="fingerprints int values itself"):
        flowdsl.fingerprint.register(int, lambda v: v)
    with pytest.raises(TypeError, match="takes a class"):
        flowdsl.fingerprint.register("Money", lambda v: v)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="must be callable"):
        flowdsl.fingerprint.register(Money, 3)  # type: ignore[call-overload]


def test_a_token_that_cannot_be_fingerprinted_is_refused() -> None:
    flowdsl.fingerprint.register(Handle, lambda h: object.__new__(Broken))
    with pytest.raises(Unfingerprintable):
        fingerprint_value(Handle())


def test_a_token_that_is_the_value_itself_is_refused_not_a_crash() -> None:
    flowdsl.fingerprint.register(Handle, lambda h: h)
    with pytest.raises(Unfingerprintable, match="nested"):
        fingerprint_value(Handle())


def test_a_pure_vertex_on_a_registered_type_is_cached() -> None:
    flowdsl.fingerprint.register(Money, lambda m: (m.cents, m.currency))
    probe.calls = []

    @vertex(pure=True)
    def in_euros(price: Money) -> float:
        probe.calls.append(price.cents)
        return price.cents / 100

    flow = flowdsl.Flow.from_functions(in_euros)
    store = flowdsl.MemoryCache()
    for cents in (250, 250, 300):
        flow.run({"price": Money(cents, "EUR")}, cache=store)
    assert probe.calls == [250, 300]


def test_a_failing_token_function_runs_the_vertex_uncached_with_a_warning() -> None:
    def token(m: Money) -> object:
        raise RuntimeError("no network")

    flowdsl.fingerprint.register(Money, token)

    @vertex(pure=True)
    def cents(price: Money) -> int:
        return price.cents

    flow = flowdsl.Flow.from_functions(cents)
    with pytest.warns(flowdsl.CacheWarning, match=r"token function .*token raised RuntimeError"):
        result = flow.run({"price": Money(5, "EUR")}, cache=flowdsl.MemoryCache())
    assert result["cents"] == 5
