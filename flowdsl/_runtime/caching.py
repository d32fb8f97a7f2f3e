"""Pure-function caching around a step's call: a hit never runs the vertex, a doubt never caches.

Only ``@vertex(pure=True)`` steps are cached. The key covers the vertex's
identity, a fingerprint of its code (and of the globals and closures it
reads), its ``version=`` and a fingerprint of every argument. A value or a
function that cannot be fingerprinted reliably is never cached: the vertex
runs, and one ``CacheWarning`` names the vertex and the type.

Identical keys computed at the same time, in this process, run once (single
flight): the others wait for the first and take its stored value. Runs that
each open a SQLite cache by path share their flights through the file.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._lazy import lazy_module
from .._services.cache import CacheStore, MemoryCache, SQLiteCache
from .._services.code_stamp import Stamp, code_stamp, same_stamp
from .._services.fingerprint import (
    CodeFingerprint,
    Unfingerprintable,
    cache_keys,
    code_fingerprint,
    fingerprint_value,
)
from ..errors import CacheWarning
from .checking import Invoker
from .plan import Step, gather
from .state import RunState

if TYPE_CHECKING:
    import anyio
    import anyio.to_thread
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = ["CachedCall", "default_cache", "open_store", "run_invokers", "through_cache"]

_DEFAULT_SIZE = 4096
_default: MemoryCache | None = None
_default_lock = threading.Lock()


def default_cache() -> MemoryCache:
    """The process-wide in-memory store that ``run(cache=True)`` uses (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MemoryCache(maxsize=_DEFAULT_SIZE)
        return _default


def open_store(option: Any) -> tuple[CacheStore | None, Callable[[], None]]:
    """The store a checked ``cache=`` option names, and how to close it after the run."""
    if option is False:
        return None, _nothing
    if option is True:
        return default_cache(), _nothing
    if isinstance(option, (str, os.PathLike)):
        store = SQLiteCache(option)
        return store, store.close
    store_object: CacheStore = option
    return store_object, _nothing


def _nothing() -> None:
    return None


def _flight_of(store: CacheStore) -> object:
    # Runs given one path each open their own SQLiteCache: their flights are
    # shared through the file. Other stores are shared by being one object.
    if isinstance(store, SQLiteCache):
        return os.path.realpath(store.path)
    return id(store)


class _Flights:
    """Keys being computed right now in this process, each with an event set when done."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[tuple[object, str], threading.Event] = {}

    @contextmanager
    def claim(self, store: object, key: str) -> Iterator[threading.Event | None]:
        """Yield ``None`` to the caller that computes ``key`` in ``store`` (a file or an
        object, see ``_flight_of``), else the event to wait on."""
        flight = (store, key)
        with self._lock:
            running = self._running.get(flight)
            if running is None:
                mine = self._running[flight] = threading.Event()
        if running is not None:
            yield running
            return
        try:
            yield None
        finally:
            with self._lock:
                del self._running[flight]
            mine.set()


_FLIGHTS = _Flights()

KeyMaker = Callable[[Sequence[bytes]], str]

#: Exact types whose fingerprint is a function of the value alone, and whose
#: equal values are the same value (unlike 0.0 and -0.0): their keys are kept.
_SCALARS = frozenset({int, bool, type(None)})
_TEXTS = frozenset({str, bytes})
#: Longer texts are not kept (the kept keys hold their arguments).
_KEPT_TEXT = 256
_KEPT_KEYS = 4096


def _keepable(value: Any) -> bool:
    cls = type(value)
    return cls in _SCALARS or (cls in _TEXTS and len(value) <= _KEPT_TEXT)


class CallKeys:
    """The cache keys of one step's calls, kept for small plain arguments.

    A key is a hash of the step's code fingerprint and its arguments'
    fingerprints; for arguments that are small ints, strings, bytes, bools or
    None it is kept, keyed by their exact types and values, so a repeated call
    skips fingerprinting and hashing.
    """

    def __init__(self, make: KeyMaker, code: CodeFingerprint, stamp: Stamp | None) -> None:
        self.make = make
        self.kept: dict[tuple[Any, ...], str] = {}
        # The code fingerprint the keys hash, with the values it read, and the
        # stamp it was taken under (to tell cheaply that none was rebound since).
        self.code = code
        self.stamp = stamp

    def of(self, arguments: tuple[Any, ...]) -> str:
        """The key of a call with these arguments (raises ``Unfingerprintable``)."""
        keep = all(map(_keepable, arguments))
        if keep:
            exact = (*map(type, arguments), *arguments)
            found = self.kept.get(exact)
            if found is not None:
                return found
        key = self.make([fingerprint_value(value) for value in arguments])
        if keep:
            if len(self.kept) >= _KEPT_KEYS:
                self.kept.clear()
            self.kept[exact] = key
        return key


#: Per step of a plan, its call keys and the stamp of what its code read then.
_known_keys: weakref.WeakKeyDictionary[Step, tuple[Stamp, CallKeys]] = weakref.WeakKeyDictionary()


def _call_keys(step: Step) -> CallKeys | None:
    """How ``step``'s calls are keyed in this run: its code fingerprint taken
    (``None``, with a warning, if it cannot be) and hashed with its identity."""
    # The globals and closure cells a function reads may have changed since
    # the last run: the fingerprint is reused only while its stamp (every
    # object it read, none of which can change in place) is the same.
    stamp = code_stamp(step.function)
    known = _known_keys.get(step)
    if known is not None and same_stamp(known[0], stamp):
        return known[1]
    function = step.function
    try:
        code = code_fingerprint(function)
    except Unfingerprintable as exc:
        _warn(step, f"its code reads a {exc.type_name}, which cannot be fingerprinted")
        return None
    identity = f"{function.__module__}.{function.__qualname__}:{step.node.name}"
    names = [binding.parameter for binding in step.sources]
    keys = CallKeys(
        cache_keys(identity, code.digest, step.node.options.version, names), code, stamp
    )
    if stamp is not None and same_stamp(stamp, code_stamp(function)):
        _known_keys[step] = (stamp, keys)  # nothing changed while the fingerprint was taken
    return keys


def _warn(step: Step, why: str) -> None:
    node = step.node
    warnings.warn_explicit(
        f"vertex {node.name!r} is not cached: {why}",
        CacheWarning,
        node.location.file,
        node.location.line,
    )


class CachedCall:
    """What one pure step needs to look itself up in the store."""

    def __init__(self, state: RunState, step: Step, keys: CallKeys, store: CacheStore) -> None:
        self.state = state
        self.step = step
        self.store = store
        self.flight = _flight_of(store)
        self.keys = keys
        # Whether to look, once in this run, after the first call computed,
        # for a value the code reads that the call changed.
        self.watching = bool(keys.code.reads)

    def key(self, values: list[Any]) -> str | None:
        """The cache key of this call, or ``None`` (with a warning) if it has none."""
        return self.key_of(*gather(self.step, values))

    def key_of(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str | None:
        """The cache key of a call with these arguments, or ``None`` (with a warning)."""
        try:
            return self.keys.of((*args, *kwargs.values()))
        except Unfingerprintable as exc:
            self.record("uncacheable")
            why = f": {exc.detail}" if exc.detail else ""
            _warn(
                self.step,
                f"an argument holds a {exc.type_name}, which cannot be fingerprinted{why}",
            )
            return None

    def lookup(self, key: str) -> tuple[bool, Any]:
        """The stored value of ``key``, recording a hit."""
        hit, value = self.store.get(key)
        if hit:
            self.record("hit")
            if self.state.emitter is not None:
                self.state.emitter.cache_hit(self.step.name)
        return hit, value

    def store_value(self, key: str, value: Any) -> Any:
        """Store a freshly computed value, recording a miss; return the value."""
        self.store.set(key, value)
        self.record("miss")
        if self.watching:
            self.watching = False
            _warn_changed_reads(self.step, self.keys)
        return value

    def record(self, outcome: str) -> None:
        """Note an outcome; of a vertex called many times (mapped, looped) the worst one stays."""
        self.state.cache_outcome(self.step.position, outcome)


#: (vertex identity, value) pairs already warned about as changed by their own call.
_CHANGED_READS: set[tuple[str, str]] = set()
_changed_lock = threading.Lock()


def _warn_changed_reads(step: Step, keys: CallKeys) -> None:
    """Warn (once per vertex and value, per process) when a value the code reads changed
    during its call: the keys cover it, so what the call stored is keyed by a state that
    is gone, and later runs will never find it."""
    function = step.function
    if keys.stamp is not None and same_stamp(keys.stamp, code_stamp(function)):
        return  # only immutable values read, and none rebound
    try:
        after = code_fingerprint(function)
    except Unfingerprintable:
        return  # the next run reports it
    if after.digest == keys.code.digest:
        return
    identity = f"{function.__module__}.{function.__qualname__}:{step.node.name}"
    before = keys.code.reads
    changed = [name for name, digest in before.items() if after.reads.get(name) != digest]
    with _changed_lock:
        fresh = [name for name in changed if (identity, name) not in _CHANGED_READS]
        _CHANGED_READS.update((identity, name) for name in fresh)
    node = step.node
    for name in fresh:
        warnings.warn_explicit(
            f"vertex {node.name!r} reads the {name}, which changed while the vertex ran "
            f"(does it change it?): the cache key covers that value, so what it cached will "
            f"never be found again. Keep such state out of a pure vertex, or drop pure=True",
            CacheWarning,
            node.location.file,
            node.location.line,
        )


def _cached(cached: CachedCall, inner: Invoker) -> Invoker:
    def invoke(values: list[Any]) -> Any:
        key = cached.key(values)
        if key is None:
            return inner(values)
        hit, value = cached.lookup(key)
        if hit:
            return value
        with _FLIGHTS.claim(cached.flight, key) as running:
            if running is not None:
                running.wait()
                hit, value = cached.lookup(key)
                if hit:
                    return value
            return cached.store_value(key, inner(values))

    return invoke


async def through_cache(cached: CachedCall, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
    """The stored value of ``key``, or ``await compute()`` stored under it (single flight)."""
    hit, value = cached.lookup(key)
    if hit:
        return value
    with _FLIGHTS.claim(cached.flight, key) as running:
        if running is not None:
            # Wait on a worker thread: the loop keeps running meanwhile.
            await anyio.to_thread.run_sync(running.wait, abandon_on_cancel=True)
            hit, value = cached.lookup(key)
            if hit:
                return value
        return cached.store_value(key, await compute())


def _cached_async(cached: CachedCall, inner: Invoker) -> Invoker:
    async def invoke(values: list[Any]) -> Any:
        key = cached.key(values)
        if key is None:
            return await inner(values)
        return await through_cache(cached, key, functools.partial(inner, values))

    return invoke


def _cached_call(state: RunState, step: Step) -> CachedCall | None:
    """How ``step`` looks itself up in the run's store (``None``: not cached in this run)."""
    store = state.cache_store
    if store is None or not step.node.options.pure:
        return None
    keys = _call_keys(step)
    if keys is None:
        state.cache_outcome(step.position, "uncacheable")
        return None
    return CachedCall(state, step, keys, store)


def run_invokers(
    state: RunState,
) -> tuple[tuple[Invoker | None, ...], dict[int, CachedCall]]:
    """Per step, the invoker a run calls (contract checks, then caching) or ``None``;
    and, per cached step, how it looks itself up.

    ``None`` means the plain ``step.invoke`` will do, so the schedulers keep
    their fast path.
    """
    plan = state.plan
    checked = state.call_plan.invokers
    if state.cache_store is None:
        return checked, {}
    result = list(checked)
    lookups: dict[int, CachedCall] = {}
    for step in plan.steps:
        cached = _cached_call(state, step)
        if cached is None:
            continue
        lookups[step.position] = cached
        inner = checked[step.position] or step.invoke
        wrap = _cached_async if step.is_async else _cached
        result[step.position] = wrap(cached, inner)
    return tuple(result), lookups
