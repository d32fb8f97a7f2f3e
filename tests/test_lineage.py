"""Lineage: ``result.lineage.trace(name)`` walks an output back to the flow inputs."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

from flowdsl import DataResolutionError, Flow, RunResult, Trace, TraceStep, vertex
from tests.strategies import definition_lines


def edges_of(step: TraceStep) -> list[tuple[str, str, bool, object]]:
    return [(e.parameter, e.source, e.is_input, e.value) for e in step.edges]


def test_trace_of_save_walks_every_vertex_back_to_the_input(
    result: RunResult, pipeline: ModuleType
) -> None:
    trace = result.lineage.trace("save")

    assert isinstance(trace, Trace)
    assert trace.output == "save"
    assert trace.vertices == ("normalize", "validate", "fetch_user", "save")
    assert trace.inputs == ("name",)
    steps = {step.vertex: step for step in trace}
    assert edges_of(steps["normalize"]) == [("name", "name", True, " Alice ")]
    assert edges_of(steps["validate"]) == [("normalize", "normalize", False, "alice")]
    assert edges_of(steps["fetch_user"]) == [("normalize", "normalize", False, "alice")]
    assert edges_of(steps["save"]) == [
        ("user_id", "fetch_user.id", False, 7),
        ("validate", "validate", False, True),
    ]
    for step in trace:
        assert step.state == "completed"
        assert all(edge.has_value for edge in step.edges)
        function = getattr(pipeline, step.vertex)
        assert step.location.file == inspect.getsourcefile(function)
        assert step.location.line in definition_lines(function)


def test_str_of_a_trace(result: RunResult) -> None:
    text = str(result.lineage.trace("save"))
    lines = text.splitlines()
    assert lines[0] == "lineage of 'save':"
    assert lines[1].startswith("  save [completed] (")
    assert "    user_id <- 'fetch_user.id' = 7" in lines
    assert "    validate <- 'validate' = True" in lines
    assert "    name <- input 'name' = ' Alice '" in lines
    assert text.index("save [") < text.index("normalize [")  # output first, inputs last


def test_trace_of_a_field_output(result: RunResult) -> None:
    trace = result.lineage.trace("fetch_user.name")
    assert trace.output == "fetch_user.name"
    assert trace.vertices == ("normalize", "fetch_user")
    assert trace.inputs == ("name",)


def test_trace_of_a_source_vertex(result: RunResult) -> None:
    trace = result.lineage.trace("normalize")
    assert trace.vertices == ("normalize",)
    assert trace.inputs == ("name",)


def test_unknown_name_is_a_data_resolution_error(result: RunResult) -> None:
    with pytest.raises(DataResolutionError) as caught:
        result.lineage.trace("sav")
    assert "'sav'" in str(caught.value)
    assert "did you mean 'save'" in str(caught.value)


def test_a_defaulted_input_shows_the_default_it_used() -> None:
    @vertex
    def scaled(x: int, factor: int = 3) -> int:
        return x * factor

    result = Flow.from_functions(scaled).run({"x": 2})
    (step,) = result.lineage.trace("scaled")
    assert edges_of(step) == [("x", "x", True, 2), ("factor", "factor", True, 3)]
    assert result.lineage.trace("scaled").inputs == ("x", "factor")


def test_released_values_are_shown_as_unknown(pipeline: ModuleType) -> None:
    result = Flow.from_module(pipeline).run({"name": " Alice "}, outputs=["save"])
    trace = result.lineage.trace("save")
    steps = {step.vertex: step for step in trace}
    assert [e.has_value for e in steps["save"].edges] == [False, False]
    assert edges_of(steps["normalize"]) == [("name", "name", True, " Alice ")]
    text = str(trace)
    assert "    user_id <- 'fetch_user.id'\n" in text + "\n"


def test_trace_of_a_run_with_a_failure_shows_states() -> None:
    @vertex
    def source(x: int) -> int:
        return x

    @vertex
    def broken(source: int) -> int:
        raise ValueError("no")

    @vertex
    def sink(broken: int, source: int) -> int:
        return broken + source

    result = Flow.from_functions(source, broken, sink).run({"x": 3}, on_error="continue")
    trace = result.lineage.trace("sink")
    assert [(s.vertex, s.state) for s in trace] == [
        ("source", "completed"),
        ("broken", "failed"),
        ("sink", "skipped"),
    ]
    sink_edges = {e.parameter: e for e in trace.steps[-1].edges}
    assert not sink_edges["broken"].has_value
    assert sink_edges["source"].value == 3
    assert "sink [skipped]" in str(trace)


def test_trace_of_a_vertex_outside_a_pruned_run(pipeline: ModuleType) -> None:
    result = Flow.from_module(pipeline).run({"name": "a"}, outputs=["validate"])
    trace = result.lineage.trace("fetch_user")
    assert {s.vertex: s.state for s in trace}["fetch_user"] == "not planned"
