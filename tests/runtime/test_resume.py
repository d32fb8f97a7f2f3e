"""What a resumed run may restore: only what it would compute again, only from its own run."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import flowdsl
from flowdsl import CheckpointError, vertex
from flowdsl._services.checkpoints import CheckpointStore
from tests.runtime._logged import logged_module
from tests.strategies import import_file

#: After ``LOGGING``: c reads ``{source}`` annotated ``{annotation}``.
TEMPLATE = """
from typing import Annotated
from flowdsl import From


@vertex
def a(x: int) -> int:
    called("a")
    return x + 1


@vertex
def b(x: int) -> int:
    called("b")
    return x * 100


@vertex
def c(v: Annotated[{annotation}, From({source!r})]) -> int:
    called("c")
    return v * 2


flow = flowdsl.Flow.from_functions(a, b, c)
"""


def _flow(tmp_path: Path, source: str = "a", annotation: str = "int") -> Any:
    path = tmp_path / f"flow_{source}_{annotation}.py"
    log = tmp_path / "calls.log"
    return logged_module(path, log, TEMPLATE, source=source, annotation=annotation)


def _calls(tmp_path: Path) -> list[str]:
    """The vertices called since the last look."""
    log = tmp_path / "calls.log"
    if not log.exists():
        return []
    calls = log.read_text().split()
    log.unlink()
    return calls


# --- defect: a binding change is compared, not only the code ----------------------------------


def test_a_binding_change_reruns_the_vertex_on_resume(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    before = _flow(tmp_path, source="a")
    assert before.flow.run({"x": 1}, checkpoint=database, run_id="r")["c"] == 4
    after = _flow(tmp_path, source="b")  # c's code is the same; it reads b now
    fresh = after.flow.run({"x": 1})["c"]
    _calls(tmp_path)
    resumed = after.flow.resume("r", checkpoint=database)
    assert fresh == resumed["c"] == 200
    assert str(resumed.states["c"]) == "completed"
    assert str(resumed.states["a"]) == str(resumed.states["b"]) == "restored"
    assert _calls(tmp_path) == ["c"]


def test_an_annotation_change_reruns_the_vertex_on_resume(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    _flow(tmp_path, annotation="int").flow.run({"x": 1}, checkpoint=database, run_id="r")
    _calls(tmp_path)
    after = _flow(tmp_path, annotation="float")
    resumed = after.flow.resume("r", checkpoint=database)
    assert _calls(tmp_path) == ["c"]
    assert {name: str(s) for name, s in resumed.states.items()} == {
        "a": "restored",
        "b": "restored",
        "c": "completed",
    }


def test_an_unchanged_flow_compiled_again_restores_everything(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    _flow(tmp_path).flow.run({"x": 1}, checkpoint=database, run_id="r")
    _calls(tmp_path)
    again = import_file(tmp_path / "flow_a_int.py")
    resumed = again.flow.resume("r", checkpoint=database)
    assert _calls(tmp_path) == []
    assert resumed["c"] == 4


# --- defect: secret= binds each record to its run instance -------------------------------------

CHAIN = """
import flowdsl
from flowdsl import vertex


@vertex
def a(x: int) -> int:
    return x


@vertex
def b(a: int) -> int:
    return a * 10


