"""The compiled graph model: immutable, ordered by declaration, staged, and queryable."""

import inspect
import pickle
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import flowdsl
from flowdsl import Binding, FlowInput, Graph, InputConsumer, VertexNode, vertex
from flowdsl._dsl import spec_of
from flowdsl._model import topology
from flowdsl._model.graph import NO_DEFAULT, VertexContracts
from tests.compiler._modules import ModuleMaker

DIAMOND = """
from flowdsl import vertex

@vertex(flows="ingest")
def load(path: str) -> list:
    return []

@vertex
def audit(stamp: str = "now") -> str:
    return stamp

@vertex(flows=("ingest", "report"))
def clean(load: list) -> list:
    return load

@vertex(flows="report")
def stats(load: list, limit: int = 10) -> dict:
    return {}

@vertex(flows="report")
def report(clean: list, stats: dict, audit: str) -> str:
    return ""

@vertex
def archive(report: str, limit: int) -> None:
    pass
"""


@pytest.fixture
def make_module(tmp_path: Path) -> Iterator[ModuleMaker]:
    maker = ModuleMaker(tmp_path)
    yield maker
    maker.cleanup()


@pytest.fixture
def graph(make_module: ModuleMaker) -> Graph:
    return flowdsl.compile(make_module(DIAMOND))


def test_vertices_in_topological_order_with_declaration_order_breaking_ties(graph) -> None:
    assert graph.order == ("load", "audit", "clean", "stats", "report", "archive")
    assert list(graph.vertices) == list(graph.order)
    assert all(isinstance(v, VertexNode) for v in graph.vertices.values())
    assert graph.vertices["report"].upstream == ("clean", "stats", "audit")


def test_order_follows_dependencies_not_only_declaration() -> None:
    @vertex
    def last(middle: int) -> int:
        return middle

    @vertex
    def middle(first: int) -> int:
        return first

    @vertex
    def first() -> int:
        return 1

    @vertex
    def independent() -> int:
        return 0

    graph = flowdsl.compile(last, middle, first, independent)
    # Among the vertices that are ready, the first declared goes first.
    assert graph.order == ("first", "middle", "last", "independent")
    assert graph.stages == (("first", "independent"), ("middle",), ("last",))
    # The same vertices given in another order break ties in that order.
    assert flowdsl.compile(independent, first, middle, last).order == (
        "independent",
        "first",
        "middle",
        "last",
    )


def test_stages(graph) -> None:
    assert graph.stages == (
        ("load", "audit"),
        ("clean", "stats"),
        ("report",),
        ("archive",),
    )
    stage_of = {name: i for i, stage in enumerate(graph.stages) for name in stage}
    assert sorted(stage_of) == sorted(graph.order)
    for name, node in graph.vertices.items():
        for parent in node.upstream:
            assert stage_of[parent] < stage_of[name]
    assert flowdsl.Flow(graph).stages() == [list(stage) for stage in graph.stages]


def test_downstream_and_closures(graph) -> None:
    assert dict(graph.downstream) == {
        "load": ("clean", "stats"),
        "audit": ("report",),
        "clean": ("report",),
        "stats": ("report",),
        "report": ("archive",),
        "archive": (),
    }
    assert graph.upstream_closure(["report"]) == {"report", "clean", "stats", "load", "audit"}
    assert graph.upstream_closure(["stats", "audit"]) == {"stats", "load", "audit"}
    assert graph.upstream_closure(["load"]) == {"load"}
    assert graph.upstream_closure([]) == frozenset()
    assert graph.downstream_closure(["load"]) == {"load", "clean", "stats", "report", "archive"}
    assert graph.downstream_closure(["audit"]) == {"audit", "report", "archive"}
    assert graph.downstream_closure(["archive"]) == {"archive"}
    assert isinstance(graph.upstream_closure(["report"]), frozenset)


def test_flows(graph) -> None:
    assert dict(graph.flows) == {
        "ingest": ("load", "clean"),
        "report": ("clean", "stats", "report"),
    }
    assert graph.vertices["clean"].options.flows == ("ingest", "report")
    assert graph.vertices["archive"].options.flows == ()


