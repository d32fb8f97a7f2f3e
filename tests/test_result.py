"""``RunResult``: a read-only mapping of qualified names, with states, order, errors, metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import ModuleType

import pytest

from flowdsl import Flow, RunResult, VertexState, vertex


def test_design_card_values(result: RunResult) -> None:
    assert result["save"] == 7
    assert result["fetch_user.name"] == "alice"


def test_mapping_keys_include_structured_fields(result: RunResult) -> None:
    assert isinstance(result, Mapping)
    assert list(result) == [
        "normalize",
        "validate",
        "fetch_user",
        "fetch_user.id",
        "fetch_user.name",
        "save",
    ]
    assert len(result) == 6
    assert dict(result) == {
        "normalize": "alice",
        "validate": True,
        "fetch_user": {"id": 7, "name": "alice"},
        "fetch_user.id": 7,
        "fetch_user.name": "alice",
        "save": 7,
    }
    assert list(result.keys()) == list(result)
    assert list(result.values())[-1] == 7
    assert ("fetch_user.id", 7) in result.items()


def test_membership_and_get(result: RunResult) -> None:
    assert "save" in result
    assert "fetch_user.id" in result
    assert "fetch_user.email" not in result
    assert "nope" not in result
    assert 3 not in result
    assert result.get("save") == 7
    assert result.get("nope") is None
    assert result.get("nope", 0) == 0


def test_unknown_key_error_suggests_a_name(result: RunResult) -> None:
    with pytest.raises(KeyError, match="did you mean 'save'"):
        result["sav"]


def test_result_is_read_only(result: RunResult) -> None:
    with pytest.raises(TypeError):
        result["save"] = 8  # type: ignore[index]
    with pytest.raises(TypeError):
        del result["save"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        result.states["save"] = VertexState.FAILED  # type: ignore[index]
    with pytest.raises(TypeError):
        result.errors["save"] = ValueError()  # type: ignore[index]
    with pytest.raises(TypeError):
        result.inputs["name"] = "x"  # type: ignore[index]
    assert not hasattr(result, "update")
    assert result["save"] == 7


def test_a_key_of_a_plain_dict_output() -> None:
    @vertex
    def settings(n: int) -> dict[str, int]:
        return {"size": n, "depth": 2}

    result = Flow.from_functions(settings).run({"n": 5})
    assert list(result) == ["settings"]  # a plain dict has no statically known fields
    assert result["settings.size"] == 5
    assert "settings.depth" in result
    assert "settings.width" not in result
    with pytest.raises(KeyError):
        result["settings.width"]

    requested = Flow.from_functions(settings).run({"n": 5}, outputs=["settings.depth"])
    assert dict(requested) == {"settings.depth": 2}


def test_states_and_order(result: RunResult) -> None:
    assert dict(result.states) == dict.fromkeys(
        ["normalize", "validate", "fetch_user", "save"], VertexState.COMPLETED
    )
    assert all(state == "completed" for state in result.states.values())
    assert str(VertexState.COMPLETED) == "completed"
    assert result.order == ("normalize", "validate", "fetch_user", "save")
    assert result.errors == {}


def test_states_of_a_run_with_failures() -> None:
    @vertex
    def ok(x: int) -> int:
        return x

    @vertex
    def bad(ok: int) -> int:
        raise RuntimeError("nope")

    @vertex
    def after(bad: int) -> int:
        return bad

    result = Flow.from_functions(ok, bad, after).run({"x": 1}, on_error="continue")
    assert dict(result.states) == {
        "ok": VertexState.COMPLETED,
        "bad": VertexState.FAILED,
        "after": VertexState.SKIPPED,
    }
    assert isinstance(result.errors["bad"], RuntimeError)
    assert set(result.metrics.vertices) == {"ok", "bad"}
    assert "1 completed" in repr(result)
    assert "1 failed" in repr(result)
    assert "1 skipped" in repr(result)


def test_metrics(result: RunResult) -> None:
    metrics = result.metrics
    assert set(metrics.vertices) == {"normalize", "validate", "fetch_user", "save"}
    for m in metrics.vertices.values():
        assert m.duration >= 0
        assert m.attempts == 1
        assert m.cache_hit is False
    assert metrics.total >= 0
    assert metrics.vertex_time == pytest.approx(sum(m.duration for m in metrics.vertices.values()))
    assert metrics.backend == "serial"
    assert metrics.started_at > 0

    table = metrics.table()
    for name in metrics.vertices:
        assert name in table
    assert "total" in table
    assert str(metrics) == table

    data = json.loads(metrics.to_json())
    assert set(data["vertices"]) == set(metrics.vertices)
    assert data["backend"] == "serial"
    assert data["vertices"]["save"]["attempts"] == 1
    assert metrics.to_dict()["total"] == metrics.total


def test_run_id_is_unique_per_run(pipeline: ModuleType) -> None:
    flow = Flow.from_module(pipeline)
    ids = {flow.run({"name": "x"}).run_id for _ in range(5)}
    assert len(ids) == 5
    for run_id in ids:
        assert len(run_id) == 32
        int(run_id, 16)


def test_inputs_hold_the_given_inputs_the_run_read(result: RunResult) -> None:
    assert dict(result.inputs) == {"name": " Alice "}

    @vertex
    def scaled(x: int, factor: int = 3) -> int:
        return x * factor

    @vertex
    def other(y: int) -> int:
        return y

    flow = Flow.from_functions(scaled, other)
    defaulted = flow.run({"x": 2, "y": 1})
    assert defaulted["scaled"] == 6
    assert dict(defaulted.inputs) == {"x": 2, "y": 1}  # a default is not a given input
    pruned = flow.run({"x": 2, "factor": 5, "y": 1}, outputs=["scaled"])
    assert pruned["scaled"] == 10
    assert dict(pruned.inputs) == {"x": 2, "factor": 5}  # `y` was not read


def test_repr(result: RunResult) -> None:
    text = repr(result)
    assert text.startswith("<RunResult ")
    assert result.run_id[:8] in text
    assert "4 completed" in text


def test_requested_outputs_only(pipeline: ModuleType) -> None:
    result = Flow.from_module(pipeline).run({"name": "Bob!"}, outputs=["save"])
    assert dict(result) == {"save": -1}
    with pytest.raises(KeyError, match="was not requested"):
        result["validate"]
    assert result.value_of("save") == -1
    assert len(result.states) == 4
