"""Cache stores: hits and misses, eviction, persistence, corruption, threads."""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import sqlite3
import subprocess
import sys
import threading
import warnings
from typing import Any

import pytest

from flowdsl._services.cache import (
    ABSENT,
    CacheFileError,
    CacheStats,
    CacheStore,
    CacheWarning,
    MemoryCache,
    SQLiteCache,
    _checksum,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "cache.db"


@pytest.fixture
def store(db: pathlib.Path) -> Any:
    with SQLiteCache(db) as cache:
        yield cache


def _raw(db: pathlib.Path, sql: str, *params: Any) -> list[Any]:
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        return conn.execute(sql, params).fetchall()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# --- both stores -------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def any_store(request: pytest.FixtureRequest, db: pathlib.Path) -> Any:
    if request.param == "memory":
        yield MemoryCache()
    else:
        with SQLiteCache(db) as cache:
            yield cache


def test_stores_satisfy_the_protocol(any_store: Any) -> None:
    assert isinstance(any_store, CacheStore)
    assert not isinstance(object(), CacheStore)


def test_hits_misses_and_stats(any_store: Any) -> None:
    assert any_store.get("a") == (False, None)
    any_store.set("a", {"x": [1, 2]})
    any_store.set("none", None)
    assert any_store.get("a") == (True, {"x": [1, 2]})
    assert any_store.get("none") == (True, None)
    assert any_store.stats() == CacheStats(hits=2, misses=1, entries=2, errors=0)
    any_store.set("a", "replaced")
    assert any_store.get("a") == (True, "replaced")
    any_store.clear()
    assert any_store.stats() == CacheStats(hits=0, misses=0, entries=0, errors=0)
    assert any_store.get("a") == (False, None)


def test_memory_cache_returns_the_same_object() -> None:
    store = MemoryCache()
    value = [1, 2]
    store.set("k", value)
    assert store.get("k")[1] is value


def test_memory_lru_eviction() -> None:
    store = MemoryCache(maxsize=2)
    store.set("a", 1)
    store.set("b", 2)
    assert store.get("a") == (True, 1)
    store.set("c", 3)
    assert store.get("b") == (False, None)
    assert store.get("a") == (True, 1)
    assert store.get("c") == (True, 3)
    assert store.stats().entries == 2


def test_memory_ttl() -> None:
    clock = FakeClock()
    store = MemoryCache(maxsize=10, ttl=5.0, timer=clock)
    store.set("a", 1)
    clock.now = 4.9
    assert store.get("a") == (True, 1)
    store.set("b", 2)
    clock.now = 5.0
    assert store.get("a") == (False, None)
    assert store.stats() == CacheStats(hits=1, misses=1, entries=1, errors=0)
    clock.now = 10.0
    assert store.stats().entries == 0


@pytest.mark.parametrize(
    "kwargs", [{"maxsize": 0}, {"maxsize": True}, {"maxsize": 1.5}, {"ttl": 0}, {"ttl": -1.0}]
)
def test_memory_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="MemoryCache"):
        MemoryCache(**kwargs)


# --- SQLite ------------------------------------------------------------------


def test_sqlite_persists_across_store_objects(db: pathlib.Path) -> None:
    with SQLiteCache(db) as first:
        first.set("k", {"nested": (1, 2.5, "x")})
    with SQLiteCache(db) as second:
        assert second.get("k") == (True, {"nested": (1, 2.5, "x")})
        assert second.stats() == CacheStats(hits=1, misses=0, entries=1, errors=0)
    assert _raw(db, "PRAGMA journal_mode") == [("wal",)]


