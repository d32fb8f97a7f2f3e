"""flowdsl opens only its own SQLite files, leaves every other file byte-identical, and
creates new ones race-free (real files, real processes)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import flowdsl
from flowdsl import CheckpointError, CheckpointStore, SQLiteCache, vertex
from flowdsl._services.cache import CacheFileError
from flowdsl._services.sqlite_files import CACHE_FILE, open_database

DATA = Path(__file__).parent.parent / "data"
# Written by flowdsl 0.1.0 (the code of the first release) from:
#     @vertex
#     def a(x: int) -> int: return x + 1
#     @vertex(pure=True)
#     def b(a: int) -> int: return a * 2
#     flow = flowdsl.Flow.from_functions(a, b)
#     flow.run({"x": 1}, checkpoint="checkpoints-0.1.0.db", run_id="nightly")
#     flow.run({"x": 1}, cache="cache-0.1.0.db")
CHECKPOINTS_010 = DATA / "checkpoints-0.1.0.db"
CACHE_010 = DATA / "cache-0.1.0.db"


@vertex
def a(x: int) -> int:
    return x + 1


@vertex(pure=True)
def b(a: int) -> int:
    return a * 2


FLOW = flowdsl.Flow.from_functions(a, b)


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file of the folder and the hash of its bytes."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
    }


def _application_db(path: Path, *, wal: bool = False, tables: str = "users") -> Path:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    for table in tables.split(","):
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute(f"INSERT INTO {table} (name) VALUES ('alice')")
    conn.commit()
    conn.close()
    return path


Opener = Callable[[Path], Any]

OPENERS: dict[str, Opener] = {
    "SQLiteCache": SQLiteCache,
    "run(cache=)": lambda path: FLOW.run({"x": 1}, cache=path),
    "CheckpointStore": CheckpointStore,
    "CheckpointStore(create=True)": lambda path: CheckpointStore(path, create=True),
    "run(checkpoint=)": lambda path: FLOW.run({"x": 1}, checkpoint=path),
    "resume": lambda path: FLOW.resume("nightly", checkpoint=path),
}
ERRORS = (CacheFileError, CheckpointError)


def _kind(opener: str) -> str:
    return "cache" if "ache" in opener else "checkpoint"


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize(
    "foreign",
    ["application", "application in WAL mode", "tables named like flowdsl's", "text", "no tables"],
)
def test_a_file_that_is_not_flowdsls_is_refused_and_left_byte_identical(
    tmp_path: Path, opener: str, foreign: str
) -> None:
    path = tmp_path / "app.db"
    if foreign == "text":
        path.write_text("my notes\n" * 200)
    elif foreign == "no tables":
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA user_version = 3")
    else:
        tables = "runs,outputs" if "named" in foreign else "flowdsl_cache_x,users"
        _application_db(path, wal="WAL" in foreign, tables=tables)
    before = _snapshot(tmp_path)
    with pytest.raises(ERRORS) as caught:
        OPENERS[opener](path)
    assert str(path) in str(caught.value)
    assert _snapshot(tmp_path) == before  # no byte changed, no file added


@pytest.mark.parametrize("opener", OPENERS)
def test_flowdsls_file_of_the_other_kind_is_refused(tmp_path: Path, opener: str) -> None:
    other = "checkpoint" if _kind(opener) == "cache" else "cache"
    for written_by in ("0.1.0", "this version"):
        path = tmp_path / f"{other}-{written_by}.db"
        if written_by == "0.1.0":
            shutil.copy(CHECKPOINTS_010 if other == "checkpoint" else CACHE_010, path)
        elif other == "cache":
            FLOW.run({"x": 1}, cache=path)
        else:
            FLOW.run({"x": 1}, checkpoint=path, run_id="nightly")
        before = _snapshot(tmp_path)
        with pytest.raises(ERRORS, match=f"is a flowdsl {other} file, not a {_kind(opener)} file"):
            OPENERS[opener](path)
        assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("opener", ["CheckpointStore", "resume"])
def test_readers_never_create_a_file(tmp_path: Path, opener: str) -> None:
    with pytest.raises(CheckpointError, match=r"typo\.db does not exist"):
        OPENERS[opener](tmp_path / "typo.db")
    (tmp_path / "empty.db").touch()
    with pytest.raises(CheckpointError, match=r"empty\.db is empty"):
        OPENERS[opener](tmp_path / "empty.db")
    assert _snapshot(tmp_path) == {"empty.db": hashlib.sha256(b"").hexdigest()}


@pytest.mark.parametrize("opener", ["SQLiteCache", "run(cache=)", "run(checkpoint=)"])
def test_writers_create_a_missing_path_or_fill_an_empty_file(tmp_path: Path, opener: str) -> None:
    for path in (tmp_path / "new.db", tmp_path / "empty.db"):
        if path.name == "empty.db":
            path.touch()
        store = OPENERS[opener](path)
        if hasattr(store, "close"):
            store.close()
        with closing(sqlite3.connect(path)) as conn:
            (marker,) = conn.execute("PRAGMA application_id").fetchone()
        assert marker != 0
        store = OPENERS[opener](path)  # and open it again
        if hasattr(store, "close"):
            store.close()


def test_a_checkpoint_file_of_flowdsl_0_1_0_stays_usable(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    shutil.copy(CHECKPOINTS_010, path)
    store = CheckpointStore(path)
    (run,) = store.runs()
    assert (run.run_id, run.vertices) == ("nightly", ("a", "b"))
    store.close()
    # Its records do not say what each vertex read: it runs again, then resumes as usual.
    resumed = FLOW.resume("nightly", checkpoint=path)
    assert (resumed["b"], resumed.inputs) == (4, {"x": 1})
    assert set(map(str, resumed.states.values())) == {"completed"}
    again = FLOW.resume("nightly", checkpoint=path)
    assert set(map(str, again.states.values())) == {"restored"}
    FLOW.run({"x": 2}, checkpoint=path, run_id="new")
    store = CheckpointStore(path)
    assert [r.run_id for r in store.runs()] == ["nightly", "new"]
    store.close()


def test_a_cache_file_of_flowdsl_0_1_0_stays_usable(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    shutil.copy(CACHE_010, path)
    with SQLiteCache(path) as store:
        assert store.stats().entries == 1
        store.set("k", [1, 2])
        assert store.get("k") == (True, [1, 2])
    assert FLOW.run({"x": 1}, cache=path)["b"] == 4


# --- many processes and threads opening one new file at once ----------------------------------

RACE = """
import multiprocessing, os, sys
import flowdsl

