"""Atomic groups undone while a member writes to SQLite on a worker thread.

Run as ``python -m tests.runtime._stopped_members TRIGGER FOLDER``: for each
mode of the trigger it runs a group whose second member writes rows until it
is stopped, stops it (its own ``timeout=``, ``handle.cancel()``, or a failure
elsewhere under ``on_error="raise"``), and prints one JSON line: what the file
holds afterwards and whether the member had returned when the run ended. It
runs in a subprocess because the defect it guards against was a segfault.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import anyio

import flowdsl
from flowdsl import AtomicGroup, SQLiteTransaction, Transaction, vertex

Db = Annotated[sqlite3.Connection, Transaction()]

#: (backend, event loop, whether the member swallows the errors of its statements)
MODES: dict[str, list[tuple[str, str, bool]]] = {
    "timeout": [
        ("serial", "asyncio", False),
        ("serial", "trio", False),
        ("thread", "asyncio", False),
        ("thread", "trio", False),
        ("async", "asyncio", False),
        ("async", "trio", False),
        ("thread", "asyncio", True),
    ],
    "cancel": [
        ("serial", "asyncio", False),
        ("thread", "asyncio", False),
        ("thread", "trio", False),
        ("async", "asyncio", False),
        ("async", "trio", False),
        ("thread", "trio", True),
    ],
    "failure": [
        ("thread", "asyncio", False),
        ("thread", "trio", False),
        ("async", "asyncio", False),
        ("async", "trio", False),
        ("thread", "asyncio", True),
    ],
}

#: How long the member writes at most: far longer than any trigger takes.
PATIENCE = 20.0


def scenario(trigger: str, backend: str, loop: str, stubborn: bool, folder: Path) -> dict[str, Any]:
    """Stop a writing member by ``trigger``; report the file and the member afterwards."""
    database = folder / f"{trigger}-{backend}-{loop}-{stubborn}.db"
    with closing(sqlite3.connect(database)) as setup, setup:
        setup.execute("CREATE TABLE t (who TEXT, n INTEGER)")
    group = AtomicGroup("g", backend=SQLiteTransaction(database))
    started, returned = threading.Event(), threading.Event()
    # The member's own deadline, when the trigger is not its timeout: under
    # serial only a member with a timeout runs on a worker thread.
    timeout = 0.05 if trigger == "timeout" else (60.0 if backend == "serial" else None)

    @vertex(group=group)
    def first(x: int, db: Db) -> int:
        db.execute("INSERT INTO t VALUES ('first', ?)", (x,))
        return x

    @vertex(group=group, timeout=timeout, blocking=True)
    def writer(first: int, db: Db) -> int:
        started.set()
        try:
            # A stubborn member catches the errors and goes on for a while.
            end = time.monotonic() + (0.3 if stubborn else PATIENCE)
            n = 0
            while time.monotonic() < end:
                n += 1
                try:
                    db.execute("INSERT INTO t VALUES ('writer', ?)", (n,))
                except sqlite3.OperationalError:
                    if not stubborn:
                        raise
            return n
        finally:
            returned.set()

    @vertex(group=group)
    def last(writer: int, db: Db) -> int:
        db.execute("INSERT INTO t VALUES ('last', ?)", (writer,))
        return writer

    functions: list[Any] = [first, writer, last]
    if trigger == "failure":

        @vertex
        async def elsewhere(x: int) -> int:
            while not started.is_set():  # polled: the loop's thread must not block
                await anyio.sleep(0.001)
            raise RuntimeError("elsewhere")

        functions.append(elsewhere)
    flow = flowdsl.Flow.from_functions(*functions)
    options: dict[str, Any] = {"backend": backend, "anyio_backend": loop}
    began = time.monotonic()
    try:
        if trigger == "cancel":
            handle = flow.start({"x": 1}, **options)
            started.wait(PATIENCE)
            handle.cancel()
            handle.result(PATIENCE)
        else:
            flow.run({"x": 1}, **options)
        outcome, partial = "returned", None
    except (flowdsl.VertexFailed, flowdsl.FlowCancelled) as error:
        outcome, partial = type(error).__name__, error.result
    returned_at_end = returned.is_set()
    took = time.monotonic() - began
    with closing(sqlite3.connect(database)) as check, check:
        rows = check.execute("SELECT count(*) FROM t").fetchone()[0]
        integrity = check.execute("PRAGMA integrity_check").fetchone()[0]
    report: dict[str, Any] = {
        "mode": [backend, loop, stubborn],
        "outcome": outcome,
        "returned_at_end": returned_at_end,
        "rows": rows,
        "integrity": integrity,
        "seconds": round(took, 3),
    }
    if partial is not None:
        report["states"] = {name: str(state) for name, state in partial.states.items()}
        writer_metrics = partial.metrics.vertices.get("writer")
        report["stop_wait"] = None if writer_metrics is None else writer_metrics.stop_wait
    return report


def main(trigger: str, folder: str) -> None:
    """Run every mode of ``trigger``: a line as each starts, a JSON line as it ends."""
    for backend, loop, stubborn in MODES[trigger]:
        print(f"starting {backend} {loop} stubborn={stubborn}", flush=True)
        print(json.dumps(scenario(trigger, backend, loop, stubborn, Path(folder))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