def test_sqlite_shared_with_another_process(db: pathlib.Path) -> None:
    script = (
        "import sys\n"
        "from flowdsl._services.cache import SQLiteCache\n"
        "with SQLiteCache(sys.argv[1]) as store:\n"
        "    hit, value = store.get('from-parent')\n"
        "    store.set('from-child', {'seen': value, 'hit': hit})\n"
    )
    with SQLiteCache(db) as store:
        store.set("from-parent", [1, 2, 3])
        done = subprocess.run(
            [sys.executable, "-c", script, str(db)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert store.get("from-child") == (True, {"seen": [1, 2, 3], "hit": True})


def test_sqlite_lru_eviction(db: pathlib.Path) -> None:
    with SQLiteCache(db, max_entries=2) as store:
        store.set("a", 1)
        store.set("b", 2)
        assert store.get("a") == (True, 1)
        store.set("c", 3)
        assert store.get("b") == (False, None)
        assert store.get("a") == (True, 1)
        assert store.get("c") == (True, 3)
        assert store.stats().entries == 2
        store.set("c", 4)
        assert store.stats().entries == 2


def test_a_hit_only_reads_while_another_process_writes(
    db: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another connection holds the write lock: a hit must not wait for it
    # (with the lock taken per hit, it waited out the busy timeout and warned).
    monkeypatch.setattr("flowdsl._services.cache._BUSY_TIMEOUT", 0.2)
    with SQLiteCache(db) as store:
        store.set("k", [1, 2])
        writer = sqlite3.connect(db, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert store.get("k") == (True, [1, 2])
                assert store.get("k") == (True, [1, 2])
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert store.stats().hits == 2


def test_sqlite_uses_are_written_on_close(db: pathlib.Path) -> None:
    with SQLiteCache(db) as store:
        store.set("a", 1)
        store.set("b", 2)
        assert store.get("a") == (True, 1)
    # The hit on a reached the file on close: b is now the least recently used.
    with SQLiteCache(db, max_entries=2) as store:
        store.set("c", 3)
        assert store.get("b") == (False, None)
        assert store.get("a") == (True, 1)


def test_sqlite_uses_are_written_every_batch_of_hits(db: pathlib.Path) -> None:
    with SQLiteCache(db) as store:
        store.set("a", 1)
        store.set("b", 2)
        for _ in range(256):
            assert store.get("a") == (True, 1)
        # Written while the store is open: another connection sees them.
        assert _raw_rows(db, "SELECT key FROM flowdsl_cache ORDER BY accessed") == ["b", "a"]


def _raw_rows(db: pathlib.Path, sql: str) -> list[Any]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [row[0] for row in conn.execute(sql)]


@pytest.mark.parametrize("max_entries", [0, -1, True, 2.0])
def test_sqlite_rejects_bad_max_entries(db: pathlib.Path, max_entries: Any) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        SQLiteCache(db, max_entries=max_entries)


def test_corrupt_value_is_a_miss_with_one_warning(store: SQLiteCache, db: pathlib.Path) -> None:
    store.set("good", "fine")
    store.set("bad", list(range(100)))
    _raw(db, "UPDATE flowdsl_cache SET value = ? WHERE key = 'bad'", b"\x80garbage")
    with pytest.warns(CacheWarning, match="entry bad is corrupt") as caught:
        assert store.get("bad") == (False, None)
    assert len(caught) == 1
    assert _raw(db, "SELECT key FROM flowdsl_cache") == [("good",)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.get("bad") == (False, None)
        assert store.get("good") == (True, "fine")
    assert store.stats() == CacheStats(hits=1, misses=2, entries=1, errors=1)


def test_truncated_value_and_swapped_rows_are_detected(
    store: SQLiteCache, db: pathlib.Path
) -> None:
    store.set("one", "first value")
    store.set("two", "second value")
    _raw(db, "UPDATE flowdsl_cache SET value = substr(value, 1, 5) WHERE key = 'one'")
    with pytest.warns(CacheWarning, match="entry one"):
        assert store.get("one") == (False, None)
    # A whole valid row copied under another key still fails its checksum.
    _raw(db, "INSERT INTO flowdsl_cache SELECT 'three', value, checksum, 0 FROM flowdsl_cache")
    with pytest.warns(CacheWarning, match="entry three"):
        assert store.get("three") == (False, None)
    assert store.get("two") == (True, "second value")
    assert store.stats().errors == 2


def test_unpicklable_bytes_with_a_valid_checksum(store: SQLiteCache, db: pathlib.Path) -> None:
    data = b"\x80\x05cno_such_module\nThing\n."
    _raw(
        db,
        "INSERT INTO flowdsl_cache VALUES ('k', ?, ?, 1)",
        data,
        _checksum("k", data),
    )
    with pytest.warns(CacheWarning, match="ModuleNotFoundError"):
        assert store.get("k") == (False, None)
    assert store.stats().entries == 0


def test_text_instead_of_a_blob_is_corrupt(store: SQLiteCache, db: pathlib.Path) -> None:
    store.set("k", 1)
    _raw(db, "UPDATE flowdsl_cache SET value = 'text' WHERE key = 'k'")
    with pytest.warns(CacheWarning, match="entry k"):
        assert store.get("k") == (False, None)


def test_database_errors_are_misses_not_failures(store: SQLiteCache, db: pathlib.Path) -> None:
    store.set("k", 1)
    _raw(db, "DROP TABLE flowdsl_cache")
    with pytest.warns(CacheWarning, match="cannot read"):
        assert store.get("k") == (False, None)
    with pytest.warns(CacheWarning, match="cannot store a value"):
        store.set("k", 2)
    with pytest.warns(CacheWarning, match="cannot read"):
        assert store.get("k") == (False, None)
    with pytest.warns(CacheWarning, match="cannot count entries"):
        assert store.stats() == CacheStats(hits=0, misses=2, entries=0, errors=4)


def test_not_a_database(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the droids " * 200)
    with pytest.raises(CacheFileError, match=re.escape(str(path))) as caught:
        SQLiteCache(path)
    assert isinstance(caught.value, ValueError)


def test_truncated_database_file(db: pathlib.Path, tmp_path: pathlib.Path) -> None:
    with SQLiteCache(db) as store:
        for i in range(100):
            store.set(f"k{i}", "x" * 2000)
    # Fold the WAL into the main file, as a clean shutdown would.
    _raw(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    broken = tmp_path / "broken.db"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheFileError, match=re.escape(str(broken))):
        SQLiteCache(broken)


def test_a_foreign_table_of_the_same_name_is_refused(db: pathlib.Path) -> None:
    _raw(db, "CREATE TABLE flowdsl_cache (something TEXT)")
    with pytest.raises(CacheFileError, match=re.escape(str(db))):
        SQLiteCache(db)


def test_missing_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(CacheFileError, match="nowhere"):
        SQLiteCache(tmp_path / "nowhere" / "cache.db")


class Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("no pickling for you")


def test_unpicklable_values_warn_once_per_type_and_are_skipped(store: SQLiteCache) -> None:
    with pytest.warns(CacheWarning, match="Unpicklable value cannot be pickled"):
        assert store.set("a", Unpicklable()) is None  # type: ignore[func-returns-value]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        store.set("b", Unpicklable())
    with pytest.warns(CacheWarning, match="generator"):
        store.set("c", (i for i in range(3)))
    assert store.stats().entries == 0
    assert store.get("a") == (False, None)


def test_closed_store(db: pathlib.Path) -> None:
    store = SQLiteCache(db)
    store.close()
    store.close()
    with pytest.raises(ValueError, match="closed"):
        store.get("k")
    assert "cache.db" in repr(store)


def test_concurrent_threads(db: pathlib.Path) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(store: SQLiteCache, worker: int) -> None:
        try:
            barrier.wait()
            for i in range(40):
                store.set(f"w{worker}-{i}", (worker, i))
                store.set("shared", i)
                hit, value = store.get(f"w{worker}-{i}")
                assert (hit, value) == (True, (worker, i))
                hit, value = store.get("shared")
                assert hit
                assert value in range(40)
        except BaseException as exc:
            errors.append(exc)

    with SQLiteCache(db) as one, SQLiteCache(db) as two:
        threads = [threading.Thread(target=work, args=(one if n % 2 else two, n)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert one.stats().entries == 8 * 40 + 1
        assert one.stats().hits + two.stats().hits == 8 * 40 * 2


def test_memory_cache_concurrent_threads() -> None:
    store = MemoryCache(maxsize=100)

    def work(worker: int) -> None:
        for i in range(500):
            store.set(f"{worker}-{i % 150}", i)
            store.get(f"{worker}-{(i * 7) % 150}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = store.stats()
    assert stats.hits + stats.misses == 8 * 500
    assert stats.entries == 100


# --- MemoryCache's lock-free reads -------------------------------------------


def test_a_lock_free_read_finds_marks_used_and_counts_a_hit() -> None:
    store = MemoryCache(maxsize=2)
    read = store.lock_free_reader()
    assert read is not None
    store.set("a", 1)
    store.set("b", 2)
    assert read("a") == 1  # "a" is now the most recently used
    assert read("missing") is ABSENT  # not a miss: a run that misses goes on to ``get``
    store.set("c", 3)
    assert store.get("b") == (False, None)  # the least recently used went
    assert store.get("a") == (True, 1)
    assert store.stats() == CacheStats(hits=2, misses=1, entries=2, errors=0)
    store.clear()
    assert read("a") is ABSENT
    assert store.stats() == CacheStats(hits=0, misses=0, entries=0, errors=0)


def test_a_cache_with_a_time_to_live_has_no_lock_free_reader() -> None:
    # Expiry needs the clock and the lock: such a cache is read through ``get``.
    assert MemoryCache(ttl=1.0).lock_free_reader() is None


def test_lock_free_reads_beside_writers_that_evict() -> None:
    # Readers never see another key's value, and every hit is counted once.
    store = MemoryCache(maxsize=50)
    read = store.lock_free_reader()
    assert read is not None
    found = [0] * 4
    wrong: list[tuple[str, Any]] = []

    def readers(worker: int) -> None:
        for i in range(3000):
            key = f"k{(i * 7 + worker) % 120}"
            value = read(key)
            if value is not ABSENT:
                found[worker] += 1
                if value != key:
                    wrong.append((key, value))

    def writers() -> None:
        for i in range(3000):
            store.set(f"k{i % 120}", f"k{i % 120}")

    threads = [threading.Thread(target=readers, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=writers) for _ in range(2)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch between any two bytecodes
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
    assert store.stats().hits == sum(found)
    assert store.stats().entries == 50
