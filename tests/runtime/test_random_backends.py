"""Property tests: random graphs on every backend and loop give the serial run's result.

Graphs mix sync and async vertices (some ``blocking=True``), field bindings
and defaults; failure injection checks that ``on_error="continue"`` completes,
fails and skips exactly what reachability says, on every backend.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowdsl import VertexFailed
from tests.quick import examples
from tests.strategies import (
    build_graph,
    graphs,
    inputs_for,
    reference_outputs,
    reference_states,
    to_plain,
)

MODES = [
    ("thread", "asyncio"),
    ("thread", "trio"),
    ("async", "asyncio"),
    ("async", "trio"),
    ("serial", "trio"),
]
SETTINGS = settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(data=st.data())
def test_every_backend_matches_the_serial_run(data: st.DataObject) -> None:
    description = data.draw(graphs(max_vertices=200, max_parents=5))
    inputs = data.draw(inputs_for(description))
    built = build_graph(description)
    serial = built.flow.run(inputs)
    reference = reference_outputs(description, inputs)
    expected = {name: to_plain(serial[name]) for name in reference}
    assert expected == reference

    for backend, loop in MODES:
        built.calls.clear()
        result = built.flow.run(inputs, backend=backend, anyio_backend=loop, max_workers=4)
        assert {name: to_plain(result[name]) for name in reference} == expected, (backend, loop)
        assert set(result) == set(serial)
        assert set(result.states.values()) == {"completed"}
        # Each vertex ran exactly once, and only after everything it reads.
        assert Counter(built.calls) == Counter(description.names)
        done = {name: i for i, name in enumerate(result.order)}
        for vertex in description.vertices:
            for parent in vertex.parents:
                assert done[parent] < done[vertex.name]


@SETTINGS
@given(data=st.data())
def test_failure_injection_follows_reachability_on_every_backend(data: st.DataObject) -> None:
    description = data.draw(graphs(max_vertices=80))
    failing = data.draw(st.frozensets(st.sampled_from(description.names), max_size=5))
    inputs = data.draw(inputs_for(description))
    built = build_graph(description, failing=failing)
    states = reference_states(description, failing)
    expected = reference_outputs(description, inputs)

    for backend, loop in MODES:
        built.calls.clear()
        result = built.flow.run(inputs, backend=backend, anyio_backend=loop, on_error="continue")
        assert {n: str(s) for n, s in result.states.items()} == states, (backend, loop)
        assert sorted(built.calls) == sorted(n for n, s in states.items() if s != "skipped")
        for name in result:
            assert to_plain(result[name]) == expected[name]


@settings(max_examples=examples(10), deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_raise_stops_at_a_failing_vertex_on_every_backend(data: st.DataObject) -> None:
    description = data.draw(graphs(max_vertices=60))
    failing = data.draw(st.frozensets(st.sampled_from(description.names), min_size=1, max_size=3))
    inputs = data.draw(inputs_for(description))
    built = build_graph(description, failing=failing)
    expected = reference_outputs(description, inputs)

    for backend, loop in MODES:
        with pytest.raises(VertexFailed) as caught:
            built.flow.run(inputs, backend=backend, anyio_backend=loop)
        error = caught.value
        assert error.vertex in failing
        assert isinstance(error.__cause__, built.failure_type)
        partial = error.result
        assert partial is not None
        assert str(partial.states[error.vertex]) == "failed"
        assert not set(partial.order) & failing
        for name in partial:
            assert to_plain(partial[name]) == expected[name]
