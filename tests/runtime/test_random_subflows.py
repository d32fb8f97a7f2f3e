"""Property tests: random graphs used as sub-flows (twice, under two names) inside an outer
flow give, on every backend and loop, what the reference evaluator says."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowdsl
from tests.quick import examples
from tests.runtime.test_random_backends import MODES
from tests.strategies import (
    build_graph,
    graphs,
    inputs_for,
    reference_subflow_outputs,
    reference_subflow_states,
    to_plain,
)

SETTINGS = settings(
    max_examples=examples(10),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ALL_MODES = [("serial", "asyncio"), *MODES]


def _outer(inner: flowdsl.Flow) -> flowdsl.Flow:
    # Two independent uses of one sub-flow, their inputs bound by name to the outer flow's.
    return flowdsl.Flow.from_functions(inner.as_vertex("one"), inner.as_vertex("two"))


@SETTINGS
@given(data=st.data())
def test_a_random_sub_flow_gives_the_reference_outputs(data: st.DataObject) -> None:
    description = data.draw(graphs(max_vertices=60, max_parents=4))
    inputs = data.draw(inputs_for(description))
    outer = _outer(build_graph(description).flow)
    expected = {
        **reference_subflow_outputs(description, inputs, "one"),
        **reference_subflow_outputs(description, inputs, "two"),
    }
    for backend, loop in ALL_MODES:
        result = outer.run(inputs, backend=backend, anyio_backend=loop, max_workers=4)
        assert {name: to_plain(result[name]) for name in expected} == expected, (backend, loop)
        assert set(result.states.values()) == {"completed"}


@SETTINGS
@given(data=st.data())
def test_failures_in_a_random_sub_flow_follow_reachability(data: st.DataObject) -> None:
    description = data.draw(graphs(max_vertices=40))
    failing = data.draw(st.frozensets(st.sampled_from(description.names), max_size=4))
    inputs = data.draw(inputs_for(description))
    outer = _outer(build_graph(description, failing=failing).flow)
    states = {
        **reference_subflow_states(description, failing, "one"),
        **reference_subflow_states(description, failing, "two"),
    }
    expected = reference_subflow_outputs(description, inputs, "one")
    for backend, loop in ALL_MODES:
        result = outer.run(inputs, backend=backend, anyio_backend=loop, on_error="continue")
        assert {n: str(s) for n, s in result.states.items()} == states, (backend, loop)
        for name in result:
            if name.startswith("one"):
                assert to_plain(result[name]) == expected[name]
