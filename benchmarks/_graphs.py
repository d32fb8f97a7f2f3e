"""Graph builders for the benchmarks: describe a graph once, generate it for any library.

A ``GraphSpec`` lists vertices (name, parents, body); ``build`` writes the
Python source of a real module for it in one *dialect* (flowdsl's ``@vertex``,
pipefunc's ``@pipefunc``, or plain functions, which is how Hamilton reads a
module and how ``dask.delayed`` wraps functions), imports it, and returns a
``BuiltGraph``: the module, the flow inputs, and the same functions in
topological order with the names of what they read, so that reference loops
can call them without any library.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import random
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DIALECTS",
    "INPUT",
    "BuiltGraph",
    "GraphSpec",
    "Vertex",
    "VertexCall",
    "build",
    "built",
    "chain",
    "chain_spec",
    "import_path",
    "layered",
    "layered_spec",
    "memory_spec",
    "module_path",
    "nested_spec",
    "sleepers_spec",
    "unbalanced_spec",
    "write_source",
]

#: The one flow input every generated graph reads.
INPUT = "x"
#: Keeps the layered graph's integers small, so every body stays trivial.
_MODULUS = 1_000_003


@dataclass(frozen=True)
class Vertex:
    """One vertex of a spec: ``def name(parent: params, ...) -> returns: wait; return body``."""

    name: str
    parents: tuple[str, ...]
    body: str
    #: A statement run before the return: ``time.sleep(0.01)`` or ``await anyio.sleep(0.01)``.
    wait: str = ""
    params: str = "int"
    returns: str = "int"

    @property
    def is_async(self) -> bool:
        """Whether the generated function is a coroutine function."""
        return self.wait.startswith("await ")


@dataclass(frozen=True)
class GraphSpec:
    """A library-neutral graph: its vertices in topological order and its flow inputs."""

    label: str
    vertices: tuple[Vertex, ...]
    layers: int
    inputs: Mapping[str, Any] = field(default_factory=lambda: {INPUT: 1})
    #: Module-level source the bodies use (constants), placed after the imports.
    prelude: str = ""
    #: ``True`` when the cheapest direct call is a loop ``x = f(x)`` (a chain).
    is_chain: bool = False

    @property
    def last(self) -> str:
        """The name of the last vertex (the one a run requests)."""
        return self.vertices[-1].name

    @property
    def names(self) -> list[str]:
        """Every vertex name, in topological order."""
        return [v.name for v in self.vertices]


@dataclass(frozen=True)
class Dialect:
    """How one library spells a vertex: the imports and the decorator line."""

    imports: str
    decorator: str
    pure_decorator: str


#: flowdsl; pipefunc (``output_name`` is the vertex name); plain functions
#: (Hamilton reads them from the module, dask.delayed wraps them).
DIALECTS: dict[str, Dialect] = {
    "flowdsl": Dialect("from flowdsl import vertex", "@vertex", "@vertex(pure=True)"),
    "pipefunc": Dialect(
        "from pipefunc import pipefunc",
        '@pipefunc(output_name="{name}")',
        '@pipefunc(output_name="{name}", cache=True)',
    ),
    "plain": Dialect("", "", ""),
}


@dataclass(frozen=True)
class VertexCall:
    """One vertex as a plain call: its name, its function, and the names it reads, in order."""

    name: str
    function: Callable[..., Any]
    parents: tuple[str, ...]


@dataclass(frozen=True)
class BuiltGraph:
    """A generated, imported module and what the reference loops need to call it."""

    label: str
    module: types.ModuleType
    inputs: Mapping[str, Any]
    calls: tuple[VertexCall, ...]
    layers: int
    is_chain: bool = False

    @property
    def size(self) -> int:
        """The number of vertices."""
        return len(self.calls)

    @property
    def edges(self) -> int:
        """The number of bindings (parameters), flow inputs included."""
        return sum(len(call.parents) for call in self.calls)

    @functools.cached_property
    def direct(self) -> Callable[[Any], Any]:
        """The cheapest way to compute a sync graph: the same functions, no store, no lookups.

        Takes the flow input, returns the last vertex's output (built on first use).
        """
        return _chain_direct(self.calls) if self.is_chain else _straight_line(self.calls)


def _vertex_source(vertex: Vertex, decorator: str) -> str:
    params = ", ".join(f"{parent}: {vertex.params}" for parent in vertex.parents)
    prefix = "async " if vertex.is_async else ""
    wait = f"    {vertex.wait}\n" if vertex.wait else ""
    head = f"{decorator.format(name=vertex.name)}\n" if decorator else ""
    return (
        f"{head}{prefix}def {vertex.name}({params}) -> {vertex.returns}:\n"
        f"{wait}    return {vertex.body}\n"
    )


def import_path(path: Path) -> types.ModuleType:
    """Import the module file ``path`` under its stem's name (its bytecode, if written)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the generated module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _label(spec: GraphSpec, pure: bool) -> str:
    return f"{'pure-' if pure else ''}{spec.label}"


