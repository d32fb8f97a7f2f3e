"""Cache stores for pure vertices: in memory, or persistent in a SQLite file.

Example::

    store = SQLiteCache("cache.db", max_entries=10_000)
    store.set(key, value)
    hit, value = store.get(key)     # (False, None) on a miss
    store.stats()                   # CacheStats(hits=1, misses=0, entries=1, errors=0)

Any object with ``get``, ``set``, ``clear`` and ``stats`` (see
:class:`CacheStore`) can be plugged in instead.

A cache file is trusted input. :class:`SQLiteCache` stores values with
:mod:`pickle`, and unpickling runs code chosen by whoever wrote the file: only
point flowdsl at cache files that you or your own runs wrote, never at one
from an untrusted source. The checksum kept with each entry detects damage
(a truncated or overwritten row), not tampering.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs
import cachetools

from .._lazy import lazy_module
from ..errors import CacheFileError, CacheWarning
from .sqlite_files import CACHE_FILE, open_database

if TYPE_CHECKING:
    import pickle
    import sqlite3
else:
    pickle = lazy_module("pickle")
    sqlite3 = lazy_module("sqlite3")

__all__ = [
    "ABSENT",
    "CacheFileError",
    "CacheStats",
    "CacheStore",
    "CacheWarning",
    "MemoryCache",
    "SQLiteCache",
]


@attrs.frozen
class CacheStats:
    """Counters of one cache store.

    Example::

        CacheStats(hits=3, misses=1, entries=4, errors=0)

    ``hits`` and ``misses`` count this store object's lookups since it was
    made or last cleared; ``entries`` is what the store holds now (for a SQLite
    file, written by any process); ``errors`` counts corrupt or unreadable
    entries met (and, for SQLite, database errors turned into misses).
    """

    hits: int
    misses: int
    entries: int
    errors: int


@runtime_checkable
class CacheStore(Protocol):
    """What the executor needs from a cache; implement it to plug in your own.

    Example::

        class NullCache:  # stores nothing, so every lookup is a miss
            def get(self, key: str) -> tuple[bool, Any]:
                return False, None

            def set(self, key: str, value: Any) -> None:
                pass

            def clear(self) -> None:
                pass

            def stats(self) -> CacheStats:
                return CacheStats(hits=0, misses=0, entries=0, errors=0)

        isinstance(NullCache(), CacheStore)  # True

    Keys are hex strings from ``cache_key``. ``get`` must never return a value
    stored under another key; when unsure, it returns a miss. Stores are called
    from worker threads concurrently and must be thread-safe.
    """

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` on a hit, ``(False, None)`` on a miss."""
        ...

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``, replacing what was there."""
        ...

    def clear(self) -> None:
        """Remove every entry and reset the hit and miss counters."""
        ...

    def stats(self) -> CacheStats:
        """The current counters."""
        ...


#: What ``MemoryCache.lock_free_reader``'s function returns for a key it does not hold.
ABSENT: Any = object()


class _LRU:
    """The entries of a ``MemoryCache`` without a time to live, least recently used first.

    An ``OrderedDict`` with ``str`` keys, so that reading an entry and marking
    it used are each one C call that runs no Python code: atomic under the GIL
    (see ``MemoryCache.lock_free_reader``).
    """

    __slots__ = ("entries", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.entries: collections.OrderedDict[str, Any] = collections.OrderedDict()

    def __getitem__(self, key: str) -> Any:
        value = self.entries[key]
        self.entries.move_to_end(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        entries = self.entries
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > self.maxsize:
            entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self.entries)

    def clear(self) -> None:
        self.entries.clear()


class MemoryCache:
    """A bounded in-process LRU cache, optionally with a time to live.

    Example::

        store = MemoryCache(maxsize=256, ttl=60.0)
        store.set("k", [1, 2])
        store.get("k")  # (True, [1, 2]): the very object that was stored

    Without ``ttl``, a least-recently-used dict; with ``ttl`` seconds, a
    ``cachetools.TTLCache``. Values are not copied: a caller that mutates a
    value it got from the cache changes the cached value too. ``timer`` is
    the clock for ``ttl`` (``time.monotonic`` by default; tests inject their
    own). Safe to share between threads: writes take a lock, and so do
    ``get`` and ``stats``; a run's cache hits read without one (see
    :meth:`lock_free_reader`).
    """

    def __init__(
        self,
        maxsize: int = 1024,
        ttl: float | None = None,
        *,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"MemoryCache maxsize must be a positive int, got {maxsize!r}")
        if ttl is not None and not ttl > 0:
            raise ValueError(f"MemoryCache ttl must be positive seconds or None, got {ttl!r}")
        self._data: cachetools.Cache[str, Any] | _LRU
        self._reader: Callable[[str], Any] | None = None
        # One item per hit read without the lock, counted into ``_hits`` (under
        # the lock) by ``stats``, ``clear`` and ``lock_free_reader``.
        self._lock_free_hits: list[None] = []
        if ttl is None:
            self._data = _LRU(maxsize)
            self._reader = _lock_free_reader(self._data.entries, self._lock_free_hits)
        else:
            self._data = cachetools.TTLCache(maxsize, ttl, timer)
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` on a hit, ``(False, None)`` on a miss."""
        with self._lock:
            try:
                value = self._data[key]
            except KeyError:
                self._misses += 1
                return False, None
            self._hits += 1
            return True, value

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``, evicting the least recently used entry if full."""
        with self._lock:
            self._data[key] = value

    def clear(self) -> None:
        """Remove every entry and reset the hit and miss counters."""
        with self._lock:
            self._data.clear()
            self._hits = self._misses = 0
            self._lock_free_hits.clear()

    def stats(self) -> CacheStats:
        """The current counters; expired entries are not counted."""
        with self._lock:
            if isinstance(self._data, cachetools.TTLCache):
                self._data.expire()
            self._count_lock_free_hits()
            return CacheStats(self._hits, self._misses, len(self._data), 0)

    def lock_free_reader(self) -> Callable[[str], Any] | None:
        """A function that reads a key without taking the lock: the stored value (marked
        used), else ``ABSENT``. ``None`` for a cache with a time to live.

        Example::

            read = MemoryCache().lock_free_reader()
            read("k")  # ABSENT

        How a run's cache hits read the store. Its hits are counted in
        ``stats()`` once the store next counts them (in ``stats`` itself, or
        when a run asks for this function again), and are not misses: it
        counts no misses, since a run that misses goes on to ``get``.
        """
        if self._reader is not None:
            with self._lock:
                self._count_lock_free_hits()
        return self._reader

    def _count_lock_free_hits(self) -> None:
        # Under the lock. Readers only append, so the first ``count`` items are
        # exactly those counted here, even while readers go on appending.
        hits = self._lock_free_hits
        count = len(hits)
        del hits[:count]
        self._hits += count


def _lock_free_reader(
    entries: collections.OrderedDict[str, Any], hits: list[None]
) -> Callable[[str], Any]:
    # Holds the store's entries and counter, not the store: the runtime keeps
    # this function per store without keeping the store alive.
    get, mark_used, count = entries.get, entries.move_to_end, hits.append

    def read(key: str) -> Any:
        # Without the lock: each call below is one call into C on a dict whose keys
        # are str (hashed and compared in C), so no other thread runs in its middle
        # under the GIL (and on a free-threaded build each locks the dict itself).
        # ``get`` returns the whole value stored under ``key`` or ABSENT, never a
        # mix; a writer evicting the key between ``get`` and ``mark_used`` makes
        # the latter fail, and the value read is still the one that was stored.
        value = get(key, ABSENT)
        if value is not ABSENT:
            try:  # noqa: SIM105 - a hot path: cheaper than contextlib.suppress
                mark_used(key)
            except KeyError:
                pass
            count(None)
        return value

    return read


# Each write takes the next value of this shared counter, so least recently
# used is exact across processes (a wall clock could go backwards).
_NEXT_ACCESS = "(SELECT COALESCE(MAX(accessed), 0) + 1 FROM flowdsl_cache)"
_TOUCH = f"UPDATE flowdsl_cache SET accessed = {_NEXT_ACCESS} WHERE key = ?"
#: Hits whose use is written in one transaction: a hit itself only reads, so
#: processes that share a warm file do not queue for its write lock.
_USES_PER_WRITE = 256
_BUSY_TIMEOUT = 10.0


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so waiting for another writer
    # is covered by the busy timeout instead of failing at the first write.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _checksum(key: str, data: bytes) -> bytes:
    # The key is mixed in so that a row holding another key's value is caught.
    hasher = hashlib.blake2b(digest_size=16)
    encoded = key.encode("utf-8", "surrogatepass")
    hasher.update(len(encoded).to_bytes(8, "little"))
    hasher.update(encoded)
    hasher.update(data)
    return hasher.digest()


class SQLiteCache:
    """A persistent cache in one SQLite file, shared by processes and runs.

    Example::

        with SQLiteCache("flow-cache.db", max_entries=50_000) as store:
            flow.run(inputs, cache=store)

    Values are pickled (protocol 5); see the module notes: a cache file is
    trusted input. The file uses WAL mode with a busy timeout, so several
    processes may read and write it at once (not on a network file system,
    where SQLite's locking is unreliable). Each ``set`` is one transaction: a
    crash leaves either the old entry or the new one, never half of one.

    Every entry carries a checksum. An entry that fails it, cannot be
    unpickled, or cannot be read is a miss: it is counted in
    ``stats().errors``, reported by one :class:`CacheWarning` naming the key,
    and deleted. A value that cannot be pickled is not stored (one warning per
    type). ``max_entries`` bounds the file, evicting the least recently used
    entries (a hit counts as a use; uses are written in batches, at the latest
    with the store's next write, its ``close`` or every 256 hits, so another
    process sees them that late and the order is approximate between processes).

    One connection is shared by the threads of a process behind a lock. Call
    :meth:`close` (or use the store as a context manager) when done. A new
    path (or an empty file) becomes a new cache file. Any other file that is
    not a flowdsl cache file (another application's database, a checkpoint
    file, not a database at all) raises :class:`CacheFileError` naming it,
    and is left unchanged.
    """

    def __init__(self, path: str | os.PathLike[str], max_entries: int | None = None) -> None:
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1
        ):
            raise ValueError(
                f"SQLiteCache max_entries must be a positive int or None, got {max_entries!r}"
            )
        self.path = os.fspath(path)
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._errors = 0
        self._unpicklable: set[str] = set()
        # Keys hit since their uses were last written, least recent first, and
        # how many hits that was.
        self._used: dict[str, None] = {}
        self._unwritten_hits = 0
        self._conn: sqlite3.Connection | None = self._open()

    def _open(self) -> sqlite3.Connection:
        # WAL stays consistent with synchronous=NORMAL; only the last commits
        # before a power loss can be lost, which for a cache is a miss.
        return open_database(
            self.path,
            CACHE_FILE,
            functools.partial(CacheFileError, path=self.path),
            create=True,
            timeout=_BUSY_TIMEOUT,
        )

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"SQLiteCache({self.path!r}) is closed")
        return self._conn

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` on a hit, ``(False, None)`` on a miss or unreadable entry."""
        with self._lock:
            conn = self._connection()
            try:
                row = conn.execute(
                    "SELECT value, checksum FROM flowdsl_cache WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.Error as exc:
                self._database_error("read", exc)
                self._misses += 1
                return False, None
            if row is None:
                self._misses += 1
                return False, None
            data, checksum = row
            try:
                if not isinstance(data, bytes) or checksum != _checksum(key, data):
                    raise ValueError("checksum mismatch")
                value = pickle.loads(data)
            except Exception as exc:
                # Unpickling may fail in any way (a renamed class, a bad
                # opcode); all of them make the entry unreadable, not the run.
                return self._corrupt(conn, key, exc)
            self._used.pop(key, None)
            self._used[key] = None
            self._unwritten_hits += 1
            if self._unwritten_hits >= _USES_PER_WRITE:
                try:
                    with _transaction(conn):
                        self._write_uses(conn)
                except sqlite3.Error as exc:
                    # The values themselves were read and checked; only use times are lost.
                    self._database_error("record the use of entries", exc)
            self._hits += 1
            return True, value

    def _write_uses(self, conn: sqlite3.Connection) -> None:
        # Inside a transaction: the pending uses, in the order they happened.
        self._unwritten_hits = 0
        if self._used:
            keys = [(key,) for key in self._used]
            self._used.clear()
            conn.executemany(_TOUCH, keys)

    def _corrupt(self, conn: sqlite3.Connection, key: str, exc: Exception) -> tuple[bool, Any]:
        self._errors += 1
        self._misses += 1
        # Deleted before warning, in case warnings are turned into errors. If
        # the file cannot even be written, the next lookup reports that.
        with contextlib.suppress(sqlite3.Error), _transaction(conn):
            conn.execute("DELETE FROM flowdsl_cache WHERE key = ?", (key,))
        warnings.warn(
            f"flowdsl cache {self.path}: entry {key} is corrupt or unreadable "
            f"({type(exc).__name__}: {exc}); treated as a miss and deleted",
            CacheWarning,
            stacklevel=3,
        )
        return False, None

    def _database_error(self, action: str, exc: sqlite3.Error) -> None:
        # The key is left out so that the default warning filter shows a
        # broken file once rather than once per lookup.
        self._errors += 1
        warnings.warn(
            f"flowdsl cache {self.path}: cannot {action} ({type(exc).__name__}: {exc}); "
            "the cache is skipped for this call",
            CacheWarning,
            stacklevel=3,
        )

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` in one transaction; never raises for a bad value."""
        try:
            data = pickle.dumps(value, protocol=5)
        except Exception as exc:
            # Pickling user objects fails in many ways (TypeError,
            # PicklingError, AttributeError for local classes, ...).
            self._unstorable(value, exc)
            return
        checksum = _checksum(key, data)
        with self._lock:
            conn = self._connection()
            try:
                with _transaction(conn):
                    # Uses first, so that eviction below sees them.
                    self._write_uses(conn)
                    conn.execute(
                        "INSERT OR REPLACE INTO flowdsl_cache (key, value, checksum, accessed) "
                        f"VALUES (?, ?, ?, {_NEXT_ACCESS})",
                        (key, data, checksum),
                    )
                    if self.max_entries is not None:
                        conn.execute(
                            "DELETE FROM flowdsl_cache WHERE accessed <= (SELECT accessed "
                            "FROM flowdsl_cache ORDER BY accessed DESC LIMIT 1 OFFSET ?)",
                            (self.max_entries,),
                        )
            except sqlite3.Error as exc:
                self._database_error("store a value", exc)

    def _unstorable(self, value: Any, exc: Exception) -> None:
        cls = type(value)
        name = f"{cls.__module__}.{cls.__qualname__}"
        with self._lock:
            if name in self._unpicklable:
                return
            self._unpicklable.add(name)
        warnings.warn(
            f"flowdsl cache {self.path}: a {name} value cannot be pickled "
            f"({type(exc).__name__}: {exc}); such values are not cached",
            CacheWarning,
            stacklevel=3,
        )

    def clear(self) -> None:
        """Remove every entry from the file and reset this store's counters."""
        with self._lock:
            conn = self._connection()
            with _transaction(conn):
                conn.execute("DELETE FROM flowdsl_cache")
            self._used.clear()
            self._unwritten_hits = 0
            self._hits = self._misses = self._errors = 0

    def stats(self) -> CacheStats:
        """This store's counters and the number of entries in the file (0 if unreadable)."""
        with self._lock:
            conn = self._connection()
            try:
                (entries,) = conn.execute("SELECT COUNT(*) FROM flowdsl_cache").fetchone()
            except sqlite3.Error as exc:
                self._database_error("count entries", exc)
                entries = 0
            return CacheStats(self._hits, self._misses, entries, self._errors)

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards. Idempotent."""
        with self._lock:
            if self._conn is not None:
                try:
                    if self._used:
                        with _transaction(self._conn):
                            self._write_uses(self._conn)
                except sqlite3.Error as exc:
                    self._database_error("record the use of entries", exc)
                finally:
                    self._conn.close()
                    self._conn = None

    def __enter__(self) -> SQLiteCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteCache({self.path!r}, max_entries={self.max_entries!r})"
