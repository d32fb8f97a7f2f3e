"""Graph algorithms over vertex names: order, stages, reverse edges, closures, cycles."""

import itertools
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowdsl._model import topology


def is_closed_path(path: list[str], upstream: dict[str, list[str]]) -> bool:
    """Each step of ``path`` feeds the next (the next reads from it), back to the start."""
    return path[0] == path[-1] and all(
        producer in upstream[consumer] for producer, consumer in itertools.pairwise(path)
    )


# --- topological_order -----------------------------------------------------------------------


def test_topological_order_keeps_declaration_order_when_free() -> None:
    assert topology.topological_order({"c": [], "a": [], "b": []}) == ("c", "a", "b")


def test_topological_order_respects_dependencies() -> None:
    upstream = {"d": ["b", "c"], "c": ["a"], "b": ["a"], "a": []}
    order = topology.topological_order(upstream)
    assert order == ("a", "c", "b", "d")
    position = {name: i for i, name in enumerate(order)}
    for name, parents in upstream.items():
        assert all(position[p] < position[name] for p in parents)


def test_topological_order_picks_the_first_declared_ready_vertex() -> None:
    upstream = {"late": ["mid"], "mid": ["root"], "root": [], "other": []}
    assert topology.topological_order(upstream) == ("root", "mid", "late", "other")


def test_topological_order_counts_a_repeated_parent_once() -> None:
    assert topology.topological_order({"a": [], "b": ["a", "a"]}) == ("a", "b")


def test_topological_order_rejects_a_cycle() -> None:
    with pytest.raises(ValueError, match="acyclic"):
        topology.topological_order({"a": ["b"], "b": ["a"], "c": []})


def test_topological_order_of_nothing() -> None:
    assert topology.topological_order({}) == ()


# --- stages and reverse ----------------------------------------------------------------------


def test_stages_group_by_depth() -> None:
    upstream = {"a": [], "b": ["a"], "c": [], "d": ["b", "c"], "e": ["a"]}
    order = topology.topological_order(upstream)
    assert topology.stages(upstream, order) == (("a", "c"), ("b", "e"), ("d",))


def test_stages_put_a_vertex_after_its_deepest_dependency() -> None:
    upstream = {"a": [], "b": ["a"], "c": ["b"], "d": ["a", "c"]}
    assert topology.stages(upstream, ("a", "b", "c", "d")) == (("a",), ("b",), ("c",), ("d",))


def test_stages_of_nothing() -> None:
    assert topology.stages({}, ()) == ()


def test_reverse_lists_readers_in_order_once_each() -> None:
    upstream = {"a": [], "b": ["a", "a"], "c": ["a", "b"]}
    assert topology.reverse(upstream, ("a", "b", "c")) == {"a": ("b", "c"), "b": ("c",), "c": ()}


def test_stages_need_a_topological_order() -> None:
    with pytest.raises(ValueError, match="topological order"):
        topology.stages({"a": [], "b": ["a"]}, ("b", "a"))
    with pytest.raises(ValueError, match="topological order"):
        topology.stages({"a": ["missing"]}, ("a",))


def test_layout_of_a_graph_declared_out_of_order_falls_back_to_kahn() -> None:
    upstream = {"d": ["b", "c"], "c": ["a"], "b": ["a"], "a": []}
    assert topology.layout(upstream) == (("a", "c", "b", "d"), (("a",), ("c", "b"), ("d",)))


def test_layout_rejects_a_cycle() -> None:
    with pytest.raises(ValueError, match="acyclic"):
        topology.layout({"a": ["b"], "b": ["a"]})


def test_stages_and_readers_share_one_name_tuples_with_the_upstream() -> None:
    # A chain keeps one ("b",) tuple: c's upstream, b's stage and a's readers.
    upstream = {"a": (), "b": ("a",), "c": ("b",)}
    order, stages = topology.layout(upstream)
    assert stages[1] is upstream["c"]
    assert topology.reverse(upstream, order)["a"] is upstream["c"]


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    """A random DAG (each vertex reads some earlier ones, a name possibly twice),
    declared in a random order."""
    size = draw(st.integers(0, 12))
    names = [f"v{i}" for i in range(size)]
    upstream = {
        name: draw(st.lists(st.sampled_from(names[:i]), max_size=4)) if i else []
        for i, name in enumerate(names)
    }
    declared = draw(st.permutations(names))
    return {name: upstream[name] for name in declared}


