"""Checkpoints: each completed vertex's output, written to SQLite the moment it completes.

One file holds many runs, each under its run id: the run's inputs, when it
started, a random nonce drawn when it started, a fingerprint of its graph,
and per vertex the output and the vertex's fingerprint (see
``vertex_fingerprint``). Every write is its own transaction (WAL mode,
synchronous ``NORMAL``), so a killed process loses at most the vertex it was
writing; a record is never half-written.

Each record is signed over everything it depends on: the run's record over
its id, nonce, start time, graph, serializer and inputs; each output over
the run's id, nonce and inputs, the vertex, its fingerprint and the value.
So an output copied from another run, or from an earlier run under the same
id, does not verify. With a ``secret`` the signature is an HMAC-SHA256 and a
record that fails verification is refused; without one it is a checksum that
detects damage, not tampering.

A checkpoint file is trusted input with the ``"pickle"`` serializer:
unpickling runs code chosen by whoever wrote the file. ``"json"`` stores data
only, and refuses a value that would not come back exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._lazy import lazy_module
from ..errors import CheckpointError
from .sqlite_files import CHECKPOINT_FILE, open_database

if TYPE_CHECKING:
    import pickle
    import sqlite3
else:
    pickle = lazy_module("pickle")
    sqlite3 = lazy_module("sqlite3")

__all__ = ["SERIALIZERS", "CheckpointStore", "RunRecord", "StoredOutput"]

_BUSY_TIMEOUT = 30.0
# Signatures of this format start with it; 0.1.0's runs have none (no nonce).
_FORMAT = b"flowdsl-checkpoint-2"

logger = logging.getLogger("flowdsl")


def _json_dumps(value: Any) -> bytes:
    data = json.dumps(value).encode("utf-8")
    difference = _json_difference(value, json.loads(data), "")
    if difference is not None:
        raise ValueError(f"{difference}, so it would not come back as it was")
    return data


def _json_difference(value: Any, back: Any, path: str) -> str | None:
    # Where ``value`` and its JSON round trip ``back`` first differ, if anywhere.
    where = path or "the value"
    if type(value) is not type(back):
        return f"{where} is a {type(value).__name__}, read back as a {type(back).__name__}"
    if isinstance(value, dict):
        if len(value) != len(back):
            return f"{where} has keys that are read back as one (such as 1 and '1')"
        for key, key_back in zip(value, back, strict=True):
            if type(key) is not type(key_back) or key != key_back:
                return f"{where} has the key {key!r}, read back as {key_back!r}"
        pairs = [(value[key], back[key], f"{path}[{key!r}]") for key in value]
    elif isinstance(value, list):
        pairs = [(v, b, f"{path}[{i}]") for i, (v, b) in enumerate(zip(value, back, strict=True))]
    elif isinstance(value, float):
        same = value == back or (math.isnan(value) and math.isnan(back))
        return None if same else f"{where} is {value!r}, read back as {back!r}"
    else:
        return None if value == back else f"{where} is {value!r}, read back as {back!r}"
    for inner, inner_back, inner_path in pairs:
        difference = _json_difference(inner, inner_back, inner_path)
        if difference is not None:
            return difference
    return None


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

    Examples:
        >>> from flowdsl import RunRecord
        >>> RunRecord("nightly", 0.0, "pickle", ("extract",)).vertices
        ('extract',)
    """

    run_id: str
    started: float
    serializer: str
    vertices: tuple[str, ...]


@attrs.frozen
class _Seal:
    # What binds an output record to one run instance.
    nonce: str
    inputs: bytes  # the digest of the run's stored inputs