flow = flowdsl.Flow.from_functions(a, b)
"""


def _copy_rows(database: Path, vertices: list[str]) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(database)) as conn:
        marks = ", ".join("?" * len(vertices))
        return conn.execute(f"SELECT * FROM outputs WHERE vertex IN ({marks})", vertices).fetchall()


def _paste_rows(database: Path, rows: list[tuple[Any, ...]]) -> None:
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.executemany("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)", rows)


@pytest.mark.parametrize("secret", ["s3cret", None])
def test_records_replayed_from_an_earlier_run_do_not_verify(
    tmp_path: Path, secret: str | None
) -> None:
    (tmp_path / "chain.py").write_text(CHAIN, encoding="utf-8")
    flow = import_file(tmp_path / "chain.py").flow
    database = tmp_path / "runs.db"
    flow.run({"x": 1}, checkpoint=database, run_id="nightly", secret=secret)  # yesterday
    yesterday = _copy_rows(database, ["b"])
    # Today's run, same id, other inputs, stopped after a.
    flow.run({"x": 5}, checkpoint=database, run_id="nightly", secret=secret, outputs=["a"])
    _paste_rows(database, yesterday)
    with pytest.raises(CheckpointError, match="the record of vertex 'b' of run 'nightly'"):
        flow.resume("nightly", checkpoint=database, secret=secret)
    # Today's own records still resume: the pasted row gone, b is computed for x=5.
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("DELETE FROM outputs WHERE vertex = 'b'")
    assert flow.resume("nightly", checkpoint=database, secret=secret)["b"] == 50


def test_a_record_copied_from_another_run_id_does_not_verify(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(CHAIN, encoding="utf-8")
    flow = import_file(tmp_path / "chain.py").flow
    database = tmp_path / "runs.db"
    flow.run({"x": 1}, checkpoint=database, run_id="one", secret="k")
    flow.run({"x": 2}, checkpoint=database, run_id="two", secret="k", outputs=["a"])
    (row,) = _copy_rows(database, ["b"])
    _paste_rows(database, [("two", *row[1:])])
    with pytest.raises(CheckpointError, match="does not verify"):
        flow.resume("two", checkpoint=database, secret="k")


def test_a_run_started_again_elsewhere_is_not_written_into(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    first = CheckpointStore(database, create=True)
    first.start("r", "g", {"x": 1})
    second = CheckpointStore(database)
    second.start("r", "g", {"x": 2})  # the same id, started again by another run
    with pytest.raises(CheckpointError, match="was started again or deleted meanwhile"):
        first.record("r", "a", "code", 1)
    second.record("r", "a", "code", 2)
    inputs, outputs = second.load("r")
    assert (inputs, outputs["a"].value) == ({"x": 2}, 2)
    first.close()
    second.close()


# --- defect: serializer="json" refuses what would not come back as it was ---------------------


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ((1, 2), "the value is a tuple, read back as a list"),
        ({1: "a"}, "the value has the key 1, read back as '1'"),
        ({"k": [1, (2, 3)]}, "['k'][1] is a tuple, read back as a list"),
        ({1: "a", "1": "b"}, "has keys that are read back as one"),
        (True, None),
        ({"b": 1, "a": [1.5, float("nan"), None, "s"]}, None),
    ],
)
def test_json_checkpoints_refuse_values_that_change_in_a_round_trip(
    tmp_path: Path, value: Any, where: str | None
) -> None:
    @vertex
    def produce(n: int) -> Any:
        return value

    flow = flowdsl.Flow.from_functions(produce)
    database = tmp_path / "runs.db"
    if where is None:
        flow.run({"n": 1}, checkpoint=database, run_id="j", serializer="json")
        resumed = flow.resume("j", checkpoint=database, serializer="json")
        assert str(resumed.states["produce"]) == "restored"
        back = resumed["produce"]
        assert repr(back) == repr(value)
        assert type(back) is type(value)
        return
    with pytest.raises(CheckpointError) as caught:
        flow.run({"n": 1}, checkpoint=database, run_id="j", serializer="json")
    assert caught.value.vertex == "produce"
    assert where in str(caught.value)


def test_json_checkpoints_refuse_inputs_that_change_in_a_round_trip(tmp_path: Path) -> None:
    @vertex
    def total(values: tuple[int, ...]) -> int:
        return sum(values)

    flow = flowdsl.Flow.from_functions(total)
    with pytest.raises(CheckpointError, match=r"\['values'\] is a tuple, read back as a list"):
        flow.run({"values": (1, 2)}, checkpoint=tmp_path / "r.db", serializer="json")


# --- defect: a run refused for its inputs leaves the stored run alone ------------------------


def test_bad_inputs_or_overrides_leave_the_recorded_run_alone(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(CHAIN, encoding="utf-8")
    flow = import_file(tmp_path / "chain.py").flow
    database = tmp_path / "runs.db"
    flow.run({"x": 3}, checkpoint=database, run_id="nightly")
    with pytest.raises(flowdsl.UnknownInputError):
        flow.run({"xx": 1}, checkpoint=database, run_id="nightly")
    with pytest.raises(flowdsl.MissingInputError):
        flow.run({}, checkpoint=database, run_id="nightly")
    with pytest.raises(flowdsl.ContractViolation):
        flow.run({"x": 1}, checkpoint=database, run_id="nightly", overrides={"a": "no"})
    with pytest.raises(flowdsl.UnknownInputError):
        flow.run({"x": 1}, checkpoint=database, run_id="nightly", overrides={"zz": 1})
    resumed = flow.resume("nightly", checkpoint=database)
    assert set(map(str, resumed.states.values())) == {"restored"}
    assert resumed["b"] == 30


# --- defect: overrides, mapped vertices, metrics and inputs of a resumed run -------------------

#: After ``LOGGING``.
FOUR = """
@vertex
def load(x: int) -> int:
    called("load")
    return x + 1


