"""Code stamps: where a code fingerprint read from, looked at again by identity; none where a
value could change in place."""

from __future__ import annotations

import functools
from typing import Any

from flowdsl._services.code_stamp import Stamp, code_stamp, joined
from flowdsl._services.fingerprint import cache_key, cache_keys, fingerprint_value

LIMIT = 10
NAMES = ("a", "b")
SEEN: list[int] = []


def _reads_constants(x: int) -> int:
    return x + LIMIT + len(NAMES)


def _reads_a_list(x: int) -> int:
    return x + len(SEEN)


def _stamp(fn: Any) -> Stamp:
    stamp = code_stamp(fn)
    assert stamp is not None
    return stamp


def test_a_function_reading_constants_has_a_stable_stamp() -> None:
    assert _stamp(_reads_constants).holds()
    assert joined([_stamp(_reads_constants), _stamp(_reads_constants)]).holds()


def test_a_rebound_global_breaks_the_stamp() -> None:
    global LIMIT
    before = _stamp(_reads_constants)
    LIMIT = 11
    try:
        assert not before.holds()
        assert not joined([_stamp(_reads_a_tuple), before]).holds()
    finally:
        LIMIT = 10
    assert before.holds()  # the very same object back


def test_what_could_change_in_place_has_no_stamp() -> None:
    assert code_stamp(_reads_a_list) is None
    assert code_stamp(functools.partial(_reads_constants, 1)) is None


PAIR = (1, "a")


def _reads_a_tuple() -> int:
    return PAIR[0]


def _scale(x: int) -> int:
    return x * LIMIT


def _outer(x: int) -> int:
    return _scale(x)


def _make_adder(amount: int) -> Any:
    def add(x: int, *, more: int = 0) -> int:
        return x + amount + more

    def set_amount(value: int) -> None:
        nonlocal amount
        amount = value

    return add, set_amount


def test_every_place_the_fingerprint_reads_breaks_the_stamp() -> None:
    global LIMIT, _scale
    stamp = _stamp(_outer)
    LIMIT = 12  # a global of a function it calls
    try:
        assert not stamp.holds()
    finally:
        LIMIT = 10
    assert stamp.holds()
    original = _scale.__code__
    _scale.__code__ = _reads_constants.__code__  # the called function's code
    try:
        assert not stamp.holds()
    finally:
        _scale.__code__ = original
    saved = _scale
    _scale = lambda x: x  # noqa: E731 - the called function rebound
    try:
        assert not stamp.holds()
    finally:
        _scale = saved
    assert stamp.holds()

    add, set_amount = _make_adder(1)
    closure = _stamp(add)
    set_amount(2)  # a closure cell
    assert not closure.holds()
    closure = _stamp(add)
    add.__kwdefaults__["more"] = 1  # a keyword default, in place
    assert not closure.holds()
    closure = _stamp(add)
    add.__kwdefaults__["other"] = 1  # a keyword default added
    assert not closure.holds()
    closure = _stamp(add)
    add.__defaults__ = (1,)
    assert not closure.holds()
    closure = _stamp(add)
    add.__qualname__ = "renamed"  # part of the key's identity
    assert not closure.holds()


def test_cache_keys_match_cache_key_and_the_pinned_format() -> None:
    digests = [fingerprint_value(2), fingerprint_value("x")]
    inputs: list[tuple[str, Any]] = list(zip(["b", "a"], digests, strict=True))
    key = cache_keys("v", "abc", None, ["b", "a"])(digests)
    assert key == cache_key("v", "abc", None, inputs)
    # Keys written by earlier versions of this format stay readable.
    assert key == "3212341a0c548773796e9140dab017eff2f56039ea68b24a854c4da84fb8af83"
    assert cache_key("v", "abc", "1", []) == (
        "9747fa0d1827098c864a9c8c8ef69e2a3fc9b020e31ba79cb75f238b2d8e6291"
    )


def test_kept_call_keys_are_the_computed_keys_and_never_mix_types() -> None:
    from flowdsl._runtime.caching import CallKeys
    from flowdsl._services.fingerprint import CodeFingerprint

    make = cache_keys("v", "abc", None, ["x"])
    keys = CallKeys(make, CodeFingerprint("abc", {}), None)
    values: list[Any] = [1, True, 1.0, 0.0, -0.0, "1", b"1", None, "x" * 1000, (1,)]
    for _ in range(2):  # computed, then (for the small plain ones) kept
        found = [keys.of((value,)) for value in values]
        assert found == [make([fingerprint_value(value)]) for value in values]
        assert len(set(found)) == len(values)
    assert len(keys.kept) == 5  # 1, True, "1", b"1", None; not floats, long text, tuples
