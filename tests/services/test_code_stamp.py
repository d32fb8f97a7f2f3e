"""Code stamps: what a code fingerprint read, compared by identity; none where a value could
change in place."""

from __future__ import annotations

import functools
from typing import Any

from flowdsl._services.code_stamp import code_stamp, same_stamp
from flowdsl._services.fingerprint import cache_key, cache_keys, fingerprint_value

LIMIT = 10
NAMES = ("a", "b")
SEEN: list[int] = []


def _reads_constants(x: int) -> int:
    return x + LIMIT + len(NAMES)


def _reads_a_list(x: int) -> int:
    return x + len(SEEN)


def test_a_function_reading_constants_has_a_stable_stamp() -> None:
    assert same_stamp(code_stamp(_reads_constants), code_stamp(_reads_constants))


def test_a_rebound_global_changes_the_stamp() -> None:
    global LIMIT
    before = code_stamp(_reads_constants)
    LIMIT = 11
    try:
        assert not same_stamp(before, code_stamp(_reads_constants))
    finally:
        LIMIT = 10


def test_what_could_change_in_place_has_no_stamp() -> None:
    assert code_stamp(_reads_a_list) is None
    assert code_stamp(functools.partial(_reads_constants, 1)) is None
    assert not same_stamp(None, None)


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