def write_source(
    spec: GraphSpec, directory: Path, dialect: str = "flowdsl", *, pure: bool = False
) -> Path:
    """Write ``spec`` as a module in ``dialect`` under ``directory``; return its path.

    ``pure=True`` marks every vertex cacheable (flowdsl ``pure=True``, pipefunc
    ``cache=True``); plain functions have no such mark.
    """
    spelling = DIALECTS[dialect]
    decorator = spelling.pure_decorator if pure else spelling.decorator
    label = _label(spec, pure)
    header = f'"""Generated by benchmarks/_graphs.py: {label} ({dialect})."""\n\n'
    header += "import time\n\nimport anyio\n"
    if spelling.imports:
        header += f"{spelling.imports}\n"
    if spec.prelude:
        header += f"\n{spec.prelude}\n"
    source = "\n\n".join([header, *(_vertex_source(v, decorator) for v in spec.vertices)])
    path = module_path(spec, directory, dialect, pure=pure)
    path.write_text(source, encoding="utf-8")
    return path


def module_path(
    spec: GraphSpec, directory: Path, dialect: str = "flowdsl", *, pure: bool = False
) -> Path:
    """Where ``write_source`` writes ``spec`` in ``dialect``."""
    return directory / f"bench_{dialect}_{_label(spec, pure)}.py".replace("-", "_")


def built(spec: GraphSpec, module: types.ModuleType, *, pure: bool = False) -> BuiltGraph:
    """What the reference loops need of ``spec``'s imported ``module``."""
    calls = tuple(VertexCall(v.name, getattr(module, v.name), v.parents) for v in spec.vertices)
    return BuiltGraph(_label(spec, pure), module, spec.inputs, calls, spec.layers, spec.is_chain)


def build(
    spec: GraphSpec, directory: Path, dialect: str = "flowdsl", *, pure: bool = False
) -> BuiltGraph:
    """Generate ``spec`` as a module in ``dialect`` under ``directory``, import it.

    ``pure`` as for ``write_source``.
    """
    module = import_path(write_source(spec, directory, dialect, pure=pure))
    return built(spec, module, pure=pure)


def _chain_direct(calls: tuple[VertexCall, ...]) -> Callable[[Any], Any]:
    functions = tuple(call.function for call in calls)

    def direct(x: Any) -> Any:
        for function in functions:
            x = function(x)
        return x

    return direct


def _straight_line(calls: tuple[VertexCall, ...]) -> Callable[[Any], Any]:
    """One generated function calling every vertex in turn, each result in a local variable."""
    local = {call.name: f"r_{i}" for i, call in enumerate(calls)}
    local[INPUT] = INPUT
    lines = [f"def direct({INPUT}):"]
    lines += [
        f"    {local[c.name]} = {c.name}({', '.join(local[p] for p in c.parents)})" for c in calls
    ]
    lines.append(f"    return {local[calls[-1].name]}")
    namespace: dict[str, Any] = {call.name: call.function for call in calls}
    exec(compile("\n".join(lines), "<benchmarks direct calls>", "exec"), namespace)
    function: Callable[[Any], Any] = namespace["direct"]
    return function


# The specs.


def chain_spec(size: int) -> GraphSpec:
    """``v_0(x) -> v_1(v_0) -> ... -> v_{size-1}``, each vertex adding one."""
    vertices = [Vertex("v_0", (INPUT,), f"{INPUT} + 1")]
    vertices += [Vertex(f"v_{i}", (f"v_{i - 1}",), f"v_{i - 1} + 1") for i in range(1, size)]
    return GraphSpec(f"chain-{size}", tuple(vertices), size, is_chain=True)


