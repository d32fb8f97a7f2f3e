"""Atomic groups: one transaction per group, committed together or undone together."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import anyio
import pytest

import flowdsl
from flowdsl import (
    AtomicGroup,
    MemoryTransaction,
    RollbackFailed,
    SQLiteTransaction,
    Transaction,
    vertex,
)
from tests.runtime._modes import every_mode, in_fresh_process, run_in
from tests.runtime._stopped_members import MODES

PATIENCE = 10.0  # seconds any wait may take before the test fails instead of hanging


def _payment_flow(
    backend: Any, *, fail: dict[str, bool], on_failure: str = "rollback"
) -> tuple[flowdsl.Flow, list[str]]:
    events: list[str] = []
    group = AtomicGroup("payment", backend=backend, on_failure=on_failure)  # type: ignore[arg-type]

    def refund(capture: str, order: int) -> None:
        events.append(f"refund {capture} {order}")

    def release(reserve: str) -> None:
        events.append(f"release {reserve}")

    @vertex
    def order(amount: int) -> int:
        return amount

    @vertex(group=group, compensate=release if on_failure == "compensate" else None)
    def reserve(order: int, tx: Annotated[Any, Transaction()]) -> str:
        if fail.get("reserve"):
            raise RuntimeError("out of stock")
        tx["reserved"] = order
        events.append("reserve")
        return "r1"

    @vertex(group=group, compensate=refund if on_failure == "compensate" else None)
    async def capture(reserve: str, order: int, tx: Annotated[Any, Transaction()]) -> str:
        await anyio.sleep(0)
        tx["captured"] = order
        events.append("capture")
        return "c1"

    @vertex(group=group)
    def notify(capture: str) -> str:
        if fail.get("notify"):
            raise RuntimeError("mail server down")
        events.append("notify")
        return "sent"

    @vertex
    def receipt(notify: str, capture: str) -> str:
        return f"receipt for {capture}"

    @vertex
    def other(order: int) -> int:
        return order * 2

    flow = flowdsl.Flow.from_functions(order, reserve, capture, notify, receipt, other)
    return flow, events


@every_mode
def test_a_group_commits_as_one_transaction(mode: tuple[str, str]) -> None:
    backend = MemoryTransaction()
    flow, events = _payment_flow(backend, fail={})
    result = run_in(mode, flow, {"amount": 7})
    assert result["receipt"] == "receipt for c1"
    assert backend.data == {"reserved": 7, "captured": 7}
    assert (backend.commits, backend.rollbacks) == (1, 0)
    assert events == ["reserve", "capture", "notify"]
    assert set(map(str, result.states.values())) == {"completed"}


@every_mode
def test_a_failure_rolls_back_everything_the_group_did(mode: tuple[str, str]) -> None:
    backend = MemoryTransaction()
    flow, _ = _payment_flow(backend, fail={"notify": True})
    with pytest.raises(flowdsl.VertexFailed) as caught:
        run_in(mode, flow, {"amount": 7})
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert backend.data == {}
    assert (backend.commits, backend.rollbacks) == (0, 1)
    partial = caught.value.result
    assert partial is not None
    assert str(partial.states["notify"]) == "failed"
    assert str(partial.states["reserve"]) == "rolled_back"
    assert str(partial.states["capture"]) == "rolled_back"
    assert "reserve" not in partial
    assert "capture" not in partial.order


@every_mode
def test_under_continue_the_rest_of_the_flow_goes_on(mode: tuple[str, str]) -> None:
    backend = MemoryTransaction()
    flow, _ = _payment_flow(backend, fail={"notify": True})
    result = run_in(mode, flow, {"amount": 7}, on_error="continue")
    states = {name: str(state) for name, state in result.states.items()}
    assert states == {
        "order": "completed",
        "reserve": "rolled_back",
        "capture": "rolled_back",
        "notify": "failed",
        "receipt": "skipped",
        "other": "completed",
    }
    assert dict(result) == {"order": 7, "other": 14}


def test_a_real_sqlite_transaction(tmp_path: Path) -> None:
    database = tmp_path / "shop.db"
    with closing(sqlite3.connect(database)) as setup, setup:
        setup.execute("CREATE TABLE ledger (entry TEXT)")
    group = AtomicGroup("ledger", backend=SQLiteTransaction(database))
    fail = {"second": False}

    @vertex(group=group)
    def first(n: int, db: Annotated[sqlite3.Connection, Transaction()]) -> int:
        db.execute("INSERT INTO ledger VALUES (?)", (f"first {n}",))
        return n

    @vertex(group=group)
    def second(first: int, db: Annotated[sqlite3.Connection, Transaction()]) -> int:
        db.execute("INSERT INTO ledger VALUES (?)", (f"second {first}",))
        if fail["second"]:
            raise ValueError("constraint")
        return first

    flow = flowdsl.Flow.from_functions(first, second)

    def rows() -> list[str]:
        with closing(sqlite3.connect(database)) as reader, reader:
            return [row[0] for row in reader.execute("SELECT entry FROM ledger")]

    flow.run({"n": 1}, backend="thread")
    assert rows() == ["first 1", "second 1"]
    fail["second"] = True
    with pytest.raises(flowdsl.VertexFailed):
        flow.run({"n": 2}, backend="thread")
    assert rows() == ["first 1", "second 1"]  # nothing of the failed run remains


@every_mode
def test_compensation_runs_newest_first_with_inputs_and_output(mode: tuple[str, str]) -> None:
    backend = MemoryTransaction()
    flow, events = _payment_flow(backend, fail={"notify": True}, on_failure="compensate")
    result = run_in(mode, flow, {"amount": 3}, on_error="continue")
    assert events == ["reserve", "capture", "refund c1 3", "release r1"]
    assert str(result.states["capture"]) == "rolled_back"
    assert (backend.commits, backend.rollbacks) == (0, 1)


def test_a_failing_rollback_is_raised_with_the_original_failure() -> None:
    class BrokenRollback(MemoryTransaction):
        def rollback(self, transaction: Any) -> None:
            raise OSError("disk gone")

    flow, _ = _payment_flow(BrokenRollback(), fail={"notify": True})
    with pytest.raises(RollbackFailed) as caught:
        flow.run({"amount": 1})
    error = caught.value
    assert isinstance(error, flowdsl.VertexFailed)
    assert isinstance(error.__cause__, RuntimeError)
    assert [type(e) for e in error.errors] == [OSError]
    assert "mail server down" in str(error)
    assert "disk gone" in str(error)
    assert error.vertex == "notify"


def test_coroutine_backend_methods_are_awaited() -> None:
    calls: list[str] = []

    class AsyncBackend:
        async def begin(self, group: AtomicGroup) -> dict[str, Any]:
            calls.append(f"begin {group.name}")
            return {}

        async def commit(self, transaction: dict[str, Any]) -> None:
            calls.append(f"commit {sorted(transaction)}")

        async def rollback(self, transaction: dict[str, Any]) -> None:
            calls.append("rollback")

    flow, _ = _payment_flow(AsyncBackend(), fail={})
    flow.run({"amount": 1}, backend="async")
    assert calls == ["begin payment", "commit ['captured', 'reserved']"]


def test_the_transaction_begins_once_every_outside_input_exists() -> None:
    seen: list[str] = []
    group = AtomicGroup("g", backend=MemoryTransaction())

    @vertex(blocking=True)
    def slow(x: int) -> int:
        time.sleep(0.1)
        seen.append("slow done")
        return x

    @vertex(group=group)
    def inside_first(x: int) -> int:
        seen.append("first")
        return x

    @vertex(group=group)
    def inside_second(inside_first: int, slow: int) -> int:
        return inside_first + slow

    flow = flowdsl.Flow.from_functions(slow, inside_first, inside_second)
    assert flow.run({"x": 1}, backend="thread")["inside_second"] == 2
    assert seen == ["slow done", "first"]


def test_caching_is_off_inside_a_group() -> None:
    calls = []
    group = AtomicGroup("g", backend=MemoryTransaction())

    @vertex(group=group, pure=True)
    def member(x: int) -> int:
        calls.append(x)
        return x

    flow = flowdsl.Flow.from_functions(member)
    store = flowdsl.MemoryCache()
    flow.run({"x": 1}, cache=store)
    flow.run({"x": 1}, cache=store)
    assert calls == [1, 1]


def test_a_group_is_checkpointed_only_when_it_commits(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    backend = MemoryTransaction()
    flow, events = _payment_flow(backend, fail={"notify": True})
    with pytest.raises(flowdsl.VertexFailed):
        flow.run({"amount": 2}, checkpoint=database, run_id="pay")
    events.clear()
    from flowdsl._services.checkpoints import CheckpointStore

    store = CheckpointStore(database)
    assert set(store.runs()[0].vertices) <= {"order", "other"}
    store.close()


@pytest.mark.anyio
async def test_a_cancelled_group_is_rolled_back() -> None:
    backend = MemoryTransaction()
    group = AtomicGroup("g", backend=backend)
    started = anyio.Event()

    @vertex(group=group)
    async def write(x: int, tx: Annotated[Any, Transaction()]) -> int:
        tx["x"] = x
        return x

    @vertex(group=group)
    async def hang(write: int) -> int:
        started.set()
        await anyio.sleep(30)
        return write

    flow = flowdsl.Flow.from_functions(write, hang)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(flow.arun, {"x": 1})
        await started.wait()
        tasks.cancel_scope.cancel()
    assert backend.data == {}
    assert backend.rollbacks == 1


# --------------------------------------------------------------------------- compile errors


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"group": "payment"}, "group= takes a flowdsl.AtomicGroup"),
        ({"group": [AtomicGroup("a", backend=MemoryTransaction())] * 2}, "one group at most"),
        ({"compensate": print}, "compensate= undoes a vertex of an AtomicGroup"),
        (
            {
                "group": AtomicGroup("c", on_failure="compensate"),
                "compensate": lambda missing: None,
            },
            "compensate '<lambda>' needs 'missing'",
        ),
    ],
)
def test_bad_group_options(options: dict[str, Any], message: str) -> None:
    def target(x: int) -> int:
        return x

    with pytest.raises(flowdsl.InvalidVertexError, match=message):
        vertex(**options)(target)


class _AsyncInterrupt(MemoryTransaction):
    async def interrupt(self, transaction: Any) -> None:
        """Not allowed: it is called while a member runs, and must return at once."""


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": ""}, "non-empty name"),
        ({"name": "g", "on_failure": "retry"}, "is not 'rollback' or 'compensate'"),
        ({"name": "g"}, "needs a backend to roll back"),
        ({"name": "g", "backend": object()}, "has no begin, commit and rollback"),
        ({"name": "g", "backend": _AsyncInterrupt()}, "interrupt that is not a plain method"),
    ],
)
def test_bad_groups(arguments: dict[str, Any], message: str) -> None:
    name = arguments.pop("name")
    with pytest.raises(ValueError, match=message):
        AtomicGroup(name, **arguments)


def test_the_group_orders_the_plan() -> None:
    flow, _ = _payment_flow(MemoryTransaction(), fail={})
    node = flow.graph.vertices
    assert node["reserve"].after == ("order",)
    assert node["capture"].after == ("reserve",)
    assert node["receipt"].after == ("notify",)
    # A pruned run asking for one member plans the whole group.
    result = flow.run({"amount": 1}, outputs=["reserve"])
    assert set(result.states) == {"order", "reserve", "capture", "notify"}


def _dump(database: Path) -> list[Any]:
    with closing(sqlite3.connect(database)) as connection, connection:
        tables = connection.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
        rows = [
            (name, connection.execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall())
            for name, _ in tables
        ]
    return [tables, rows]


@every_mode
@pytest.mark.parametrize("failing", [0, 1, 2, 3, None])
def test_a_failure_anywhere_in_a_group_leaves_the_database_as_it_was(
    mode: tuple[str, str], failing: int | None, tmp_path: Path
) -> None:
    database = tmp_path / "shop.db"
    with closing(sqlite3.connect(database)) as setup, setup:
        setup.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)")
        setup.execute("CREATE TABLE stock (item TEXT, count INTEGER)")
        setup.execute("INSERT INTO stock VALUES ('tea', 10), ('jam', 3)")
    before = _dump(database)
    group = AtomicGroup("checkout", backend=SQLiteTransaction(database))
    Db = Annotated[sqlite3.Connection, Transaction()]

    def step(index: int, db: sqlite3.Connection) -> None:
        if index == failing:
            raise RuntimeError(f"failure at {index}")

    @vertex(group=group)
    def place(item: str, db: Db) -> int:
        cursor = db.execute("INSERT INTO orders (item) VALUES (?)", (item,))
        step(0, db)
        return int(cursor.lastrowid or 0)

    @vertex(group=group)
    def take(place: int, item: str, db: Db) -> int:
        db.execute("UPDATE stock SET count = count - 1 WHERE item = ?", (item,))
        step(1, db)
        return place

    @vertex(group=group)
    async def log(take: int, db: Db) -> int:
        db.execute("CREATE TABLE IF NOT EXISTS audit (entry TEXT)")
        db.execute("INSERT INTO audit VALUES ('order')")
        step(2, db)
        return take

    @vertex(group=group)
    def close(log: int, db: Db) -> int:
        db.execute("DELETE FROM stock WHERE count = 0")
        step(3, db)
        return log

    flow = flowdsl.Flow.from_functions(place, take, log, close)
    result = run_in(mode, flow, {"item": "tea"}, on_error="continue")
    if failing is None:  # the control: a group that commits does change the database
        assert result["close"] == 1
        assert _dump(database) != before
        return
    assert str(result.states[["place", "take", "log", "close"][failing]]) == "failed"
    assert _dump(database) == before


def test_a_failing_commit_is_undone_and_a_failing_undo_is_not_hidden() -> None:
    class BadCommit(MemoryTransaction):
        def commit(self, transaction: Any) -> None:
            raise OSError("commit refused")

    backend = BadCommit()
    flow, _ = _payment_flow(backend, fail={})
    with pytest.raises(flowdsl.VertexFailed) as caught:
        flow.run({"amount": 1})
    assert isinstance(caught.value.__cause__, OSError)
    assert (backend.data, backend.rollbacks) == ({}, 1)

    class BadCommitAndRollback(BadCommit):
        def rollback(self, transaction: Any) -> None:
            raise OSError("rollback refused")

    flow, _ = _payment_flow(BadCommitAndRollback(), fail={})
    with pytest.raises(RollbackFailed) as failed:
        flow.run({"amount": 1})
    assert str(failed.value.__cause__) == "commit refused"
    assert [str(e) for e in failed.value.errors] == ["rollback refused"]


# --------------------------------------------------------------------------- stopped members


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
@pytest.mark.parametrize("trigger", ["timeout", "cancel", "failure"])
def test_a_member_stopped_on_a_worker_thread_is_interrupted_and_waited_for(
    trigger: str, tmp_path: Path
) -> None:
    # A segfault must not take pytest down: the scenarios run in a subprocess.
    done = in_fresh_process("tests.runtime._stopped_members", trigger, str(tmp_path))
    lines = done.stdout.splitlines()
    assert done.returncode == 0, f"exit {done.returncode} after {lines[-1:]}\n{done.stderr}"
    reports = [json.loads(line) for line in lines if line.startswith("{")]
    assert [report["mode"] for report in reports] == [list(m) for m in MODES[trigger]]
    expected = {"timeout": "VertexTimeout", "cancel": "FlowCancelled", "failure": "VertexFailed"}
    for report in reports:
        assert report["outcome"] == expected[trigger], report
        # The member had returned before the run ended (and the group rolled back) ...
        assert report["returned_at_end"], report
        # ... and nothing of the group is in the file, which is sound.
        assert (report["rows"], report["integrity"]) == (0, "ok"), report
        states = report["states"]
        assert states["first"] == "rolled_back", report
        assert states["writer"] == ("failed" if trigger == "timeout" else "rolled_back"), report
        assert report["stop_wait"] > 0, report


class _Recording(MemoryTransaction):
    """A memory backend that logs its rollbacks, and cannot interrupt."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log
        self.stop = threading.Event()

    def rollback(self, transaction: Any) -> None:
        self.log.append("rollback")
        super().rollback(transaction)


