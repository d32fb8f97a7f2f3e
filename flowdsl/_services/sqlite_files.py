"""flowdsl's own SQLite files: recognised before anything writes to them, created race-free.

A cache file and a checkpoint file each carry a marker in the SQLite header
(``PRAGMA application_id``), written in the same transaction as their tables.
A path is opened only when it holds flowdsl's own file of the kind asked for:

- a file with that kind's marker (and its tables);
- a file written by flowdsl 0.1.0, which had no marker, recognised by its
  exact tables and columns; it is stamped with the marker, and its tables
  brought up to date, when it is opened;
- a path that does not exist, or an empty file, when the caller writes
  (a run given ``cache=`` or ``checkpoint=``): the file is created.

Anything else is refused with an error naming the file: another
application's database, flowdsl's file of the other kind, a file that is not
a database, a path that does not exist when the caller only reads. A file is
first read through a read-only connection, so a refused file stays
byte-identical.

Many processes may open one new file at once: the tables are created under
``BEGIN IMMEDIATE`` after looking again at what the file holds, and a
"database is locked" met while setting up (which SQLite does not always
retry itself, e.g. when switching to WAL) is retried until the timeout.
"""

from __future__ import annotations

import os
import pathlib
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal, TypeVar

import attrs

from .._lazy import lazy_module

if TYPE_CHECKING:
    import sqlite3
else:
    sqlite3 = lazy_module("sqlite3")

__all__ = ["CACHE_FILE", "CHECKPOINT_FILE", "FileKind", "inspect_file", "open_database"]

T = TypeVar("T")


@attrs.frozen
class FileKind:
    """One kind of file flowdsl writes: its marker, its tables, and 0.1.0's tables."""

    name: str
    marker: int
    # Each table and its columns, as created now and as flowdsl 0.1.0 created them.
    tables: Mapping[str, frozenset[str]]
    legacy: Mapping[str, frozenset[str]]
    schema: tuple[str, ...]
    # Statements that bring a 0.1.0 file to the current tables.
    upgrade: tuple[str, ...] = ()


def _marker(text: str) -> int:
    return int.from_bytes(text.encode("ascii"), "big")


_CACHE_COLUMNS = frozenset({"key", "value", "checksum", "accessed"})

CACHE_FILE = FileKind(
    name="cache",
    marker=_marker("FDSC"),
    tables={"flowdsl_cache": _CACHE_COLUMNS},
    legacy={"flowdsl_cache": _CACHE_COLUMNS},
    schema=(
        """CREATE TABLE flowdsl_cache (
            key TEXT PRIMARY KEY NOT NULL,
            value BLOB NOT NULL,
            checksum BLOB NOT NULL,
            accessed INTEGER NOT NULL
        )""",
        "CREATE INDEX flowdsl_cache_accessed ON flowdsl_cache (accessed)",
    ),
)

_RUN_COLUMNS = frozenset({"run_id", "graph", "serializer", "inputs", "mac", "started"})
_OUTPUT_COLUMNS = frozenset({"run_id", "vertex", "code", "value", "mac", "completed"})