def layered_spec(size: int, seed: int = 0) -> GraphSpec:
    """A random layered DAG: about sqrt(size) layers of equal width.

    Layer 0 reads the flow input. Every later vertex reads 1-3 distinct
    vertices of earlier layers, one of them from the layer just before, so the
    graph is exactly ``layers`` deep.
    """
    rng = random.Random(seed)
    layer_count = max(1, round(math.sqrt(size)))
    bounds = [size * k // layer_count for k in range(layer_count + 1)]
    vertices: list[Vertex] = []
    for k in range(layer_count):
        for i in range(bounds[k], bounds[k + 1]):
            if k == 0:
                parents = [INPUT]
            else:
                previous = rng.randrange(bounds[k - 1], bounds[k])
                others = rng.sample(range(bounds[k]), rng.randint(0, 2))
                parents = [f"v_{j}" for j in dict.fromkeys([previous, *others])]
            body = f"({' + '.join(parents)} + {i}) % {_MODULUS}"
            vertices.append(Vertex(f"v_{i}", tuple(parents), body))
    return GraphSpec(f"layered-{size}", tuple(vertices), layer_count)


def sleepers_spec(count: int, seconds: float, asynchronous: bool) -> GraphSpec:
    """``count`` independent vertices, each sleeping ``seconds`` then returning the input."""
    wait = f"await anyio.sleep({seconds})" if asynchronous else f"time.sleep({seconds})"
    kind = "async" if asynchronous else "sync"
    vertices = tuple(Vertex(f"s_{i}", (INPUT,), INPUT, wait) for i in range(count))
    return GraphSpec(f"sleepers-{kind}-{count}", vertices, 1)


def unbalanced_spec(long: float, short: float, asynchronous: bool) -> GraphSpec:
    """Two two-step branches: ``long`` then ``short``, beside ``short`` then ``long``."""
    sleep = "await anyio.sleep" if asynchronous else "time.sleep"
    steps = (
        ("a_1", INPUT, long),
        ("a_2", "a_1", short),
        ("b_1", INPUT, short),
        ("b_2", "b_1", long),
    )
    vertices = tuple(
        Vertex(name, (parent,), parent, f"{sleep}({seconds})") for name, parent, seconds in steps
    )
    kind = "async" if asynchronous else "sync"
    return GraphSpec(f"unbalanced-{kind}", vertices, 2)


def memory_spec(count: int, nbytes: int) -> GraphSpec:
    """A chain of ``count`` vertices, each returning a fresh ``bytes`` of ``nbytes``.

    ``bytes([b]) * n`` writes every byte, so the memory is really touched.
    """
    vertices = [Vertex("m_0", (INPUT,), f"bytes([{INPUT} % 256]) * {nbytes}", returns="bytes")]
    vertices += [
        Vertex(
            f"m_{i}",
            (f"m_{i - 1}",),
            f"bytes([(m_{i - 1}[0] + 1) % 256]) * {nbytes}",
            params="bytes",
            returns="bytes",
        )
        for i in range(1, count)
    ]
    return GraphSpec(f"memory-{count}", tuple(vertices), count, is_chain=True)


def nested_spec(elements: int, keys: int) -> GraphSpec:
    """``produce(x) -> list[dict[str, int]]`` of ``elements`` dicts, read by ``consume``.

    The value is built once at import, so a run times the framework (and its
    contract checks), not the building of the value.
    """
    annotation = "list[dict[str, int]]"
    prelude = f"VALUE = [{{f'k{{j}}': i + j for j in range({keys})}} for i in range({elements})]"
    vertices = (
        Vertex("produce", (INPUT,), "VALUE", returns=annotation),
        Vertex("consume", ("produce",), "len(produce)", params=annotation),
    )
    return GraphSpec(f"nested-{elements}", vertices, 2, prelude=prelude)


# The builders the single-purpose scripts use.


def chain(size: int, directory: Path, *, pure: bool = False) -> BuiltGraph:
    """The flowdsl chain of ``size`` vertices (``pure=True``: every vertex cacheable)."""
    return build(chain_spec(size), directory, pure=pure)


def layered(size: int, directory: Path, seed: int = 0) -> BuiltGraph:
    """The flowdsl random layered graph of ``size`` vertices."""
    return build(layered_spec(size, seed), directory)