@vertex
def transform(load: int) -> int:
    called("transform")
    return load * 10


@vertex
def other(x: int) -> int:
    called("other")
    return -x


@vertex(map_over="items")
def square(items: int) -> int:
    called("square")
    return items * items


@vertex
def total(square: list[int], transform: int, other: int) -> int:
    called("total")
    return sum(square) + transform + other


flow = flowdsl.Flow.from_functions(load, transform, other, square, total)
"""


@pytest.fixture
def four(tmp_path: Path) -> Any:
    return logged_module(tmp_path / "four.py", tmp_path / "calls.log", FOUR)


def test_an_override_wins_over_a_restored_value_and_dependents_recompute(
    four: Any, tmp_path: Path
) -> None:
    database = tmp_path / "runs.db"
    first = four.flow.run({"x": 1, "items": [1, 2, 3]}, checkpoint=database, run_id="r")
    assert (first["transform"], first["total"]) == (20, 14 + 20 - 1)
    _calls(tmp_path)
    resumed = four.flow.resume("r", checkpoint=database, overrides={"load": 7})
    assert (resumed["load"], resumed["transform"], resumed["total"]) == (7, 70, 14 + 70 - 1)
    assert sorted(_calls(tmp_path)) == ["total", "transform"]
    assert {name: str(s) for name, s in resumed.states.items()} == {
        "load": "overridden",
        "transform": "completed",
        "other": "restored",
        "square": "restored",
        "total": "completed",
    }


def test_a_flow_with_a_mapped_vertex_resumes(four: Any, tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    first = four.flow.run({"x": 1, "items": [1, 2, 3]}, checkpoint=database, run_id="r")
    _calls(tmp_path)
    resumed = four.flow.resume("r", checkpoint=database)
    assert _calls(tmp_path) == []
    assert dict(resumed) == dict(first)
    assert resumed["square"] == [1, 4, 9]


def test_overrides_of_a_mapped_vertex_are_checked_element_by_element(four: Any) -> None:
    inputs = {"x": 1, "items": [1]}
    result = four.flow.run(inputs, overrides={"square": [10, 20]})
    assert result["total"] == 30 + 20 - 1
    with pytest.raises(flowdsl.ContractViolation) as caught:
        four.flow.run(inputs, overrides={"square": [10, "20"]})
    assert caught.value.path == "return[1]"
    assert caught.value.vertex == "square"
    with pytest.raises(flowdsl.ContractViolation, match="expected list"):
        four.flow.run(inputs, overrides={"square": 10})


def test_restored_vertices_have_metrics_and_the_result_has_the_stored_inputs(
    four: Any, tmp_path: Path
) -> None:
    database = tmp_path / "runs.db"
    inputs = {"x": 1, "items": [1, 2]}
    four.flow.run(inputs, checkpoint=database, run_id="r")
    resumed = four.flow.resume("r", checkpoint=database)
    assert resumed.inputs == inputs
    metrics = resumed.metrics.vertices
    assert set(metrics) == {"load", "transform", "other", "square", "total"}
    assert all(m.restored and m.attempts == 0 and m.duration == 0 for m in metrics.values())
    assert "restored" in resumed.metrics.table()
    partly = four.flow.resume("r", checkpoint=database, overrides={"other": 5})
    assert partly.inputs == inputs
    assert not partly.metrics.vertices["total"].restored
    assert "other" not in partly.metrics.vertices  # given, neither run nor restored
