"""Checkpoints: each completed vertex's output, written to SQLite the moment it completes.

One file holds many runs, each under its run id: the run's inputs, a
fingerprint of its graph, and per vertex the output and a fingerprint of the
vertex's code. Every write is its own transaction (WAL mode, synchronous
``NORMAL``), so a killed process loses at most the vertex it was writing;
a record is never half-written.

A checkpoint file is trusted input with the ``"pickle"`` serializer:
unpickling runs code chosen by whoever wrote the file. ``"json"`` stores data
only. With a ``secret`` every record is signed (HMAC-SHA256) and a record that
fails verification is refused; without one, a checksum detects damage (not
tampering).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._lazy import lazy_module
from ..errors import CheckpointError

if TYPE_CHECKING:
    import pickle
    import sqlite3
else:
    pickle = lazy_module("pickle")
    sqlite3 = lazy_module("sqlite3")

__all__ = ["SERIALIZERS", "CheckpointStore", "RunRecord", "StoredOutput"]

_BUSY_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    graph TEXT NOT NULL,
    serializer TEXT NOT NULL,
    inputs BLOB NOT NULL,
    mac TEXT NOT NULL,
    started REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outputs (
    run_id TEXT NOT NULL,
    vertex TEXT NOT NULL,
    code TEXT NOT NULL,
    value BLOB NOT NULL,
    mac TEXT NOT NULL,
    completed REAL NOT NULL,
    PRIMARY KEY (run_id, vertex)
);
"""


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode("utf-8")