KIND, FOLDER, ROUNDS, WORKERS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def work(barrier, index, failures):
    for round_ in range(ROUNDS):
        path = os.path.join(FOLDER, f"{KIND}-{round_}.db")
        barrier.wait()
        try:
            if KIND == "cache":
                with flowdsl.SQLiteCache(path) as store:
                    store.set(f"k{index}", index)
            else:
                store = flowdsl.CheckpointStore(path, create=True)
                store.start(f"r{index}", "g", {"i": index})
                store.close()
        except Exception as exc:
            failures.put(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    barrier, failures = context.Barrier(WORKERS), context.Queue()
    workers = [
        context.Process(target=work, args=(barrier, i, failures)) for i in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    while not failures.empty():
        print(failures.get())
"""


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
@pytest.mark.parametrize("kind", ["cache", "checkpoint"])
def test_many_processes_create_one_new_file_at_once(tmp_path: Path, kind: str) -> None:
    script = tmp_path / "race.py"
    script.write_text(RACE, encoding="utf-8")
    rounds, workers = 40, 8
    done = subprocess.run(
        [sys.executable, str(script), kind, str(tmp_path), str(rounds), str(workers)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # no failure at all
    for round_ in range(rounds):
        with closing(sqlite3.connect(tmp_path / f"{kind}-{round_}.db")) as conn:
            table = "flowdsl_cache" if kind == "cache" else "runs"
            (rows,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        assert rows == workers


@pytest.mark.parametrize("kind", ["cache", "checkpoint"])
def test_many_threads_open_one_new_file_at_once(tmp_path: Path, kind: str) -> None:
    workers = 8
    barrier = threading.Barrier(workers)
    failures: list[BaseException] = []

    def work(index: int) -> None:
        barrier.wait()
        try:
            if kind == "cache":
                FLOW.run({"x": index}, cache=tmp_path / "new.db")
            else:
                FLOW.run({"x": index}, checkpoint=tmp_path / "new.db", run_id=f"r{index}")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_locked_file_is_not_called_damaged(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    SQLiteCache(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")  # so that an exclusive lock keeps readers out
    holder.execute("PRAGMA application_id = 0")  # looks like 0.1.0's: opening it writes
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CacheFileError) as caught:
            open_database(str(path), CACHE_FILE, CacheFileError, create=True, timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked by another connection" in str(caught.value)
    assert "delete" not in str(caught.value)
