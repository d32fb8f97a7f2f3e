"""Random valid flowdsl graphs, written as real modules, plus an independent reference evaluator.

The Hypothesis strategy ``graphs()`` draws a ``GraphDescription``: plain data
that says, for each vertex, what it reads (other vertices' outputs, whole or
one field, bound by parameter name or through ``From``; flow inputs, some with
defaults), what it computes (a weighted sum modulo a prime plus a constant) and
how it is written (sync or ``async def``, output kind, keyword-only
parameters, ``@vertex(name=...)``, flow tags, declaration order).

``build_graph(description)`` turns a description into Python source, writes it
to a file in a temporary directory (so that source locations are real), imports
it under a unique module name and compiles it into a ``flowdsl.Flow``. The
reference side (``reference_outputs``, ``reference_order``, ``reference_states``,
``required_inputs``) never touches flowdsl: it evaluates the description with a
dict, so any backend's results can be compared against it::

    description = data.draw(graphs())
    inputs = data.draw(inputs_for(description))
    built = build_graph(description)
    result = built.flow.run(inputs, backend="thread")
    expected = reference_outputs(description, inputs)
    assert {k: to_plain(result[k]) for k in expected} == expected
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import inspect
import itertools
import os
import random
import shutil
import sys
import tempfile
import types
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Literal

from hypothesis import strategies as st

import flowdsl

__all__ = [
    "FIELDS",
    "PRIME",
    "BuiltGraph",
    "GraphDescription",
    "ParamDesc",
    "VertexDesc",
    "build_flow",
    "build_graph",
    "definition_lines",
    "graphs",
    "import_file",
    "inputs_for",
    "pick_inputs",
    "reference_order",
    "reference_outputs",
    "reference_states",
    "required_inputs",
    "to_plain",
    "upstream_closure",
]

#: Every vertex value is reduced modulo this prime.
PRIME = 1_000_003
#: The fields of a structured output: ``total`` is the vertex value, ``alt`` derived from it.
FIELDS = ("total", "alt")

OutputKind = Literal["int", "typeddict", "dataclass", "dict"]
STRUCTURED: tuple[OutputKind, ...] = ("typeddict", "dataclass", "dict")
FLOW_TAGS = ("fa", "fb")


def alt_of(value: int) -> int:
    """The ``alt`` field of a structured output whose ``total`` is ``value``."""
    return (value * 7 + 3) % PRIME


@dataclasses.dataclass(frozen=True)
class ParamDesc:
    """One parameter of a vertex and where its value comes from.

    ``kind`` is ``"input"`` (flow input ``source``) or ``"vertex"`` (vertex
    ``source``'s output, or its ``field``). ``binding`` says how a vertex
    reference is written: ``"name"`` (the parameter is named after the vertex),
    ``"from"`` (``Annotated[T, From("u")]`` / ``From("u.field")``) or
    ``"from_function"`` (``From(u_function)``, written as a string annotation).
    """

    name: str
    kind: Literal["input", "vertex"]
    source: str
    weight: int
    field: str | None = None
    binding: Literal["name", "from", "from_function", "input"] = "input"
    default: int | None = None
    keyword_only: bool = False
    annotated: bool = True


@dataclasses.dataclass(frozen=True)
class VertexDesc:
    """One vertex: value = (constant + sum(weight * term)) % PRIME.

    A term is the parameter's value; a whole structured output contributes its
    ``total`` field.
    """

    name: str
    function_name: str
    params: tuple[ParamDesc, ...]
    constant: int
    output: OutputKind = "int"
    is_async: bool = False
    sleeps: bool = False
    blocking: bool = False
    flows: tuple[str, ...] = ()

    @property
    def parents(self) -> tuple[str, ...]:
        """The vertices this one reads, each once, in parameter order."""
        return tuple(dict.fromkeys(p.source for p in self.params if p.kind == "vertex"))

    @property
    def inputs(self) -> tuple[str, ...]:
        """The flow inputs this vertex reads."""
        return tuple(p.source for p in self.params if p.kind == "input")

    @property
    def structured(self) -> bool:
        """Whether the output has ``total`` and ``alt`` fields."""
        return self.output != "int"


@dataclasses.dataclass(frozen=True)
class GraphDescription:
    """A random DAG: ``vertices`` in dependency order (parents always come first).

    ``declaration`` is the order the functions appear in the generated source,
    which the graph's topological order uses to break ties.
    """

    vertices: tuple[VertexDesc, ...]
    declaration: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Vertex names in dependency order."""
        return tuple(v.name for v in self.vertices)

    @property
    def by_name(self) -> dict[str, VertexDesc]:
        """Vertices by name."""
        return {v.name: v for v in self.vertices}

    @property
    def input_names(self) -> tuple[str, ...]:
        """Every flow input, each once, sorted."""
        return tuple(sorted({i for v in self.vertices for i in v.inputs}))

    def listed_keys(self) -> tuple[str, ...]:
        """The keys a full run's result lists: each vertex, and each statically known field.

        A plain ``dict`` output has no statically known fields: only the
        vertex itself is listed (``"u.key"`` is still readable).
        """
        keys: list[str] = []
        for v in self.vertices:
            keys.append(v.name)
            if v.output in ("typeddict", "dataclass"):
                keys.extend(f"{v.name}.{f}" for f in FIELDS)
        return tuple(keys)

    def readable_names(self) -> tuple[str, ...]:
        """Every name ``outputs=`` may ask for: vertices and the fields of structured ones."""
        names: list[str] = []
        for v in self.vertices:
            names.append(v.name)
            if v.structured:
                names.extend(f"{v.name}.{f}" for f in FIELDS)
        return tuple(names)

    def flow_tags(self) -> dict[str, tuple[str, ...]]:
        """Each flow tag to its vertices (dependency order)."""
        tags: dict[str, list[str]] = {}
        for v in self.vertices:
            for tag in v.flows:
                tags.setdefault(tag, []).append(v.name)
        return {tag: tuple(names) for tag, names in tags.items()}


# --------------------------------------------------------------------------- strategies


@st.composite
def _vertex(
    draw: st.DrawFn,
    index: int,
    earlier: Sequence[VertexDesc],
    input_count: int,
    max_parents: int,
) -> VertexDesc:
    name = f"v{index}"
    renamed = draw(st.booleans())
    function_name = f"fn_{name}" if renamed else name
    output: OutputKind = draw(st.sampled_from(("int", "int", *STRUCTURED)))
    is_async = draw(st.integers(0, 3)) == 0
    params: list[ParamDesc] = []
    counter = itertools.count()

    parent_indices = draw(
        st.lists(st.integers(0, index - 1), unique=True, max_size=min(index, max_parents)).map(
            sorted
        )
        if index
        else st.just([])
    )
    for p in parent_indices:
        parent = earlier[p]
        references = draw(st.integers(1, 2)) if parent.structured else 1
        for r in range(references):
            field = draw(st.sampled_from((None, *FIELDS))) if parent.structured else None
            choices: list[str] = ["from"]
            if field is None:
                choices.append("from_function")
                if r == 0:
                    choices.append("name")
            binding = draw(st.sampled_from(choices))
            params.append(
                ParamDesc(
                    name=parent.name if binding == "name" else f"a{next(counter)}",
                    kind="vertex",
                    source=parent.name,
                    weight=draw(st.integers(1, 97)),
                    field=field,
                    binding=binding,  # type: ignore[arg-type]
                    keyword_only=draw(st.integers(0, 3)) == 0,
                    annotated=True if binding != "name" else draw(st.booleans()),
                )
            )

    if input_count:
        read = draw(st.lists(st.integers(0, input_count - 1), unique=True, max_size=3))
        for i in sorted(read):
            has_default = draw(st.booleans())
            params.append(
                ParamDesc(
                    name=f"x{i}",
                    kind="input",
                    source=f"x{i}",
                    weight=draw(st.integers(1, 97)),
                    default=draw(st.integers(-50, 50)) if has_default else None,
                    keyword_only=draw(st.integers(0, 3)) == 0,
                    annotated=draw(st.integers(0, 3)) != 0,
                )
            )
    params = draw(st.permutations(params)) if len(params) > 1 else params
    return VertexDesc(
        name=name,
        function_name=function_name,
        params=tuple(params),
        constant=draw(st.integers(0, PRIME - 1)),
        output=output,
        is_async=is_async,
        sleeps=is_async and draw(st.booleans()),
        blocking=(not is_async) and draw(st.integers(0, 4)) == 0,
        flows=tuple(t for t in FLOW_TAGS if draw(st.integers(0, 3)) == 0),
    )


@st.composite
def graphs(
    draw: st.DrawFn,
    *,
    min_vertices: int = 1,
    max_vertices: int = 40,
    max_inputs: int = 6,
    max_parents: int = 4,
    shuffle_declaration: bool = True,
) -> GraphDescription:
    """A random valid graph description (see the module docstring)."""
    count = draw(st.integers(min_vertices, max_vertices))
    input_count = draw(st.integers(0, max_inputs))
    vertices: list[VertexDesc] = []
    for index in range(count):
        vertices.append(draw(_vertex(index, vertices, input_count, max_parents)))
    names = [v.name for v in vertices]
    declaration = tuple(draw(st.permutations(names))) if shuffle_declaration else tuple(names)
    return GraphDescription(tuple(vertices), declaration)


def required_inputs(
    description: GraphDescription, vertices: Collection[str] | None = None
) -> tuple[str, ...]:
    """Inputs some consumer among ``vertices`` (default: all) reads without a default."""
    return tuple(
        sorted(
            {
                p.source
                for v in description.vertices
                if vertices is None or v.name in vertices
                for p in v.params
                if p.kind == "input" and p.default is None
            }
        )
    )


@st.composite
def inputs_for(draw: st.DrawFn, description: GraphDescription) -> dict[str, int]:
    """Values for every required input and some optional ones."""
    required = set(required_inputs(description))
    values: dict[str, int] = {}
    for name in description.input_names:
        if name in required or draw(st.booleans()):
            values[name] = draw(st.integers(-(10**6), 10**6))
    return values


def pick_inputs(description: GraphDescription, rng: random.Random) -> dict[str, int]:
    """``inputs_for`` without Hypothesis: every required input and some optional ones."""
    required = set(required_inputs(description))
    return {
        name: rng.randint(-(10**6), 10**6)
        for name in description.input_names
        if name in required or rng.random() < 0.5
    }


# --------------------------------------------------------------------------- reference


def upstream_closure(description: GraphDescription, targets: Iterable[str]) -> frozenset[str]:
    """``targets`` and every vertex they read from, directly or not."""
    by_name = description.by_name
    seen: set[str] = set()
    stack = list(targets)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(by_name[name].parents)
    return frozenset(seen)


def reference_order(
    description: GraphDescription, selected: Collection[str] | None = None
) -> tuple[str, ...]:
    """The serial order: repeatedly the first-declared vertex whose parents are all done."""
    rank = {name: i for i, name in enumerate(description.declaration)}
    by_name = description.by_name
    todo = [n for n in description.names if selected is None or n in selected]
    done: set[str] = set()
    order: list[str] = []
    while todo:
        ready = [n for n in todo if all(p in done for p in by_name[n].parents)]
        pick = min(ready, key=rank.__getitem__)
        order.append(pick)
        done.add(pick)
        todo.remove(pick)
    return tuple(order)


def reference_outputs(
    description: GraphDescription,
    inputs: Mapping[str, int],
    selected: Collection[str] | None = None,
) -> dict[str, Any]:
    """Every readable name (``"v"``, ``"v.total"``, ``"v.alt"``) to its value.

    Structured outputs are given as plain dicts (see ``to_plain``). With
    ``selected``, only those vertices are evaluated (they must be closed
    under parents). Raises ``KeyError`` for a required input that is absent.
    """
    values: dict[str, Any] = {}
    for v in description.vertices:
        if selected is not None and v.name not in selected:
            continue
        total = v.constant
        for p in v.params:
            if p.kind == "input":
                if p.source in inputs:
                    term = inputs[p.source]
                elif p.default is not None:
                    term = p.default
                else:
                    raise KeyError(p.source)
            elif p.field is not None:
                term = values[f"{p.source}.{p.field}"]
            else:
                parent = values[p.source]
                term = parent["total"] if isinstance(parent, dict) else parent
            total += p.weight * term
        value = total % PRIME
        if v.structured:
            values[v.name] = {"total": value, "alt": alt_of(value)}
            values[f"{v.name}.total"] = value
            values[f"{v.name}.alt"] = alt_of(value)
        else:
            values[v.name] = value
    return values


def reference_states(
    description: GraphDescription,
    failing: Collection[str],
    selected: Collection[str] | None = None,
) -> dict[str, str]:
    """Each vertex's state in an ``on_error="continue"`` run where ``failing`` vertices raise.

    A vertex reading (directly or not) from a failed vertex is skipped, even if
    it would fail itself: it never runs.
    """
    states: dict[str, str] = {}
    for v in description.vertices:
        if selected is not None and v.name not in selected:
            continue
        if any(states[p] in ("failed", "skipped") for p in v.parents):
            states[v.name] = "skipped"
        elif v.name in failing:
            states[v.name] = "failed"
        else:
            states[v.name] = "completed"
    return states


def to_plain(value: Any) -> Any:
    """A result value in the reference's form: dataclass outputs become dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


# --------------------------------------------------------------------------- source


_HEADER = '''\
"""A random flowdsl graph generated by tests/strategies.py."""

import dataclasses
from typing import Annotated, TypedDict

import anyio

from flowdsl import From, vertex

PRIME = {prime}
#: Vertex names in call order (appended before a vertex computes or fails).
CALLS = []
#: Vertex names that raise InjectedFailure when called.
FAILING = frozenset()


class InjectedFailure(RuntimeError):
    """Raised by a vertex listed in FAILING."""


def _enter(name):
    CALLS.append(name)
    if name in FAILING:
        raise InjectedFailure(f"injected failure in {{name}}")


class Pair(TypedDict):
    total: int
    alt: int


@dataclasses.dataclass(frozen=True)
class PairD:
    total: int
    alt: int
'''

_OUTPUT_TYPE = {"int": "int", "typeddict": "Pair", "dataclass": "PairD", "dict": "dict"}


def _param_source(p: ParamDesc, by_name: Mapping[str, VertexDesc]) -> str:
    if p.kind == "input":
        text = f"{p.name}: int" if p.annotated else p.name
        if p.default is not None:
            text += f" = {p.default}" if p.annotated else f"={p.default}"
        return text
    parent = by_name[p.source]
    value_type = "int" if p.field is not None else _OUTPUT_TYPE[parent.output]
    if p.binding == "name":
        return f"{p.name}: {value_type}" if p.annotated else p.name
    if p.binding == "from_function":
        # A string annotation: resolved at compile time, so the function may be defined later.
        return f'{p.name}: "Annotated[{value_type}, From({parent.function_name})]"'
    ref = p.source if p.field is None else f"{p.source}.{p.field}"
    return f'{p.name}: Annotated[{value_type}, From("{ref}")]'


def _term_source(p: ParamDesc, by_name: Mapping[str, VertexDesc]) -> str:
    if p.kind == "vertex" and p.field is None:
        output = by_name[p.source].output
        if output == "dataclass":
            return f"{p.name}.total"
        if output in ("typeddict", "dict"):
            return f'{p.name}["total"]'
    return p.name


def _vertex_source(v: VertexDesc, by_name: Mapping[str, VertexDesc]) -> str:
    options = []
    if v.function_name != v.name:
        options.append(f"name={v.name!r}")
    if v.blocking:
        options.append("blocking=True")
    if v.flows:
        options.append(f"flows={v.flows!r}")
    decorator = f"@vertex({', '.join(options)})" if options else "@vertex"
    # Positional parameters without a default first, then with one, then keyword-only.
    positional = [p for p in v.params if not p.keyword_only]
    positional.sort(key=lambda p: p.kind == "input" and p.default is not None)
    keyword = [p for p in v.params if p.keyword_only]
    parts = [_param_source(p, by_name) for p in positional]
    if keyword:
        parts.append("*")
        parts.extend(_param_source(p, by_name) for p in keyword)
    terms = " + ".join(
        [str(v.constant), *(f"{p.weight} * {_term_source(p, by_name)}" for p in v.params)]
    )
    body = [f"    _enter({v.name!r})"]
    if v.sleeps:
        body.append("    await anyio.sleep(0)")
    body.append(f"    value = ({terms}) % PRIME")
    if v.output == "int":
        body.append("    return value")
    elif v.output == "dataclass":
        body.append("    return PairD(value, (value * 7 + 3) % PRIME)")
    else:
        body.append('    return {"total": value, "alt": (value * 7 + 3) % PRIME}')
    keyword_def = "async def" if v.is_async else "def"
    signature = f"{keyword_def} {v.function_name}({', '.join(parts)}) -> {_OUTPUT_TYPE[v.output]}:"
    return "\n".join([decorator, signature, *body])


def graph_source(description: GraphDescription) -> str:
    """The Python source of the module for ``description`` (vertices in declaration order)."""
    by_name = description.by_name
    chunks = [_HEADER.format(prime=PRIME)]
    chunks.extend(_vertex_source(by_name[name], by_name) for name in description.declaration)
    return "\n\n\n".join(chunks) + "\n"


# --------------------------------------------------------------------------- building

_counter = itertools.count()
_directory: str | None = None


def _graph_directory() -> str:
    global _directory
    if _directory is None:
        _directory = tempfile.mkdtemp(prefix="flowdsl-random-graphs-")
        atexit.register(shutil.rmtree, _directory, True)
    return _directory


@dataclasses.dataclass
class BuiltGraph:
    """A description turned into a real module and a compiled flow."""

    description: GraphDescription
    module: types.ModuleType
    flow: flowdsl.Flow
    path: str
    source: str

    @property
    def calls(self) -> list[str]:
        """Vertex names in the order they were called (shared across runs; ``clear()`` it)."""
        calls: list[str] = self.module.CALLS
        return calls

    def set_failing(self, names: Iterable[str]) -> None:
        """Make these vertices raise ``module.InjectedFailure`` from now on."""
        self.module.FAILING = frozenset(names)

    @property
    def failure_type(self) -> type[BaseException]:
        """The exception class failing vertices raise."""
        failure: type[BaseException] = self.module.InjectedFailure
        return failure

    def def_line(self, name: str) -> int:
        """The line of the ``def`` of vertex ``name`` in the generated file."""
        function_name = self.description.by_name[name].function_name
        for number, line in enumerate(self.source.splitlines(), start=1):
            if line.startswith((f"def {function_name}(", f"async def {function_name}(")):
                return number
        raise LookupError(name)

    def definition_lines(self, name: str) -> range:
        """The lines from the ``@vertex`` decorator to the ``def`` of vertex ``name``."""
        end = self.def_line(name)
        return range(end - 1, end + 1)  # the generated decorator is always one line


def load_module(source: str, directory: str | None = None) -> tuple[types.ModuleType, str]:
    """Write ``source`` to a new file and import it under a unique name.

    The module is removed from ``sys.modules`` once imported (its classes need
    no lookup there: the generated annotations are not postponed).
    """
    module_name = f"_flowdsl_random_graph_{os.getpid()}_{next(_counter)}"
    path = os.path.join(directory or _graph_directory(), f"{module_name}.py")
    with open(path, "w", encoding="utf-8") as file:
        file.write(source)
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[module_name]
    return module, path


def import_file(path: str | os.PathLike[str]) -> types.ModuleType:
    """Import the Python file at ``path`` under a unique module name.

    The module stays in ``sys.modules``: with postponed annotations, the fields
    of its TypedDicts and dataclasses resolve in their module, found there.
    """
    module_name = f"_flowdsl_test_module_{os.getpid()}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def definition_lines(function: Any) -> range:
    """The lines of ``function``'s definition from its first decorator to its ``def`` line."""
    lines, start = inspect.getsourcelines(function)
    for offset, line in enumerate(lines):
        if line.lstrip().startswith(("def ", "async def ")):
            return range(start, start + offset + 1)
    raise LookupError(function)


def build_graph(
    description: GraphDescription, *, failing: Iterable[str] = (), directory: str | None = None
) -> BuiltGraph:
    """Write, import and compile ``description``; ``failing`` vertices raise when called."""
    source = graph_source(description)
    module, path = load_module(source, directory)
    module.FAILING = frozenset(failing)
    flow = flowdsl.Flow.from_module(module)
    return BuiltGraph(description, module, flow, path, source)


def build_flow(description: GraphDescription, *, failing: Iterable[str] = ()) -> flowdsl.Flow:
    """``build_graph(description).flow``: the compiled flow of a description."""
    return build_graph(description, failing=failing).flow