def test_flow_inputs(graph) -> None:
    inputs = graph.inputs
    assert list(inputs) == ["path", "stamp", "limit"]
    assert inputs["path"] == FlowInput("path", (InputConsumer("load", "path", str, NO_DEFAULT),))
    assert inputs["path"].required is True
    assert inputs["stamp"].required is False
    assert inputs["stamp"].annotation is str
    assert inputs["limit"].consumers == (
        InputConsumer("stats", "limit", int, 10),
        InputConsumer("archive", "limit", int, NO_DEFAULT),
    )
    assert inputs["limit"].required is True
    assert inputs["limit"].required_by({"load", "stats", "report"}) is False
    assert inputs["limit"].required_by({"archive"}) is True
    assert inputs["limit"].required_by(graph.upstream_closure(["report"])) is False
    assert inputs["stamp"].required_by(graph.order) is False


def test_vertex_nodes_record_the_spec_and_output_shape(graph, make_module) -> None:
    node = graph.vertices["stats"]
    assert node.name == "stats"
    assert node.function.__name__ == "stats"
    assert node.returns is dict
    assert node.fields is None
    assert node.is_async is False
    assert node.options.pure is False
    assert node.options.blocking is False
    assert node.bindings == (
        Binding(parameter="load", source="load", annotation=list),
        Binding(parameter="limit", source="limit", is_input=True, annotation=int, default=10),
    )

    module = make_module(
        """
        from flowdsl import vertex

        @vertex(pure=True, blocking=True)
        def sync_one() -> int:
            return 1

        @vertex
        async def async_one(sync_one: int) -> int:
            return sync_one
        """
    )
    nodes = flowdsl.compile(module).vertices
    assert (nodes["sync_one"].options.pure, nodes["sync_one"].options.blocking) == (True, True)
    assert nodes["sync_one"].is_async is False
    assert nodes["async_one"].is_async is True
    assert nodes["async_one"].location.file == module.__file__


def test_graph_is_frozen(graph) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        graph.order = ()  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        graph.vertices = {}  # type: ignore[misc]
    node = graph.vertices["load"]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        node.name = "other"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        node.bindings[0].source = "other"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        graph.inputs["path"].consumers = ()  # type: ignore[misc]


def test_nodes_and_bindings_take_their_fields_in_order_with_their_defaults() -> None:
    # Their ``__init__`` is written out (cheaper than attrs' frozen one): it must
    # take exactly the fields attrs knows, in order, with the same defaults.
    for cls in (Binding, VertexNode):
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        fields = [f for f in attrs.fields(cls) if f.init]
        assert [p.name for p in parameters] == [f.alias for f in fields]
        assert [p.default for p in parameters] == [
            inspect.Parameter.empty if f.default is attrs.NOTHING else f.default for f in fields
        ]


def test_nodes_and_bindings_evolve_compare_and_pickle_as_records(graph) -> None:
    node = graph.vertices["report"]
    assert type(node) is VertexNode
    assert type(node.bindings[0]) is Binding
    assert node.upstream == ("clean", "stats", "audit")
    later = attrs.evolve(node, after=("load",))
    assert (type(later), later.upstream, later.after) == (VertexNode, node.upstream, ("load",))
    assert attrs.evolve(node) == node
    assert hash(attrs.evolve(node)) == hash(node)
    assert later != node
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        node.upstream = ()  # type: ignore[misc]
    binding = Binding("x", "y", default=3)
    assert pickle.loads(pickle.dumps(binding)) == binding
    assert type(pickle.loads(pickle.dumps(binding))) is Binding
    assert binding == Binding(parameter="x", source="y", default=3)
    assert binding != Binding("x", "y")
    assert repr(binding).startswith("Binding(parameter='x', source='y', is_input=False")


def test_a_chain_shares_one_tuple_between_upstream_stage_and_readers(make_module) -> None:
    # A long chain would otherwise keep three equal one-name tuples a vertex.
    module = make_module(
        """
        from flowdsl import vertex

        @vertex
        def a(x: int) -> int:
            return x

        @vertex
        def b(a: int) -> int:
            return a

        @vertex
        def c(b: int) -> int:
            return b

        @vertex
        def d(c: int, b: int) -> int:
            return c
        """
    )
    graph = flowdsl.compile(module)
    assert graph.stages == (("a",), ("b",), ("c",), ("d",))
    assert dict(graph.downstream) == {"a": ("b",), "b": ("c", "d"), "c": ("d",), "d": ()}
    nodes = graph.vertices
    assert graph.stages[0] is nodes["b"].upstream
    assert graph.stages[1] is nodes["c"].upstream
    assert graph.downstream["a"] is nodes["c"].upstream


