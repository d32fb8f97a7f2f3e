"""Property tests: random graphs with reused functions (``vertex(fn, bind=...)``,
``vertex.expand``), ``after=`` edges, config variants and an unpacked output agree
with the independent reference on every backend."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.quick import examples
from tests.runtime._modes import MODES
from tests.strategies import (
    BuiltGraph,
    GraphDescription,
    build_graph,
    graphs,
    inputs_for,
    reference_order,
    reference_outputs,
    reference_states,
    to_plain,
    upstream_closure,
)

SETTINGS = settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _made_line(built: BuiltGraph, name: str) -> int:
    """The line of the statement that made vertex ``name`` (``vertex(...)``/``vertex.expand``)."""
    starts = (f"made_{name} = vertex(", f"family_{name} = vertex.expand(")
    for number, line in enumerate(built.source.splitlines(), start=1):
        if line.startswith(starts):
            return number
    raise LookupError(name)


def _unpacked(description: GraphDescription) -> set[str]:
    return {"total", "alt"} if any(v.unpack for v in description.vertices) else set()


@SETTINGS
@given(data=st.data())
def test_reused_graphs_agree_with_the_reference_on_every_backend(data: st.DataObject) -> None:
    description = data.draw(graphs(reuse=True, max_vertices=15))
    inputs = data.draw(inputs_for(description))
    built = build_graph(description)
    flow = built.flow
    assert set(flow.vertices) == set(description.names) | _unpacked(description)
    for v in description.vertices:
        node = flow.vertices[v.name]
        # A field read by name from an unpacked output comes through the field's vertex.
        read = {
            p.field if p.binding == "unpacked" else p.source for p in v.params if p.kind == "vertex"
        }
        assert set(node.upstream) == read | set(v.after)
        assert node.requires == v.after
        if v.made == "decorated":
            assert node.location.line in built.definition_lines(v.name)
        else:
            assert node.location.line == _made_line(built, v.name)
            bound = {b.parameter: b.constant for b in node.bindings if b.is_constant}
            assert bound == {"k_const": v.constant}
    expected = reference_outputs(description, inputs)
    for backend, loop in MODES:
        result = flow.run(inputs, backend=backend, anyio_backend=loop)
        assert {name: to_plain(result[name]) for name in expected} == expected, (backend, loop)
        for field in _unpacked(description):
            source = next(v.name for v in description.vertices if v.unpack)
            assert result[field] == expected[f"{source}.{field}"]
    if not _unpacked(description):
        serial = flow.run(inputs)
        assert serial.order == reference_order(description)


@SETTINGS
@given(data=st.data())
def test_failures_and_pruning_follow_after_edges(data: st.DataObject) -> None:
    description = data.draw(graphs(reuse=True, max_vertices=12))
    inputs = data.draw(inputs_for(description))
    failing = data.draw(st.frozensets(st.sampled_from(description.names), max_size=3))
    built = build_graph(description, failing=failing)
    names = set(description.names)
    mode = data.draw(st.sampled_from(MODES))
    result = built.flow.run(inputs, backend=mode[0], anyio_backend=mode[1], on_error="continue")
    states = {name: str(state) for name, state in result.states.items() if name in names}
    assert states == reference_states(description, failing)

    target = data.draw(st.sampled_from(description.names))
    built.set_failing(())
    built.reset()
    pruned = built.flow.run(inputs, outputs=[target])
    assert list(pruned) == [target]
    assert set(built.calls) == upstream_closure(description, [target])


def test_reused_graphs_run_on_dask(dask_client: Any) -> None:
    @settings(max_examples=examples(5), deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        description = data.draw(graphs(reuse=True, max_vertices=8))
        inputs = data.draw(inputs_for(description))
        built = build_graph(description)
        result = built.flow.run(inputs, backend="dask", dask_client=dask_client)
        expected = reference_outputs(description, inputs)
        assert {name: to_plain(result[name]) for name in expected} == expected

    check()