CHECKPOINT_FILE = FileKind(
    name="checkpoint",
    marker=_marker("FDSK"),
    tables={"runs": _RUN_COLUMNS | {"nonce"}, "outputs": _OUTPUT_COLUMNS},
    legacy={"runs": _RUN_COLUMNS, "outputs": _OUTPUT_COLUMNS},
    schema=(
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            graph TEXT NOT NULL,
            serializer TEXT NOT NULL,
            inputs BLOB NOT NULL,
            mac TEXT NOT NULL,
            started REAL NOT NULL,
            nonce TEXT
        )""",
        """CREATE TABLE outputs (
            run_id TEXT NOT NULL,
            vertex TEXT NOT NULL,
            code TEXT NOT NULL,
            value BLOB NOT NULL,
            mac TEXT NOT NULL,
            completed REAL NOT NULL,
            PRIMARY KEY (run_id, vertex)
        )""",
    ),
    # 0.1.0's runs have no nonce: they are listed, never restored from.
    upgrade=("ALTER TABLE runs ADD COLUMN nonce TEXT",),
)

_KINDS = (CACHE_FILE, CHECKPOINT_FILE)

ErrorFactory = Callable[[str], Exception]
_State = Literal["new", "current", "legacy"]


class _Refused(Exception):
    """What the file holds rules it out; the message says what it is."""


def _tables(conn: sqlite3.Connection) -> dict[str, frozenset[str]]:
    names = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        name: frozenset(row[1] for row in conn.execute(f'PRAGMA table_info("{name}")'))
        for name in names
    }


def _classify(conn: sqlite3.Connection, kind: FileKind) -> _State:
    # What the file is, read without writing anything.
    (marker,) = conn.execute("PRAGMA application_id").fetchone()
    tables = _tables(conn)
    if marker == kind.marker:
        if all(tables.get(name, frozenset()) >= columns for name, columns in kind.tables.items()):
            return "current"
        raise _Refused(f"is marked as a flowdsl {kind.name} file, but its tables are damaged")
    for other in _KINDS:
        if other is not kind and (
            marker == other.marker or (not marker and tables == other.legacy)
        ):
            raise _Refused(f"is a flowdsl {other.name} file, not a {kind.name} file")
    if not marker and tables == kind.legacy:
        return "legacy"
    if not marker and not tables and _untouched(conn):
        return "new"
    if tables:
        listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise _Refused(f"is a SQLite database of another application (tables: {listed})")
    raise _Refused("is a SQLite database that flowdsl did not write")


def _untouched(conn: sqlite3.Connection) -> bool:
    # Never given a table nor a user version: an empty file (page_count
    # would say 1 inside the write transaction that creates the tables).
    (schema,) = conn.execute("PRAGMA schema_version").fetchone()
    (user,) = conn.execute("PRAGMA user_version").fetchone()
    return bool(schema == 0 and user == 0)


def _uri(path: str, mode: str) -> str:
    return f"{pathlib.Path(path).resolve().as_uri()}?mode={mode}"


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _retrying(action: Callable[[], T], deadline: float) -> T:
    # SQLite's busy handler does not cover every wait (a journal mode
    # switch, a read lock upgraded to a write lock): those are retried here.
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(random.uniform(0.002, 0.02))


def inspect_file(path: str, kind: FileKind, error: ErrorFactory, timeout: float = 10.0) -> None:
    """Refuse, without changing it, a file that is missing or not flowdsl's ``kind`` file."""
    _inspect(path, kind, error, timeout, create=False)


def _inspect(
    path: str, kind: FileKind, error: ErrorFactory, timeout: float, *, create: bool
) -> _State:
    if os.path.isdir(path):
        raise error(f"{path} is a directory, not a {kind.name} file")
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        if create:
            return "new"
        raise error(f"{path} does not exist") from None
    except OSError as exc:
        raise error(f"{path}: cannot read it: {exc}") from exc
    if size == 0:
        if create:
            return "new"
        raise error(f"{path} is empty, not a flowdsl {kind.name} file")
    deadline = time.monotonic() + timeout

    def look() -> _State:
        conn = sqlite3.connect(_inspection_uri(path), uri=True, timeout=timeout)
        try:
            return _classify(conn, kind)
        finally:
            conn.close()

    try:
        return _retrying(look, deadline)
    except _Refused as exc:
        raise error(f"{path} {exc}; flowdsl refuses it and leaves it unchanged") from None
    except sqlite3.DatabaseError as exc:
        raise error(_sqlite_problem(path, kind, exc, timeout)) from exc


def _inspection_uri(path: str) -> str:
    # A read-only connection to a file in WAL mode creates the -wal and -shm
    # files it finds missing, and leaves them behind. With no -wal file
    # nobody writes the database, and everything is in the main file: it is
    # then read as immutable, which creates nothing.
    with open(path, "rb") as file:
        header = file.read(100)
    if not header.startswith(b"SQLite format 3\x00"):
        raise _Refused("is not a SQLite database")
    in_wal_mode = header[18:20] == b"\x02\x02"
    if in_wal_mode and not os.path.exists(f"{path}-wal"):
        return _uri(path, "ro") + "&immutable=1"
    return _uri(path, "ro")


def _sqlite_problem(path: str, kind: FileKind, exc: sqlite3.Error, timeout: float) -> str:
    if _is_busy(exc):
        return f"{path}: still locked by another connection after {timeout:g} s ({exc})"
    if "not a database" in str(exc):
        return f"{path} is not a SQLite database"
    return f"{path}: cannot use it as a flowdsl {kind.name} file: {exc}"


def open_database(
    path: str, kind: FileKind, error: ErrorFactory, *, create: bool, timeout: float
) -> sqlite3.Connection:
    """A connection to flowdsl's ``kind`` file at ``path`` (WAL mode, autocommit).

    With ``create``, a missing path or an empty file becomes a new file of
    that kind. Raises ``error(message)`` when the file is not one to open.
    """
    state = _inspect(path, kind, error, timeout, create=create)
    deadline = time.monotonic() + timeout
    try:
        conn = sqlite3.connect(
            _uri(path, "rwc" if create else "rw"),
            uri=True,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise error(f"{path}: cannot open it: {exc}") from exc
    try:
        if state != "current":
            _retrying(lambda: _set_up(conn, kind), deadline)
        _retrying(lambda: _use_wal(conn), deadline)
        conn.execute("PRAGMA synchronous=NORMAL")
    except _Refused as exc:
        conn.close()
        raise error(f"{path} {exc}; flowdsl refuses it and leaves it unchanged") from None
    except sqlite3.Error as exc:
        conn.close()
        raise error(_sqlite_problem(path, kind, exc, timeout)) from exc
    return conn


def _set_up(conn: sqlite3.Connection, kind: FileKind) -> None:
    # Looked at again under the write lock: another process may have
    # created the file, or upgraded it, since it was first read.
    conn.execute("BEGIN IMMEDIATE")
    try:
        state = _classify(conn, kind)
        statements = {"new": kind.schema, "legacy": kind.upgrade, "current": ()}[state]
        for statement in statements:
            conn.execute(statement)
        if state != "current":
            conn.execute(f"PRAGMA application_id = {kind.marker}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _use_wal(conn: sqlite3.Connection) -> None:
    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    if mode != "wal":
        conn.execute("PRAGMA journal_mode=WAL")