def test_a_node_finds_its_def_line_when_asked(make_module) -> None:
    module = make_module(
        """
        from flowdsl import vertex

        def plain(x: int) -> int:
            return x

        @vertex(
            pure=True,
        )
        def decorated(x: int) -> int:
            return x

        made = vertex(plain, name="made")
        """
    )
    graph = flowdsl.compile(module.decorated, module.made)
    decorated, made = graph.vertices["decorated"], graph.vertices["made"]
    lines = Path(module.__file__).read_text().splitlines()
    assert decorated.location.file == module.__file__
    assert lines[decorated.location.line - 1].startswith("def decorated(")
    assert made.location == spec_of(module.made).location
    assert attrs.evolve(decorated, after=("made",)).location == decorated.location
    elsewhere = flowdsl.SourceLocation("elsewhere.py", 1)
    assert attrs.evolve(decorated, location=elsewhere).location == elsewhere


def test_a_compiled_chain_keeps_a_few_hundred_bytes_a_vertex(make_module) -> None:
    # Nodes, bindings, contracts, order, stages and readers of a chain: 703 bytes a
    # vertex before their records were slimmed, 519 after. Measured on a second
    # compile: the first also makes what Python keeps per function once asked for
    # (its annotations dict, its code's names).
    size = 2000
    source = "from flowdsl import vertex\n\n@vertex\ndef v0(x: int) -> int:\n    return x\n"
    for i in range(1, size):
        source += f"\n@vertex\ndef v{i}(v{i - 1}: int) -> int:\n    return v{i - 1}\n"
    module = make_module(source)
    flowdsl.compile(module)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        graph = flowdsl.compile(module)
        kept = (tracemalloc.get_traced_memory()[0] - before) / size
    finally:
        tracemalloc.stop()
    assert len(graph.order) == size
    assert kept < 600


@pytest.mark.skipif(sys.version_info < (3, 12), reason="markcoroutinefunction is new in 3.12")
def test_a_function_marked_as_a_coroutine_function_is_an_async_vertex() -> None:
    async def add_one(x: int) -> int:
        return x + 1

    def marked(x: int) -> int:
        return add_one(x)  # type: ignore[return-value]

    inspect.markcoroutinefunction(marked)  # type: ignore[attr-defined,unused-ignore]
    node = flowdsl.compile(vertex(marked)).vertices["marked"]
    assert node.is_async is True
    assert flowdsl.Flow.from_functions(marked).run({"x": 1})["marked"] == 2


