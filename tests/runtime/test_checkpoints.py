"""Checkpoints: outputs written as vertices complete, runs resumed after a kill or a pause."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import flowdsl
from flowdsl import CheckpointError, vertex
from flowdsl._services.checkpoints import CheckpointStore
from tests.runtime._logged import logged_module
from tests.runtime._modes import every_mode, run_in

#: After ``LOGGING``: a module that runs its flow with a checkpoint when run as a script.
SCRIPT = """
import os, sys


@vertex
def a(x: int) -> int:
    called("a")
    return x + 1


@vertex
def c(a: int) -> int:
    called("c")
    return a * 3


@vertex(version={version!r})
def b(a: int) -> int:
    called("b")
    if os.environ.get("FLOWDSL_TEST_KILL") == "b":
        os.kill(os.getpid(), 9)
    return a * 2


@vertex
def d(b: int, c: int) -> int:
    called("d")
    return b + c


flow = flowdsl.Flow.from_functions(a, c, b, d)

if __name__ == "__main__":
    flow.run({{"x": 1}}, checkpoint=sys.argv[1], run_id="nightly")
"""


def _module(tmp_path: Path, version: str = "1") -> tuple[Any, Path]:
    log = tmp_path / "calls.log"
    path = tmp_path / f"pipeline_{version}.py"
    return logged_module(path, log, SCRIPT, version=version), log


def _calls(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_a_killed_run_resumes_without_rerunning_what_completed(tmp_path: Path) -> None:
    module, log = _module(tmp_path)
    database = tmp_path / "runs.db"
    killed = subprocess.run(
        [sys.executable, module.__file__, str(database)],
        env={**os.environ, "FLOWDSL_TEST_KILL": "b", "PYTHONPATH": os.getcwd()},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -9
    assert _calls(log) == ["a", "c", "b"]  # killed inside b: a and c were recorded

    log.unlink()
    result = module.flow.resume("nightly", checkpoint=database)
    assert _calls(log) == ["b", "d"]
    assert dict(result) == {"a": 2, "c": 6, "b": 4, "d": 10}
    uninterrupted = module.flow.run({"x": 1})
    assert dict(result) == dict(uninterrupted)
    assert {k: str(v) for k, v in result.states.items()} == {
        "a": "restored",
        "c": "restored",
        "b": "completed",
        "d": "completed",
    }
    assert result.run_id == "nightly"


def test_each_output_is_written_when_its_vertex_completes(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    seen: list[tuple[str, ...]] = []

    @vertex
    def first(x: int) -> int:
        return x + 1

    @vertex
    def second(first: int) -> int:
        # Another connection, as another process would see the file now.
        store = CheckpointStore(database)
        seen.append(store.runs()[0].vertices)
        store.close()
        return first * 2

    flowdsl.Flow.from_functions(first, second).run({"x": 1}, checkpoint=database, run_id="r")
    assert seen == [("first",)]
    store = CheckpointStore(database)
    inputs, outputs = store.load("r")
    store.close()
    assert inputs == {"x": 1}
    assert {name: stored.value for name, stored in outputs.items()} == {"first": 2, "second": 4}


def test_a_changed_vertex_reruns_and_so_does_what_depends_on_it(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    first, log = _module(tmp_path, version="1")
    first.flow.run({"x": 1}, checkpoint=database, run_id="nightly")
    log.unlink()
    changed, _ = _module(tmp_path, version="2")  # b's version changed: its fingerprint too
    result = changed.flow.resume("nightly", checkpoint=database)
    assert _calls(log) == ["b", "d"]
    assert str(result.states["a"]) == "restored"
    assert str(result.states["c"]) == "restored"
    log.unlink()
    again = changed.flow.resume("nightly", checkpoint=database)  # now recorded as version 2
    assert _calls(log) == []
    assert dict(again) == dict(result)


def test_resuming_with_other_inputs_is_an_error(tmp_path: Path) -> None:
    module, _ = _module(tmp_path)
    database = tmp_path / "runs.db"
    module.flow.run({"x": 1}, checkpoint=database, run_id="nightly")
    with pytest.raises(CheckpointError, match="was started with other inputs"):
        module.flow.run({"x": 2}, checkpoint=database, run_id="nightly", resume=True)
    same = module.flow.run({"x": 1}, checkpoint=database, run_id="nightly", resume=True)
    assert same["d"] == 10


def test_resuming_a_run_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    module, _ = _module(tmp_path)
    database = tmp_path / "runs.db"
    with pytest.raises(CheckpointError, match=r"runs\.db does not exist"):
        module.flow.resume("nope", checkpoint=database)
    assert not database.exists()  # resuming never creates the file
    module.flow.run({"x": 1}, checkpoint=database, run_id="nightly")
    with pytest.raises(CheckpointError, match="no checkpointed run 'nope' to resume"):
        module.flow.resume("nope", checkpoint=database)
    with pytest.raises(flowdsl.SettingsError, match="resume=True needs checkpoint="):
        module.flow.run({"x": 1}, run_id="nightly", resume=True)


def test_run_id_names_a_run_without_a_checkpoint_too(tmp_path: Path) -> None:
    module, _ = _module(tmp_path)
    assert module.flow.run({"x": 1}, run_id="mine").run_id == "mine"


def test_json_checkpoints_store_data_and_refuse_other_values(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"

    @vertex
    def pairs(n: int) -> dict[str, list[int]]:
        return {"values": list(range(n))}

    @vertex
    def bad(pairs: dict[str, list[int]]) -> object:
        return object()

    ok = flowdsl.Flow.from_functions(pairs)
    ok.run({"n": 3}, checkpoint=database, run_id="j", serializer="json")
    resumed = ok.resume("j", checkpoint=database, serializer="json")
    assert resumed["pairs"] == {"values": [0, 1, 2]}
    assert str(resumed.states["pairs"]) == "restored"

    with pytest.raises(CheckpointError) as caught:
        flowdsl.Flow.from_functions(pairs, bad).run(
            {"n": 1}, checkpoint=database, run_id="k", serializer="json"
        )
    error = caught.value
    assert error.vertex == "bad"
    assert "the output of vertex 'bad' cannot be written with the 'json' serializer" in str(error)
    with pytest.raises(CheckpointError, match="was written with serializer='json'"):
        ok.resume("j", checkpoint=database)


def test_signed_records_are_verified_and_a_tampered_one_is_refused(tmp_path: Path) -> None:
    module, log = _module(tmp_path)
    database = tmp_path / "runs.db"
    module.flow.run({"x": 1}, checkpoint=database, run_id="nightly", secret="s3cret")
    log.unlink()
    assert module.flow.resume("nightly", checkpoint=database, secret="s3cret")["d"] == 10
    assert _calls(log) == []

    with pytest.raises(CheckpointError, match="does not verify with the given secret"):
        module.flow.resume("nightly", checkpoint=database, secret="other")
    with pytest.raises(CheckpointError, match="signed with a secret"):
        module.flow.resume("nightly", checkpoint=database)

    connection = sqlite3.connect(database)
    import pickle

    connection.execute("UPDATE outputs SET value = ? WHERE vertex = 'b'", (pickle.dumps(999),))
    connection.commit()
    connection.close()
    with pytest.raises(CheckpointError, match="the record of vertex 'b' of run 'nightly'"):
        module.flow.resume("nightly", checkpoint=database, secret="s3cret")
    assert _calls(log) == []  # nothing loaded, nothing run


def test_a_cancelled_run_is_paused_and_resumes_later(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    entered = threading.Event()
    gate = {"block": True}
    calls: list[str] = []

    @vertex
    def quick(x: int) -> int:
        calls.append("quick")
        return x

    @vertex
    async def slow(quick: int) -> int:
        calls.append("slow")
        if gate["block"]:
            entered.set()
            import anyio

            await anyio.sleep(30)
        return quick * 10

    flow = flowdsl.Flow.from_functions(quick, slow)
    handle = flow.start({"x": 4}, checkpoint=database, run_id="paused", backend="async")
    assert entered.wait(10)
    handle.cancel()
    with pytest.raises(flowdsl.FlowCancelled):
        handle.result(timeout=10)
    gate["block"] = False
    calls.clear()
    result = flow.resume("paused", checkpoint=database, backend="async")
    assert result["slow"] == 40
    assert calls == ["slow"]


@every_mode
def test_checkpointed_runs_on_every_backend(mode: tuple[str, str], tmp_path: Path) -> None:
    module, log = _module(tmp_path)
    database = tmp_path / "runs.db"
    first = run_in(mode, module.flow, {"x": 1}, checkpoint=database, run_id="r")
    log.unlink()
    again = run_in(mode, module.flow, None, checkpoint=database, run_id="r", resume=True)
    assert dict(again) == dict(first)
    assert _calls(log) == []
    assert set(map(str, again.states.values())) == {"restored"}


def test_the_store_lists_and_deletes_runs(tmp_path: Path) -> None:
    module, _ = _module(tmp_path)
    database = tmp_path / "runs.db"
    module.flow.run({"x": 1}, checkpoint=database, run_id="one")
    time.sleep(0.01)
    module.flow.run({"x": 2}, checkpoint=database, run_id="two", outputs=["c"])
    store = CheckpointStore(database)
    runs = store.runs()
    assert [r.run_id for r in runs] == ["one", "two"]
    assert sorted(runs[0].vertices) == ["a", "b", "c", "d"]
    assert sorted(runs[1].vertices) == ["a", "c"]
    assert store.delete("one") is True
    assert store.delete("one") is False
    assert [r.run_id for r in store.runs()] == ["two"]
    store.close()


def test_a_file_that_is_not_a_database_is_a_checkpoint_error(tmp_path: Path) -> None:
    module, _ = _module(tmp_path)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database " * 100)
    with pytest.raises(CheckpointError, match=r"notes\.txt is not a SQLite database"):
        module.flow.run({"x": 1}, checkpoint=junk)


@pytest.mark.parametrize("damage", ["truncate", "overwrite", "garbage value"])
def test_damaged_checkpoint_files_are_a_clear_error(tmp_path: Path, damage: str) -> None:
    module, log = _module(tmp_path)
    database = tmp_path / "runs.db"
    module.flow.run({"x": 1}, checkpoint=database, run_id="nightly")
    # Fold the WAL into the main file so that damaging it damages everything.
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "garbage value":
        connection.execute("UPDATE outputs SET value = x'00ff00ff' WHERE vertex = 'c'")
        connection.commit()
    connection.close()
    data = database.read_bytes()
    if damage == "truncate":
        database.write_bytes(data[: len(data) // 2])
    elif damage == "overwrite":
        middle = len(data) // 2
        database.write_bytes(data[:100] + b"\xde\xad" * ((middle - 100) // 2) + data[middle:])
    log.unlink()
    with pytest.raises(CheckpointError) as caught:
        module.flow.resume("nightly", checkpoint=database)
    text = str(caught.value)
    assert str(database) in text
    assert ("damaged" in text) or ("not a checkpoint file" in text) or ("cannot use" in text)
    assert _calls(log) == []  # nothing ran on a damaged file