class CheckpointStore:
    """A checkpoint file; one connection shared by a process's threads behind a lock.

    Runs record themselves through ``flow.run(checkpoint=...)``; this class
    is how to look at a file and tidy it up.

    Examples:
        >>> import os, tempfile
        >>> from flowdsl import CheckpointStore
        >>> path = os.path.join(tempfile.mkdtemp(), "runs.db")
        >>> store = CheckpointStore(path, create=True)
        >>> store.start("nightly", graph="g", inputs={"day": "mon"})
        >>> [run.run_id for run in store.runs()], store.delete("nightly"), store.runs()
        (['nightly'], True, [])
        >>> store.close()

    The file must exist and be a flowdsl checkpoint file, unless ``create``
    is true: then a missing path or an empty file becomes a new one. Files
    written by flowdsl 0.1.0 are opened (and brought up to date).

    Raises ``CheckpointError`` when the file cannot be used (missing, not a
    database, another application's database, a cache file, damaged,
    truncated; such a file is left unchanged), a value cannot be
    serialized, or a record fails verification.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        serializer: str = "pickle",
        secret: str | bytes | None = None,
        *,
        create: bool = False,
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
        # The runs this store started or loaded, which it may record outputs of.
        self._seals: dict[str, _Seal] = {}
        self._conn = open_database(
            self.path, CHECKPOINT_FILE, CheckpointError, create=create, timeout=_BUSY_TIMEOUT
        )

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            self._conn.close()

    # Signing: an HMAC with a secret, a plain digest without one.

    def _mac(self, *parts: str | bytes) -> str:
        message = bytearray(_FORMAT)
        for part in parts:
            data = part.encode("utf-8") if isinstance(part, str) else part
            message += len(data).to_bytes(8, "little") + data
        return self._sign(bytes(message))

    def _legacy_mac(self, *parts: str | bytes) -> str:
        # How flowdsl 0.1.0 signed a run's record.
        return self._sign(
            b"\x1f".join(p.encode("utf-8") if isinstance(p, str) else p for p in parts)
        )

    def _sign(self, message: bytes) -> str:
        if self._secret is None:
            return "sha256:" + hashlib.sha256(message).hexdigest()
        return "hmac:" + hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _verify(self, mac: str, expected: str, what: str) -> None:
        if not hmac.compare_digest(mac, expected):
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
        nonce, started = secrets.token_hex(16), time.time()
        mac = self._mac(run_id, nonce, repr(started), graph, self.serializer, data)
        with self._database(), self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM outputs WHERE run_id = ?", (run_id,))
            self._conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            self._conn.execute(
                "INSERT INTO runs (run_id, graph, serializer, inputs, mac, started, nonce) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, graph, self.serializer, data, mac, started, nonce),
            )
            self._seals[run_id] = _Seal(nonce, hashlib.sha256(data).digest())

    def load(self, run_id: str) -> tuple[dict[str, Any], dict[str, StoredOutput]]:
        """The inputs and recorded outputs of run ``run_id``, every record verified first.

        A run recorded by flowdsl 0.1.0 gives its inputs and no outputs: its
        records do not say what each vertex read, so none can be restored. It
        is started again, with the same inputs, so that it records anew.
        """
        with self._database():
            run = self._conn.execute(
                "SELECT graph, serializer, inputs, mac, started, nonce FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            rows = self._conn.execute(
                "SELECT vertex, code, value, mac FROM outputs WHERE run_id = ?", (run_id,)
            ).fetchall()
        if run is None:
            raise CheckpointError(f"{self.path}: no checkpointed run {run_id!r} to resume")
        graph, serializer, data, mac, started, nonce = run
        if serializer != self.serializer:
            raise CheckpointError(
                f"{self.path}: run {run_id!r} was written with serializer={serializer!r}, "
                f"not {self.serializer!r}"
            )
        what = f"run {run_id!r}"
        if nonce is None:
            self._verify(mac, self._legacy_mac(run_id, graph, data), what)
            inputs = self._read(run_id, data)
            logger.warning(
                "%s: run %r was recorded by flowdsl 0.1.0, which did not record what each "
                "vertex read: it starts again, with its stored inputs",
                self.path,
                run_id,
            )
            self.start(run_id, graph, inputs)
            return inputs, {}
        self._verify(mac, self._mac(run_id, nonce, repr(started), graph, serializer, data), what)
        seal = _Seal(nonce, hashlib.sha256(data).digest())
        for vertex, code, value, row_mac in rows:
            expected = self._mac(run_id, seal.nonce, seal.inputs, vertex, code, value)
            self._verify(row_mac, expected, f"vertex {vertex!r} of run {run_id!r}")
        inputs = self._read(run_id, data)
        outputs = {
            vertex: StoredOutput(code, self._read(run_id, value)) for vertex, code, value, _ in rows
        }
        with self._lock:
            self._seals[run_id] = seal
        return inputs, outputs

    def _read(self, run_id: str, data: bytes) -> Any:
        try:
            return self._loads(data)
        except Exception as exc:  # verified, yet unreadable: written by another version
            raise CheckpointError(
                f"{self.path}: run {run_id!r} has a record that cannot be read: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def record(self, run_id: str, vertex: str, code: str, value: Any) -> None:
        """Write ``vertex``'s output, in its own transaction, to a run this store started
        or loaded; ``code`` is the vertex's fingerprint."""
        data = self._dump(value, f"the output of vertex {vertex!r}")
        with self._database(), self._conn:
            seal = self._seals.get(run_id)
            if seal is None:
                raise CheckpointError(f"run {run_id!r} was not started or loaded by this store")
            mac = self._mac(run_id, seal.nonce, seal.inputs, vertex, code, data)
            # Written only while the run is still the one this store holds.
            written = self._conn.execute(
                "INSERT OR REPLACE INTO outputs SELECT ?, ?, ?, ?, ?, ? "
                "WHERE EXISTS (SELECT 1 FROM runs WHERE run_id = ? AND nonce = ?)",
                (run_id, vertex, code, data, mac, time.time(), run_id, seal.nonce),
            ).rowcount
        if not written:
            raise CheckpointError(
                f"{self.path}: run {run_id!r} was started again or deleted meanwhile (by "
                "another run or process under the same run id); this output is not recorded"
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