def _json_loads(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"))


def _pickle_dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _pickle_loads(data: bytes) -> Any:
    return pickle.loads(data)


#: Name -> (dumps, loads).
SERIALIZERS: Mapping[str, tuple[Callable[[Any], bytes], Callable[[bytes], Any]]] = {
    "pickle": (_pickle_dumps, _pickle_loads),
    "json": (_json_dumps, _json_loads),
}


@attrs.frozen
class StoredOutput:
    """One vertex's recorded output, and the fingerprint of its code then."""

    code: str
    value: Any


@attrs.frozen
class RunRecord:
    """A checkpointed run: its id, when it started, and the vertices recorded so far.

    >>> from flowdsl import RunRecord
    >>> RunRecord("nightly", 0.0, "pickle", ("extract",)).vertices
    ('extract',)
    """

    run_id: str
    started: float
    serializer: str
    vertices: tuple[str, ...]


class CheckpointStore:
    """A checkpoint file; one connection shared by a process's threads behind a lock.

    Runs record themselves through ``flow.run(checkpoint=...)``; this class
    is how to look at a file and tidy it up.

    >>> import os, tempfile
    >>> from flowdsl import CheckpointStore
    >>> store = CheckpointStore(os.path.join(tempfile.mkdtemp(), "runs.db"))
    >>> store.start("nightly", graph="g", inputs={"day": "mon"})
    >>> [run.run_id for run in store.runs()], store.delete("nightly"), store.runs()
    (['nightly'], True, [])
    >>> store.close()

    Raises ``CheckpointError`` when the file cannot be used (not a database,
    damaged, truncated), a value cannot be serialized, or a record fails
    verification.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        serializer: str = "pickle",
        secret: str | bytes | None = None,
    ) -> None:
        if serializer not in SERIALIZERS:
            raise CheckpointError(
                f"serializer={serializer!r} is not one of: {', '.join(SERIALIZERS)}"
            )
        self.path = os.fspath(path)
        self.serializer = serializer
        self._dumps, self._loads = SERIALIZERS[serializer]
        self._secret = secret.encode("utf-8") if isinstance(secret, str) else secret
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise CheckpointError(
                f"{self.path}: cannot use it as a checkpoint file: {exc}"
            ) from exc

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            self._conn.close()

    # Signing: an HMAC with a secret, a plain digest without one.

    def _mac(self, *parts: str | bytes) -> str:
        message = b"\x1f".join(p.encode("utf-8") if isinstance(p, str) else p for p in parts)
        if self._secret is None:
            return "sha256:" + hashlib.sha256(message).hexdigest()
        return "hmac:" + hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _verify(self, mac: str, what: str, *parts: str | bytes) -> None:
        if not hmac.compare_digest(mac, self._mac(*parts)):
            how = (
                "does not verify with the given secret (written with another secret, without "
                "one, or changed since)"
                if self._secret is not None
                else "is damaged or was signed with a secret (give secret=)"
            )
            raise CheckpointError(f"{self.path}: the record of {what} {how}; nothing was loaded")

    def _dump(self, value: Any, what: str) -> bytes:
        try:
            return self._dumps(value)
        except Exception as exc:
            raise CheckpointError(
                f"{what} cannot be written with the {self.serializer!r} serializer: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    # Runs.

    @contextlib.contextmanager
    def _database(self) -> Iterator[sqlite3.Connection]:
        # The connection, under the lock; a damaged file is a CheckpointError.
        with self._lock:
            try:
                yield self._conn
            except sqlite3.DatabaseError as exc:
                raise CheckpointError(
                    f"{self.path}: the checkpoint file is damaged or not a checkpoint file: {exc}"
                ) from exc

    def start(self, run_id: str, graph: str, inputs: Mapping[str, Any]) -> None:
        """Begin run ``run_id`` afresh: what was recorded under that id is replaced."""
        data = self._dump(dict(inputs), "the run's inputs")
        mac = self._mac(run_id, graph, data)
        with self._database(), self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM outputs WHERE run_id = ?", (run_id,))
            self._conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            self._conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, graph, self.serializer, data, mac, time.time()),
            )

    def load(self, run_id: str) -> tuple[dict[str, Any], dict[str, StoredOutput]]:
        """The inputs and recorded outputs of run ``run_id``, every record verified first."""
        with self._database():
            run = self._conn.execute(
                "SELECT graph, serializer, inputs, mac FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            rows = self._conn.execute(
                "SELECT vertex, code, value, mac FROM outputs WHERE run_id = ?", (run_id,)
            ).fetchall()
        if run is None:
            raise CheckpointError(f"{self.path}: no checkpointed run {run_id!r} to resume")
        graph, serializer, data, mac = run
        if serializer != self.serializer:
            raise CheckpointError(
                f"{self.path}: run {run_id!r} was written with serializer={serializer!r}, "
                f"not {self.serializer!r}"
            )
        self._verify(mac, f"run {run_id!r}", run_id, graph, data)
        for vertex, code, value, row_mac in rows:
            self._verify(
                row_mac, f"vertex {vertex!r} of run {run_id!r}", run_id, vertex, code, value
            )
        try:
            inputs = self._loads(data)
            outputs = {
                vertex: StoredOutput(code, self._loads(value)) for vertex, code, value, _ in rows
            }
        except Exception as exc:  # verified, yet unreadable: written by another version
            raise CheckpointError(
                f"{self.path}: run {run_id!r} has a record that cannot be read: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return inputs, outputs

    def record(self, run_id: str, vertex: str, code: str, value: Any) -> None:
        """Write ``vertex``'s output, in its own transaction."""
        data = self._dump(value, f"the output of vertex {vertex!r}")
        mac = self._mac(run_id, vertex, code, data)
        with self._database(), self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, vertex, code, data, mac, time.time()),
            )

    def runs(self) -> list[RunRecord]:
        """Every run in the file, oldest first."""
        with self._database():
            runs = self._conn.execute(
                "SELECT run_id, started, serializer FROM runs ORDER BY started"
            ).fetchall()
            rows = self._conn.execute(
                "SELECT run_id, vertex FROM outputs ORDER BY completed"
            ).fetchall()
        recorded: dict[str, list[str]] = {}
        for run_id, vertex in rows:
            recorded.setdefault(run_id, []).append(vertex)
        return [
            RunRecord(run_id, started, serializer, tuple(recorded.get(run_id, ())))
            for run_id, started, serializer in runs
        ]

    def delete(self, run_id: str) -> bool:
        """Forget run ``run_id``; whether it was there."""
        with self._database(), self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM outputs WHERE run_id = ?", (run_id,))
            deleted = self._conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,)).rowcount
        return bool(deleted)
