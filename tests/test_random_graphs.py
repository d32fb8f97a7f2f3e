"""Property tests: random valid graphs, run serially, agree with an independent reference."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowdsl import MissingInputError, RunResult, VertexFailed
from tests.quick import examples
from tests.strategies import (
    GraphDescription,
    build_graph,
    graphs,
    inputs_for,
    reference_order,
    reference_outputs,
    reference_states,
    required_inputs,
    to_plain,
    upstream_closure,
)

SETTINGS = settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _failing(description: GraphDescription, min_size: int = 0) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(description.names), min_size=min_size, max_size=4)


@SETTINGS
@given(data=st.data())
def test_serial_run_equals_reference(data: st.DataObject) -> None:
    description = data.draw(graphs())
    inputs = data.draw(inputs_for(description))
    built = build_graph(description)

    result = built.flow.run(inputs)

    expected = reference_outputs(description, inputs)
    assert {name: to_plain(result[name]) for name in expected} == expected
    listed = description.listed_keys()
    assert list(result) == [k for n in result.order for k in listed if k.partition(".")[0] == n]
    assert set(result) == set(description.listed_keys())
    assert result.order == reference_order(description)
    assert built.calls == list(result.order)
    assert set(result.states.values()) == {"completed"}
    assert result.errors == {}


@SETTINGS
@given(data=st.data())
def test_graph_compiles_as_described(data: st.DataObject) -> None:
    description = data.draw(graphs())
    built = build_graph(description)
    flow = built.flow

    assert set(flow.vertices) == set(description.names)
    assert set(flow.inputs) == set(description.input_names)
    for name, inp in flow.inputs.items():
        assert inp.required == (name in required_inputs(description))
    for v in description.vertices:
        node = flow.vertices[v.name]
        assert set(node.upstream) == set(v.parents)
        assert node.is_async == v.is_async
        assert node.location.file == built.path
        assert node.location.line in built.definition_lines(v.name)
    assert flow.graph.order == reference_order(description)
    # Stages: every vertex reads only from earlier stages.
    stage_of = {name: i for i, stage in enumerate(flow.stages()) for name in stage}
    for v in description.vertices:
        assert all(stage_of[p] < stage_of[v.name] for p in v.parents)


@SETTINGS
@given(data=st.data())
def test_outputs_subset_holds_exactly_the_requested_names(data: st.DataObject) -> None:
    description = data.draw(graphs())
    requested = data.draw(
        st.lists(st.sampled_from(description.readable_names()), min_size=1, max_size=6)
    )
    inputs = data.draw(inputs_for(description))
    built = build_graph(description)

    result = built.flow.run(inputs, outputs=requested)

    expected = reference_outputs(description, inputs)
    assert list(result) == list(dict.fromkeys(requested))
    assert len(result) == len(set(requested))
    for name in requested:
        assert to_plain(result[name]) == expected[name]
    needed = upstream_closure(description, (name.partition(".")[0] for name in requested))
    assert built.calls == list(reference_order(description, needed))
    assert set(result.states) == needed


def _input_value(description: GraphDescription, name: str, given: dict[str, int]) -> object:
    """What ``outputs=[name]`` gives for flow input ``name``: the value given, else the one
    default its readers agree on; ``MissingInputError`` when there is none."""
    if name in given:
        return given[name]
    defaults = {
        p.default
        for v in description.vertices
        for p in v.params
        if p.kind == "input" and p.source == name and p.default is not None
    }
    return defaults.pop() if len(defaults) == 1 else MissingInputError


@SETTINGS
@given(data=st.data())
def test_outputs_take_functions_and_flow_inputs(data: st.DataObject) -> None:
    description = data.draw(graphs())
    names = data.draw(
        st.lists(
            st.sampled_from(description.readable_names() + description.input_names),
            min_size=1,
            max_size=6,
        )
    )
    inputs = data.draw(inputs_for(description))
    built = build_graph(description)
    # A vertex may be asked for by its decorated function instead of its name.
    by_function = data.draw(st.lists(st.booleans(), min_size=len(names), max_size=len(names)))
    requested = [
        getattr(built.module, description.by_name[name].function_name)
        if use and name in description.by_name
        else name
        for name, use in zip(names, by_function, strict=True)
    ]
    asked_inputs = {n: _input_value(description, n, inputs) for n in description.input_names}
    missing = [n for n in names if asked_inputs.get(n) is MissingInputError]
    if missing:
        with pytest.raises(MissingInputError) as caught:
            built.flow.run(inputs, outputs=requested)
        assert set(missing) <= set(caught.value.missing)
        assert built.calls == []
        return

    result = built.flow.run(inputs, outputs=requested)

    expected = {**reference_outputs(description, inputs), **asked_inputs}
    assert list(result) == list(dict.fromkeys(names))
    for name in names:
        assert to_plain(result[name]) == expected[name]
    vertices = [n.partition(".")[0] for n in names if n.partition(".")[0] in description.by_name]
    assert built.calls == list(
        reference_order(description, upstream_closure(description, vertices))
    )


@SETTINGS
@given(data=st.data())
def test_missing_inputs_are_reported_together_before_anything_runs(data: st.DataObject) -> None:
    description = data.draw(graphs(min_vertices=2))
    required = required_inputs(description)
    if not required:
        return
    inputs = data.draw(inputs_for(description))
    dropped = data.draw(st.frozensets(st.sampled_from(required), min_size=1))
    for name in dropped:
        del inputs[name]
    built = build_graph(description)

    with pytest.raises(MissingInputError) as caught:
        built.flow.run(inputs)

    assert set(caught.value.missing) == dropped
    assert len(caught.value.missing) == len(dropped)
    assert built.calls == []


@SETTINGS
@given(data=st.data())
def test_flow_tag_runs_tagged_vertices_and_what_they_need(data: st.DataObject) -> None:
    description = data.draw(graphs())
    tags = description.flow_tags()
    if not tags:
        return
    tag = data.draw(st.sampled_from(sorted(tags)))
    inputs = data.draw(inputs_for(description))
    built = build_graph(description)

    result = built.flow.run(inputs, flow=tag)

    needed = upstream_closure(description, tags[tag])
    assert built.calls == list(reference_order(description, needed))
    expected = reference_outputs(description, inputs, needed)
    assert {name: to_plain(result[name]) for name in result} == {
        name: expected[name] for name in result
    }
    assert {name.partition(".")[0] for name in result} == needed


@SETTINGS
@given(data=st.data())
def test_continue_on_error_follows_reachability(data: st.DataObject) -> None:
    description = data.draw(graphs())
    failing = data.draw(_failing(description))
    inputs = data.draw(inputs_for(description))
    built = build_graph(description, failing=failing)

    result = built.flow.run(inputs, on_error="continue")

    states = reference_states(description, failing)
    assert {name: str(state) for name, state in result.states.items()} == states
    assert set(result.errors) == {n for n, s in states.items() if s == "failed"}
    for error in result.errors.values():
        assert isinstance(error, built.failure_type)
    # Every vertex that ran was called once, in serial order; skipped ones never were.
    ran = [n for n in reference_order(description) if states[n] != "skipped"]
    assert built.calls == ran
    assert result.order == tuple(n for n in ran if states[n] == "completed")
    expected = reference_outputs(description, inputs)
    for name in result:
        assert to_plain(result[name]) == expected[name]
    assert {name.partition(".")[0] for name in result} == {
        n for n, s in states.items() if s == "completed"
    }


@SETTINGS
@given(data=st.data())
def test_raise_on_error_names_a_failing_vertex_with_a_partial_result(data: st.DataObject) -> None:
    description = data.draw(graphs())
    failing = data.draw(_failing(description, min_size=1))
    inputs = data.draw(inputs_for(description))
    built = build_graph(description, failing=failing)

    with pytest.raises(VertexFailed) as caught:
        built.flow.run(inputs)

    error = caught.value
    order = reference_order(description)
    first = next(n for n in order if n in failing)
    assert error.vertex == first
    assert isinstance(error.__cause__, built.failure_type)
    assert error.location is not None
    assert error.location.file == built.path
    assert error.location.line in built.definition_lines(first)
    partial = error.result
    assert partial is not None
    done = order[: order.index(first)]
    assert partial.order == done
    assert built.calls == [*done, first]
    states = {name: str(state) for name, state in partial.states.items()}
    assert states == {
        n: "completed" if n in done else "failed" if n == first else "pending" for n in order
    }
    expected = reference_outputs(description, inputs)
    assert {name.partition(".")[0] for name in partial} == set(done)
    for name in partial:
        assert to_plain(partial[name]) == expected[name]


# Hypothesis drives the examples and each one runs its own loop: under
# anyio's pytest runner, Hypothesis's internal StopTest would escape from the
# runner's task and be reported at exit as an unretrieved task exception.
@pytest.mark.parametrize("loop", ["asyncio", "trio"])
@settings(max_examples=examples(15), deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_arun_equals_reference(loop: str, data: st.DataObject) -> None:
    description = data.draw(graphs(max_vertices=20))
    inputs = data.draw(inputs_for(description))
    built = build_graph(description)

    async def run() -> RunResult:
        return await built.flow.arun(inputs)

    result = anyio.run(run, backend=loop)

    expected = reference_outputs(description, inputs)
    assert {name: to_plain(result[name]) for name in expected} == expected
    assert result.order == reference_order(description)