def test_graph_mappings_are_read_only(graph) -> None:
    with pytest.raises(TypeError):
        graph.vertices["extra"] = graph.vertices["load"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del graph.vertices["load"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        graph.inputs["extra"] = graph.inputs["path"]  # type: ignore[index]
    with pytest.raises(TypeError):
        graph.downstream["load"] = ()  # type: ignore[index]
    assert list(graph.vertices) == list(graph.order)


def test_downstream_is_worked_out_when_first_read_and_a_run_does_not_read_it(
    make_module,
) -> None:
    graph = flowdsl.compile(make_module(DIAMOND))
    flowdsl.Flow(graph).run({"path": "p", "limit": 1})
    assert graph.downstream._readers is None  # type: ignore[attr-defined]
    assert list(graph.downstream) == list(graph.order)
    assert len(graph.downstream) == len(graph.order)
    assert "load" in graph.downstream
    assert "nothing" not in graph.downstream
    assert graph.downstream._readers is None  # type: ignore[attr-defined]
    eager = topology.reverse({n: v.upstream for n, v in graph.vertices.items()}, graph.order)
    assert dict(graph.downstream) == eager
    assert repr(graph.downstream) == repr(eager)
    assert graph == flowdsl.compile(make_module(DIAMOND))
    made_whole = attrs.evolve(graph, downstream=eager)
    assert made_whole == graph
    assert graph == made_whole
    assert attrs.evolve(graph, downstream={**eager, "load": ()}) != graph
    with pytest.raises(TypeError):
        hash(graph)  # as with the read-only mappings it holds


def test_graph_copies_what_it_is_built_from() -> None:
    @vertex
    def only(x: int) -> int:
        return x

    nodes = {"only": flowdsl.compile(only).vertices["only"]}
    graph = Graph.build(nodes.values(), [])
    source = dict(graph.vertices)
    built = Graph(
        vertices=source,
        inputs={},
        order=("only",),
        stages=(("only",),),
        downstream={"only": ()},
    )
    source["other"] = nodes["only"]
    assert list(built.vertices) == ["only"]


def test_equal_compiles_give_equal_graphs(make_module) -> None:
    module = make_module(DIAMOND)
    assert flowdsl.compile(module) == flowdsl.compile(module)


def test_multiple_modules_combine_into_one_graph(make_module) -> None:
    users = make_module(
        """
        from typing import TypedDict
        from flowdsl import vertex

        class User(TypedDict):
            id: int
            name: str

        @vertex
        def normalize(name: str) -> str:
            return name.strip().lower()

        @vertex
        def fetch_user(normalize: str) -> User:
            return {"id": 7, "name": normalize}
        """
    )
    orders = make_module(
        """
        from typing import Annotated
        from flowdsl import From, vertex

        @vertex
        def orders(user_id: Annotated[int, From("fetch_user.id")], limit: int = 5) -> list:
            return []

        @vertex
        def summary(orders: list, normalize: str) -> str:
            return normalize
        """
    )
    graph = flowdsl.compile(users, orders)
    assert graph.order == ("normalize", "fetch_user", "orders", "summary")
    assert graph.stages == (("normalize",), ("fetch_user",), ("orders",), ("summary",))
    assert list(graph.inputs) == ["name", "limit"]
    assert graph.vertices["orders"].bindings[0].ref == "fetch_user.id"
    assert graph.vertices["orders"].location.file == orders.__file__
    assert graph.vertices["normalize"].location.file == users.__file__
    assert flowdsl.Flow.from_module(users, orders).graph == graph
    # Alone, the second module cannot compile: it reads vertices of the first.
    with pytest.raises(flowdsl.CompileError):
        flowdsl.compile(orders)


def test_empty_graph() -> None:
    graph = Graph.build([], [])
    assert graph.order == ()
    assert graph.stages == ()
    assert dict(graph.vertices) == {}
    assert dict(graph.flows) == {}


def test_contracts_of_one_parameter_are_a_small_read_only_mapping() -> None:
    # Most vertices check one parameter: its record is kept per vertex, so it is small.
    records = []
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        records.extend(VertexContracts({f"p{i}": int}, None) for i in range(1000))
        kept = (tracemalloc.get_traced_memory()[0] - before) / 1000
    finally:
        tracemalloc.stop()
    assert kept < 180  # a dict behind a mappingproxy kept about 320 bytes
    parameters = records[7].parameters
    assert parameters == {"p7": int}
    assert dict(parameters) == {"p7": int}
    assert (parameters["p7"], parameters.get("p7"), parameters.get("x", 0)) == (int, int, 0)
    assert ("p7" in parameters, "x" in parameters, len(parameters)) == (True, False, 1)
    with pytest.raises(KeyError):
        parameters["x"]
    with pytest.raises(TypeError):
        parameters["p7"] = str  # type: ignore[index]
    assert records[7] == VertexContracts({"p7": int}, None)
    assert records[7] != VertexContracts({"p8": int}, None)
    assert repr(parameters) == "{'p7': <class 'int'>}"


def test_contracts_of_one_parameter_built_directly_equal_the_general_record() -> None:
    one = VertexContracts.one("x", int, str)
    assert one == VertexContracts({"x": int}, str)
    assert (dict(one.parameters), one.returns) == ({"x": int}, str)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        one.returns = int  # type: ignore[misc]
    evolved = attrs.evolve(one, returns=None)
    assert evolved == VertexContracts({"x": int})
    assert not isinstance(evolved.parameters, dict)
    # A vertex that checks only its return value: an empty, read-only mapping.
    returned_only = VertexContracts({}, int)
    assert dict(returned_only.parameters) == {}
    assert returned_only
    with pytest.raises(TypeError):
        returned_only.parameters["x"] = int  # type: ignore[index]
    assert not VertexContracts({}, None)


def test_contracts_taking_a_dict_equal_the_general_record_and_stay_read_only() -> None:
    several = {"x": int, "y": str}
    taken = VertexContracts.taking(several, bool)
    assert taken == VertexContracts({"x": int, "y": str}, bool)
    assert (dict(taken.parameters), taken.returns) == ({"x": int, "y": str}, bool)
    with pytest.raises(TypeError):
        taken.parameters["z"] = int  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        taken.returns = int  # type: ignore[misc]
    assert attrs.evolve(taken, returns=None) == VertexContracts(several)
    # One entry or none: the same small mappings as the general record's.
    assert type(VertexContracts.taking({"x": int}).parameters) is type(
        VertexContracts({"x": int}).parameters
    )
    assert VertexContracts.taking({}, int) == VertexContracts({}, int)
