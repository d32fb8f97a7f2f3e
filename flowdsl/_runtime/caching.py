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
from typing import TYPE_CHECKING, Any, NamedTuple

from .._events import CacheHit
from .._lazy import lazy_module
from .._services.cache import ABSENT, CacheStore, MemoryCache, SQLiteCache
from .._services.code_stamp import Stamp, code_stamp, joined
from .._services.fingerprint import (
    CodeFingerprint,
    Unfingerprintable,
    cache_keys,
    code_fingerprint,
    fingerprint_value,
)
from ..errors import CacheWarning
from .check_log import current_checks
from .checking import Invoker
from .plan import Plan, Step, gather
from .state import RunState

if TYPE_CHECKING:
    import anyio
    import anyio.to_thread
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = [
    "CachedCall",
    "CallKeys",
    "RunLookups",
    "default_cache",
    "open_store",
    "run_invokers",
    "through_cache",
]

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
_KEPT_TYPES = _SCALARS | _TEXTS
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
    None it is kept in ``kept``, under their exact types then their values
    (``(int, str, 1, "a")``), so a repeated call skips fingerprinting and hashing.
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


def _call_keys(step: Step) -> CallKeys | None:
    """How ``step``'s calls are keyed: its code fingerprint taken (``None``, with a
    warning, if it cannot be) and hashed with its identity."""
    function = step.function
    stamp = code_stamp(function)
    try:
        code = code_fingerprint(function)
    except Unfingerprintable as exc:
        _warn(step, f"its code reads a {exc.type_name}, which cannot be fingerprinted")
        return None
    identity = f"{function.__module__}.{function.__qualname__}:{step.node.name}"
    names = [binding.parameter for binding in step.sources]
    if stamp is not None and not stamp.holds():
        stamp = None  # something changed while the fingerprint was taken: take it next run
    return CallKeys(
        cache_keys(identity, code.digest, step.node.options.version, names), code, stamp
    )


class _PlanKeys:
    """The call keys of one plan's pure steps, kept between runs while their stamps hold.

    A step's code fingerprint (the globals and closure cells its function
    reads, which may change between runs) is taken again only when its stamp
    no longer holds, or on every run when it has none. One joined stamp of the
    whole plan is looked at per run.
    """

    def __init__(self, plan: Plan) -> None:
        self.pure = tuple(step for step in plan.steps if step.node.options.pure)
        self.size = len(plan.steps)
        self.lock = threading.Lock()
        # Replaced whole, so that a run reads a consistent set without the lock:
        # per position, its keys (None: not pure, or uncacheable); the joined stamp of
        # the kept ones; whether some step is keyed again on every run; and a
        # number that changes whenever a step's keys do.
        self.current: _Keys | None = None

    def keys(self) -> _Keys:
        """Each step's keys for a run starting now."""
        current = self.current
        if current is not None and not current.every_run and current.stamp.holds():
            return current
        with self.lock:
            current = self.current = self._refreshed(self.current)
            return current

    def _refreshed(self, current: _Keys | None) -> _Keys:
        if current is None:
            keys: list[CallKeys | None] = [None] * self.size
            some_stale = True
        else:
            keys = list(current.keys)
            # Each step's own stamp is looked at only when the joined one broke.
            some_stale = not current.stamp.holds()
        every_run = restamped = False
        for step in self.pure:
            known = keys[step.position]
            if known is None or known.stamp is None or (some_stale and not known.stamp.holds()):
                fresh = keys[step.position] = _call_keys(step)
                restamped = restamped or _stamped(known) or _stamped(fresh)
                known = fresh
            every_run = every_run or not _stamped(known)
        if current is None or restamped:
            stamp = joined(k.stamp for k in keys if k is not None and k.stamp is not None)
        else:
            stamp = current.stamp  # the same stamps as before: keyed again were unstamped ones
        version = 0 if current is None else current.version + 1
        return _Keys(tuple(keys), stamp, every_run, version)


def _stamped(keys: CallKeys | None) -> bool:
    return keys is not None and keys.stamp is not None


class _Keys(NamedTuple):
    """A plan's keys at some point (see ``_PlanKeys.current``)."""

    keys: tuple[CallKeys | None, ...]
    stamp: Stamp
    every_run: bool
    version: int


