"""Atomic groups: vertices that run as one transaction, and the transaction backends.

``AtomicGroup`` is a plain value at the bottom of the layering (``@vertex``
takes it); its backend is anything with ``begin``, ``commit`` and
``rollback`` (plain or coroutine methods), and optionally ``interrupt``.
Two backends ship:
``SQLiteTransaction`` (a real SQLite connection per transaction) and
``MemoryTransaction`` (a dict, for tests).
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from ._lazy import lazy_module

if TYPE_CHECKING:
    import sqlite3
else:
    sqlite3 = lazy_module("sqlite3")

__all__ = ["AtomicGroup", "MemoryTransaction", "SQLiteTransaction", "TransactionBackend"]

OnFailure = Literal["rollback", "compensate"]


@runtime_checkable
class TransactionBackend(Protocol):
    """Begins, commits and rolls back the transactions of an atomic group.

    Each method may be a coroutine function; flowdsl awaits it then.

    A backend may also have ``interrupt(transaction)``, a plain method (not
    one of the protocol's required methods). When the group is undone while
    a member runs on a worker thread (its timeout, a cancellation, a failure
    elsewhere), flowdsl calls it once, from the event loop's thread, waits
    for the member to return, and only then rolls back: a transaction is
    never touched by two threads at once. ``interrupt`` must return at once,
    be safe to call from any thread, and make the transaction refuse further
    work, so that the member fails soon. Without it, the group waits for the
    member to finish; ``result.metrics.vertices[name].stop_wait`` says how
    long it waited.
    """

    def begin(self, group: AtomicGroup) -> Any:
        """Start a transaction for one run of ``group``; return it."""

    def commit(self, transaction: Any) -> Any:
        """Make what the transaction did permanent."""

    def rollback(self, transaction: Any) -> Any:
        """Undo everything the transaction did."""


class AtomicGroup:
    """Vertices that run as one unit, inside one transaction of ``backend``.

    When every input the group needs from outside exists, the backend
    begins a transaction, the group's vertices run one at a time in
    topological order, and the transaction commits; on a failure it rolls back
    (``on_failure="rollback"``) or each completed vertex's ``compensate=``
    function runs, newest first (``"compensate"``), and nothing the group
    produced stays in the run. A group is identified by the object, not its
    name.

    Examples:
        >>> from flowdsl import AtomicGroup, MemoryTransaction, vertex
        >>> payment = AtomicGroup("payment", backend=MemoryTransaction())
        >>> @vertex(group=payment)
        ... def charge(amount: int) -> int:
        ...     return amount
    """

    def __init__(
        self,
        name: str,
        *,
        backend: TransactionBackend | None = None,
        on_failure: OnFailure = "rollback",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"AtomicGroup takes a non-empty name; got {name!r}")
        if on_failure not in ("rollback", "compensate"):
            raise ValueError(
                f"AtomicGroup({name!r}): on_failure={on_failure!r} is not 'rollback' or "
                "'compensate'"
            )
        if on_failure == "rollback" and backend is None:
            raise ValueError(
                f"AtomicGroup({name!r}): on_failure='rollback' needs a backend to roll back"
            )
        if backend is not None and not all(
            callable(getattr(backend, method, None)) for method in ("begin", "commit", "rollback")
        ):
            raise ValueError(
                f"AtomicGroup({name!r}): backend={backend!r} has no begin, commit and rollback"
            )
        interrupt = getattr(backend, "interrupt", None)
        if interrupt is not None and (
            not callable(interrupt) or inspect.iscoroutinefunction(interrupt)
        ):
            raise ValueError(
                f"AtomicGroup({name!r}): backend={backend!r} has an interrupt that is not a "
                "plain method (it is called while a member runs, and must return at once)"
            )
        self.name = name
        self.backend = backend
        self.on_failure: OnFailure = on_failure

    def __repr__(self) -> str:
        return f"AtomicGroup({self.name!r}, on_failure={self.on_failure!r})"


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
