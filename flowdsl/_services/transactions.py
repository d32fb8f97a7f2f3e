"""The transaction backends of atomic groups that ship with flowdsl.

``SQLiteTransaction`` (a real SQLite connection per transaction) and
``MemoryTransaction`` (a dict, for tests); any object with ``begin``,
``commit`` and ``rollback`` serves as well (``flowdsl.TransactionBackend``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from .._groups import AtomicGroup
from .._lazy import lazy_module

if TYPE_CHECKING:
    import sqlite3
else:
    sqlite3 = lazy_module("sqlite3")

__all__ = ["MemoryTransaction", "SQLiteTransaction"]


class SQLiteTransaction:
    """Each transaction is a fresh SQLite connection to ``path`` in ``BEGIN IMMEDIATE``.

    A vertex receives the connection through a parameter annotated
    ``Annotated[sqlite3.Connection, flowdsl.Transaction()]``; commit and
    rollback end the transaction and close the connection.

    ``interrupt`` stops the statement the connection runs
    (``sqlite3.Connection.interrupt``), and statements after it fail the
    same way (``sqlite3.OperationalError: interrupted``; the connection's
    progress handler looks at a stop flag), so that a member looping over
    statements stops too. An interrupted write makes SQLite roll back and
    leave the transaction; a write that still comes begins a new one
    (``isolation_level="IMMEDIATE"``), which the group's rollback undoes:
    nothing is ever written outside the transaction.

    Examples:
        >>> import contextlib, sqlite3, tempfile, os
        >>> from flowdsl import AtomicGroup, SQLiteTransaction
        >>> path = os.path.join(tempfile.mkdtemp(), "shop.db")
        >>> group = AtomicGroup("order", backend=SQLiteTransaction(path))
        >>> connection = group.backend.begin(group)
        >>> _ = connection.execute("CREATE TABLE t (x)")
        >>> group.backend.rollback(connection)
        >>> with contextlib.closing(sqlite3.connect(path)) as check:
        ...     check.execute("SELECT name FROM sqlite_master").fetchall()
        []
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float = 30.0) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        # Per open transaction (by its connection's id), the flag that stops it.
        self._stops: dict[int, threading.Event] = {}

    def begin(self, group: AtomicGroup) -> sqlite3.Connection:
        """Open a connection and begin an immediate (write-locking) transaction."""
        connection = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level="IMMEDIATE", check_same_thread=False
        )
        stop = self._stops[id(connection)] = threading.Event()
        # A statement under way when the stop comes is interrupted at once; one
        # that starts later fails at its next look at the flag.
        connection.set_progress_handler(stop.is_set, _PROGRESS_OPS)
        connection.execute("BEGIN IMMEDIATE")
        return connection

    def commit(self, transaction: sqlite3.Connection) -> None:
        """Commit, then close the connection."""
        try:
            transaction.execute("COMMIT")
        finally:
            self._close(transaction)

    def rollback(self, transaction: sqlite3.Connection) -> None:
        """Roll back (unless SQLite already did, after an interrupt), then close the connection."""
        try:
            # The member has returned: the flag must not stop the rollback.
            transaction.set_progress_handler(None, 0)
            if transaction.in_transaction:
                transaction.execute("ROLLBACK")
        finally:
            self._close(transaction)

    def interrupt(self, transaction: sqlite3.Connection) -> None:
        """Stop the statement the connection runs, and those after it (safe from any thread)."""
        stop = self._stops.get(id(transaction))
        if stop is not None:
            stop.set()
        transaction.interrupt()

    def _close(self, transaction: sqlite3.Connection) -> None:
        self._stops.pop(id(transaction), None)
        transaction.close()


#: VM operations between two looks of a transaction's connection at its stop flag:
#: rare enough to cost nothing (each look takes the GIL), often enough that a
#: member looping over small statements stops within milliseconds.
_PROGRESS_OPS = 100_000


class _Staged(MutableMapping[str, Any]):
    """The writes of one ``MemoryTransaction`` transaction, over the committed data."""

    def __init__(self, committed: dict[str, Any]) -> None:
        self.committed = committed
        self.writes: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self.writes[key] if key in self.writes else self.committed[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes[key] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError("a MemoryTransaction keeps writes only")

    def __iter__(self) -> Iterator[str]:
        return iter({**self.committed, **self.writes})

    def __len__(self) -> int:
        return len({**self.committed, **self.writes})


class MemoryTransaction:
    """An in-memory backend for tests: ``data`` holds what committed transactions wrote.

    A vertex receives a mapping to write to; it reaches ``data`` on commit
    and vanishes on rollback.

    Examples:
        >>> from flowdsl import AtomicGroup, MemoryTransaction
        >>> backend = MemoryTransaction()
        >>> group = AtomicGroup("g", backend=backend)
        >>> staged = backend.begin(group)
        >>> staged["x"] = 1
        >>> backend.commit(staged)
        >>> backend.data, backend.commits, backend.rollbacks
        ({'x': 1}, 1, 0)
    """

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.commits = 0
        self.rollbacks = 0
        self._lock = threading.Lock()

    def begin(self, group: AtomicGroup) -> _Staged:
        """A fresh staging area over the committed data."""
        return _Staged(self.data)

    def commit(self, transaction: _Staged) -> None:
        """Apply the staged writes."""
        with self._lock:
            self.data.update(transaction.writes)
            self.commits += 1

    def rollback(self, transaction: _Staged) -> None:
        """Drop the staged writes."""
        with self._lock:
            transaction.writes.clear()
            self.rollbacks += 1