_plan_keys: weakref.WeakKeyDictionary[Plan, _PlanKeys] = weakref.WeakKeyDictionary()
_plan_keys_lock = threading.Lock()


def _keys_of(plan: Plan) -> _PlanKeys:
    found = _plan_keys.get(plan)
    if found is None:
        with _plan_keys_lock:
            found = _plan_keys.setdefault(plan, _PlanKeys(plan))
    return found


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
    if keys.stamp is not None and keys.stamp.holds():
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


def _through_cache_sync(cached: CachedCall, inner: Invoker, values: list[Any]) -> Any:
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


async def _through_cache_async(cached: CachedCall, inner: Invoker, values: list[Any]) -> Any:
    key = cached.key(values)
    if key is None:
        return await inner(values)
    return await through_cache(cached, key, functools.partial(inner, values))


def _cached(cached: CachedCall, inner: Invoker) -> Invoker:
    """``inner`` behind the cache, for one run (see ``CachedCall``)."""
    through = _through_cache_async if cached.step.is_async else _through_cache_sync
    return functools.partial(through, cached, inner)


# A hit without listeners: the fast invokers below are kept between runs (per
# store and plan), so they hold nothing of a run; they find it, when they need
# it, in the context variable the executor sets for the run (``check_log``).

#: What a fast invoker reads a key with: the stored value, or ``ABSENT``.
Reader = Callable[[str], Any]


def _slow_call(position: int, values: list[Any]) -> Any:
    # A fast invoker's call that it could not answer alone: the whole path, in this run.
    state = current_checks.get()
    assert state is not None  # invokers run inside their run
    step = state.plan.steps[position]
    # The plan's latest keys (set when this run started, or since by another run).
    current = _keys_of(state.plan).current
    keys = None if current is None else current.keys[position]
    inner = state.call_plan.invokers[position] or step.invoke
    if keys is None or state.cache_store is None:
        return inner(values)
    cached = CachedCall(state, step, keys, state.cache_store)
    through = _through_cache_async if step.is_async else _through_cache_sync
    return through(cached, inner, values)


def _absent(position: int, values: list[Any]) -> Any:
    return ABSENT


def _finder(
    step: Step,
    kept: dict[tuple[Any, ...], str],
    read: Reader,
    miss: Callable[[int, list[Any]], Any],
) -> Invoker:
    """``find(values)``: the stored value of ``step``'s call on ``values`` when its key is
    kept (the outcome recorded), else ``miss(position, values)``."""
    position, fetch, state_of = step.position, step.fetch, current_checks.get
    if fetch is None:  # keyword arguments or fields: the key is found the long way
        return functools.partial(miss, position)
    if step.unary:

        def find_unary(values: list[Any]) -> Any:
            argument = fetch(values)
            cls = type(argument)
            # Hashing only plain exact types: no user code runs here.
            if cls in _KEPT_TYPES:
                key = kept.get((cls, argument))
                if key is not None:
                    value = read(key)
                    if value is not ABSENT:
                        state_of().cache_outcomes.setdefault(position, "hit")  # type: ignore[union-attr]
                        return value
            return miss(position, values)

        return find_unary

    def find(values: list[Any]) -> Any:
        arguments = fetch(values)
        if _KEPT_TYPES.issuperset(map(type, arguments)):
            key = kept.get((*map(type, arguments), *arguments))
            if key is not None:
                value = read(key)
                if value is not ABSENT:
                    state_of().cache_outcomes.setdefault(position, "hit")  # type: ignore[union-attr]
                    return value
        return miss(position, values)

    return find


def _fast_invoker(step: Step, keys: CallKeys, read: Reader) -> Invoker:
    """``step``'s invoker behind the cache, kept between runs: a hit on a kept key is a
    few dict lookups; anything else takes ``_slow_call``."""
    if not step.is_async:
        return _finder(step, keys.kept, read, _slow_call)
    find, position = _finder(step, keys.kept, read, _absent), step.position

    async def invoke_async(values: list[Any]) -> Any:
        value = find(values)
        if value is ABSENT:
            return await _slow_call(position, values)
        return value

    return invoke_async