class _Interrupting(_Recording):
    """A memory backend whose ``interrupt`` tells the member to stop (or raises)."""

    def __init__(self, log: list[str], raises: bool) -> None:
        super().__init__(log)
        self.raises = raises

    def interrupt(self, transaction: Any) -> None:
        self.log.append("interrupt")
        if self.raises:
            raise OSError("cannot interrupt")
        self.stop.set()


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
@pytest.mark.parametrize("how", ["works", "none", "raises"])
@every_mode
def test_the_group_waits_for_a_timed_out_member_before_rolling_back(
    mode: tuple[str, str], how: str, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    backend = _Recording(log) if how == "none" else _Interrupting(log, how == "raises")
    group = AtomicGroup("g", backend=backend)

    @vertex(group=group)
    def first(x: int, tx: Annotated[Any, Transaction()]) -> int:
        tx["first"] = x
        return x

    @vertex(group=group, timeout=0.05)
    def slow(first: int, tx: Annotated[Any, Transaction()]) -> int:
        # Stops when interrupted; without an interrupt, runs to its end.
        backend.stop.wait(0.5)
        tx["slow"] = first
        log.append("slow returned")
        return first

    flow = flowdsl.Flow.from_functions(first, slow)
    with caplog.at_level("INFO", logger="flowdsl"), pytest.raises(flowdsl.VertexTimeout) as caught:
        run_in(mode, flow, {"x": 1})
    expected = {"works": ["interrupt"], "none": [], "raises": ["interrupt"]}[how]
    assert log == [*expected, "slow returned", "rollback"]
    assert backend.data == {}
    partial = caught.value.result
    assert partial is not None
    assert {name: str(state) for name, state in partial.states.items()} == {
        "first": "rolled_back",
        "slow": "failed",
    }
    metrics = partial.metrics.vertices
    assert metrics["slow"].stop_wait > 0
    assert metrics["first"].stop_wait == 0
    if how == "none":
        assert "its backend cannot interrupt it" in caplog.text
    if how == "raises":
        assert "interrupt() raised OSError: cannot interrupt" in caplog.text


# --------------------------------------------------------------------------- under continue


@every_mode
def test_a_failing_compensation_is_raised_under_continue_and_its_vertex_failed(
    mode: tuple[str, str],
) -> None:
    backend = MemoryTransaction()
    group = AtomicGroup("g", backend=backend, on_failure="compensate")

    def undo_a(a: int) -> None:
        raise OSError("cannot undo a")

    @vertex(group=group, compensate=undo_a)
    def a(x: int) -> int:
        return x

    @vertex(group=group, compensate=lambda b: None)
    def b(a: int) -> int:
        return a

    @vertex(group=group)
    def c(b: int) -> int:
        raise ValueError("c failed")

    @vertex(group=group)
    def d(c: int) -> int:
        return c

    @vertex
    def other(x: int) -> int:
        return x

    flow = flowdsl.Flow.from_functions(a, b, c, d, other)
    for on_error in ("continue", "raise"):
        with pytest.raises(RollbackFailed) as caught:
            run_in(mode, flow, {"x": 1}, on_error=on_error)
        error = caught.value
        assert isinstance(error.__cause__, ValueError)
        assert [str(e) for e in error.errors] == ["cannot undo a"]
        assert error.vertex == "c"
        partial = error.result
        assert partial is not None
        states = {name: str(state) for name, state in partial.states.items()}
        assert states["a"] == "failed"  # its compensation failed: what it did remains
        assert states["b"] == "rolled_back"
        assert states["c"] == "failed"
        assert str(partial.errors["a"]) == "cannot undo a"
        assert "a" not in partial
        assert "b" not in partial
        if on_error == "continue":
            assert states["d"] == "skipped"  # it never ran
            assert partial["other"] == 1
        assert backend.rollbacks == (1 if on_error == "continue" else 2)


@every_mode
def test_a_member_that_never_ran_is_skipped(mode: tuple[str, str]) -> None:
    backend = MemoryTransaction()
    flow, events = _payment_flow(backend, fail={"reserve": True})
    result = run_in(mode, flow, {"amount": 7}, on_error="continue")
    assert {name: str(state) for name, state in result.states.items()} == {
        "order": "completed",
        "reserve": "failed",
        "capture": "skipped",
        "notify": "skipped",
        "receipt": "skipped",
        "other": "completed",
    }
    assert result.skip_reasons["capture"] == "'reserve' failed"
    assert events == []
    assert (backend.commits, backend.rollbacks) == (0, 1)


def test_a_failing_rollback_under_continue_is_raised_and_leaves_its_members_failed() -> None:
    class BrokenRollback(MemoryTransaction):
        def rollback(self, transaction: Any) -> None:
            raise OSError("disk gone")

    flow, _ = _payment_flow(BrokenRollback(), fail={"notify": True})
    with pytest.raises(RollbackFailed) as caught:
        flow.run({"amount": 1}, on_error="continue")
    partial = caught.value.result
    assert partial is not None
    states = {name: str(state) for name, state in partial.states.items()}
    assert (states["reserve"], states["capture"], states["notify"]) == ("failed",) * 3
    assert str(partial.errors["reserve"]) == "disk gone"
    assert partial["other"] == 2


@every_mode
def test_ctrl_c_waits_for_the_member_on_a_worker_thread_before_rolling_back(
    mode: tuple[str, str],
) -> None:
    # On Python 3.10 too, where asyncio.run has no Ctrl+C handler of its own
    # (flowdsl's loop_asyncio gives it one: the run's task is cancelled).
    log: list[str] = []
    backend = _Interrupting(log, raises=False)
    group = AtomicGroup("g", backend=backend)
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    @vertex(group=group, blocking=True, timeout=PATIENCE if mode[0] == "serial" else None)
    def presses_ctrl_c(x: int, tx: Annotated[Any, Transaction()]) -> int:
        tx["x"] = x
        # A real SIGINT to the main thread, as a terminal's Ctrl+C (a process
        # signal sent from this thread may be delivered to this thread, where
        # an event loop waiting in select() would not see it until this returns).
        signal.pthread_kill(main_thread, signal.SIGINT)
        backend.stop.wait(0.5)
        log.append("returned")
        return x

    flow = flowdsl.Flow.from_functions(presses_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run_in(mode, flow, {"x": 1})
    assert log in (["interrupt", "returned", "rollback"], ["returned", "rollback"])
    assert backend.data == {}