@given(dags())
def test_layout_matches_its_definition(upstream: dict[str, list[str]]) -> None:
    order, stages = topology.layout(upstream)
    assert order == topology.topological_order(upstream)
    depth: dict[str, int] = {}
    for name in order:
        depth[name] = max((depth[p] + 1 for p in upstream[name]), default=0)
    levels = range(max(depth.values(), default=-1) + 1)
    assert stages == tuple(tuple(n for n in order if depth[n] == level) for level in levels)
    assert topology.stages(upstream, order) == stages
    readers = topology.reverse(upstream, order)
    assert readers == {n: tuple(c for c in order if n in upstream[c]) for n in order}
    assert list(readers) == list(order)


# --- closure ---------------------------------------------------------------------------------


def test_closure_includes_the_start_and_everything_reachable() -> None:
    edges = {"a": ["b"], "b": ["c", "a"], "c": [], "d": ["a"]}
    assert topology.closure(["a"], edges.__getitem__) == {"a", "b", "c"}
    assert topology.closure(["d"], edges.__getitem__) == {"a", "b", "c", "d"}
    assert topology.closure(["c", "c"], edges.__getitem__) == {"c"}
    assert topology.closure([], edges.__getitem__) == frozenset()


def test_closure_of_a_deep_chain() -> None:
    edges = {str(i): [str(i + 1)] if i < 9_999 else [] for i in range(10_000)}
    assert len(topology.closure(["0"], edges.__getitem__)) == 10_000


# --- find_cycles -----------------------------------------------------------------------------


def test_no_cycle() -> None:
    assert topology.find_cycles({"a": [], "b": ["a"], "c": ["a", "b"]}) == []
    assert topology.find_cycles({}) == []


def test_self_cycle() -> None:
    assert topology.find_cycles({"a": [], "b": ["b", "a"]}) == [["b", "b"]]


def test_cycle_path_follows_dependencies_from_the_first_declared_member() -> None:
    # a reads c, b reads a, c reads b: a feeds b feeds c feeds a.
    upstream = {"x": [], "a": ["c", "x"], "b": ["a"], "c": ["b"], "y": ["c"]}
    assert topology.find_cycles(upstream) == [["a", "b", "c", "a"]]


def test_separate_cycles_are_each_reported() -> None:
    upstream = {
        "p": ["q"],
        "q": ["p"],
        "free": [],
        "r": ["t", "free"],
        "s": ["r"],
        "t": ["s"],
        "u": ["u"],
    }
    cycles = topology.find_cycles(upstream)
    assert sorted(cycles) == [["p", "q", "p"], ["r", "s", "t", "r"], ["u", "u"]]
    for cycle in cycles:
        assert is_closed_path(cycle, upstream)


def test_one_component_with_several_cycles_gives_a_short_real_cycle() -> None:
    upstream = {"a": ["d", "b"], "b": ["a"], "c": ["b"], "d": ["c"]}
    (cycle,) = topology.find_cycles(upstream)
    assert cycle == ["a", "b", "a"]
    assert is_closed_path(cycle, upstream)


def test_names_outside_the_mapping_are_ignored() -> None:
    assert topology.find_cycles({"a": ["missing"], "b": ["a"]}) == []
    assert topology.find_cycles({"a": ["missing", "b"], "b": ["a"]}) == [["a", "b", "a"]]


def test_deep_chain_closed_into_a_cycle_does_not_recurse() -> None:
    n = 5_000
    assert n > sys.getrecursionlimit() // 2
    names = [f"v{i}" for i in range(n)]
    # v0 reads v{n-1}; v{i} reads v{i-1}: v0 feeds v1 feeds ... feeds v{n-1} feeds v0.
    upstream = {name: [names[i - 1]] for i, name in enumerate(names)}
    (cycle,) = topology.find_cycles(upstream)
    assert cycle == [*names, "v0"]
    assert is_closed_path(cycle, upstream)


def test_deep_acyclic_chain_has_no_cycle_and_orders() -> None:
    n = 5_000
    upstream = {f"v{i}": [f"v{i - 1}"] if i else [] for i in range(n)}
    assert topology.find_cycles(upstream) == []
    order = topology.topological_order(upstream)
    assert order == tuple(upstream)
    assert len(topology.stages(upstream, order)) == n