class _FastInvokers:
    """One store's fast invokers of one plan, by position, with the ``kept`` dict of the
    keys each was made for (a new ``CallKeys`` has a new one)."""

    __slots__ = ("invokers", "kept", "version")

    def __init__(self, size: int) -> None:
        self.invokers: list[Invoker | None] = [None] * size
        self.kept: list[dict[tuple[Any, ...], str] | None] = [None] * size
        self.version = -1

    def update(self, steps: Sequence[Step], keys: _Keys, read: Reader) -> list[Invoker | None]:
        """The invokers for ``keys`` (made anew where those changed)."""
        if keys.version == self.version:
            return self.invokers
        for step in steps:
            found = keys.keys[step.position]
            if found is None:
                self.invokers[step.position] = self.kept[step.position] = None
            elif self.kept[step.position] is not found.kept:
                self.invokers[step.position] = _fast_invoker(step, found, read)
                self.kept[step.position] = found.kept
        self.version = keys.version
        return self.invokers


#: Per lock-free store, per plan's keys, its fast invokers. Neither key is held by
#: the values: the invokers hold the store's entries (not the store) and kept keys.
_kept_invokers: weakref.WeakKeyDictionary[
    MemoryCache, weakref.WeakKeyDictionary[_PlanKeys, _FastInvokers]
] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def _fast_invokers(store: CacheStore, plan_keys: _PlanKeys, keys: _Keys) -> list[Invoker | None]:
    # Exactly a MemoryCache: a subclass may count or change its reads in ``get``.
    memory = store if type(store) is MemoryCache else None
    read = None if memory is None else memory.lock_free_reader()
    if memory is None or read is None:
        # Another store: read through its ``get``, invokers made for this run only.
        def read_through(key: str, get: Callable[[str], tuple[bool, Any]] = store.get) -> Any:
            hit, value = get(key)
            return value if hit else ABSENT

        return _FastInvokers(plan_keys.size).update(plan_keys.pure, keys, read_through)
    with _kept_lock:
        per_plan = _kept_invokers.get(memory)
        if per_plan is None:
            per_plan = _kept_invokers[memory] = weakref.WeakKeyDictionary()
        fast = per_plan.get(plan_keys)
        if fast is None:
            fast = per_plan[plan_keys] = _FastInvokers(plan_keys.size)
        # Copied under the lock: a run of this plan that started earlier, with
        # older keys, may set its own invokers next.
        return list(fast.update(plan_keys.pure, keys, read))


class RunLookups:
    """How each cached step of one run looks itself up, made when a runner asks."""

    def __init__(self, state: RunState, keys: Sequence[CallKeys | None]) -> None:
        self.state = state
        self.keys = keys
        self.made: dict[int, CachedCall] = {}

    def get(self, position: int) -> CachedCall | None:
        """Step ``position``'s ``CachedCall`` in this run (``None``: not cached)."""
        made = self.made.get(position)
        keys = self.keys[position] if self.keys else None
        store = self.state.cache_store
        if made is None and keys is not None and store is not None:
            made = self.made[position] = CachedCall(
                self.state, self.state.plan.steps[position], keys, store
            )
        return made


def run_invokers(state: RunState) -> tuple[tuple[Invoker | None, ...], RunLookups]:
    """Per step, the invoker a run calls (contract checks, then caching) or ``None``;
    and how each cached step looks itself up in its runner.

    ``None`` means the plain ``step.invoke`` will do, so the schedulers keep
    their fast path.
    """
    plan = state.plan
    checked = state.call_plan.invokers
    store = state.cache_store
    if store is None:
        return checked, RunLookups(state, ())
    plan_keys = _keys_of(plan)
    keys = plan_keys.keys()
    lookups = RunLookups(state, keys.keys)
    for step in plan_keys.pure:
        if keys.keys[step.position] is None:
            state.cache_outcome(step.position, "uncacheable")
    emitter = state.emitter
    if emitter is not None and emitter.wants(CacheHit):
        # Listeners hear each hit: a run's own invokers, through its CachedCalls.
        result = list(checked)
        for step in plan_keys.pure:
            cached = lookups.get(step.position)
            if cached is not None:
                result[step.position] = _cached(cached, checked[step.position] or step.invoke)
        return tuple(result), lookups
    fast = _fast_invokers(store, plan_keys, keys)
    return tuple([f or c for f, c in zip(fast, checked, strict=True)]), lookups
