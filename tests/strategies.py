"""Random valid flowdsl graphs, written as real modules, plus an independent reference evaluator.

The Hypothesis strategy ``graphs()`` draws a ``GraphDescription``: plain data
that says, for each vertex, what it reads (other vertices' outputs, whole or
one field, bound by parameter name or through ``From``; flow inputs, some with
defaults), what it computes (a weighted sum modulo a prime plus a constant) and
how it is written (sync or ``async def``, output kind, keyword-only
parameters, ``@vertex(name=...)``, flow tags, declaration order).

``graphs(reuse=True)`` also draws how vertices are reused (``VertexDesc``
says how): plain functions made vertices by ``vertex(fn, ...)`` or
``vertex.expand`` with their constant bound as ``bind=``, ``after=`` edges,
config variants (a decoy that the compile config leaves out) and one
structured output unpacked (``unpack=True``), its fields read by name.

``graphs(control=True)`` also draws control flow (``VertexDesc`` says how):
bool, flag (``{"total", "ok"}``) and list outputs, ``when=`` conditions on a
bool or a flag's ``ok``, vertex-bound parameters with defaults, ``map_over=``
a list parent (empty lists included), ``product(...)`` of two (a list of
lists, which its readers take whole) or a zip of two lists of one length (a
parent and itself, or a vertex mapped over it), flaky vertices that fail their first
calls in a run, retry policies and fallbacks, and int results that carry a
``Check(..., importance="warn")`` (a multiple of 3 warns; ``result.checks``
records each outcome). ``reference_run`` evaluates
those (values, states, skip reasons, call counts, metrics);
``reference_outputs`` and ``reference_states`` serve plain graphs.

``build_graph(description)`` turns a description into Python source, writes it
to a file in a temporary directory (so that source locations are real), imports
it under a unique module name and compiles it into a ``flowdsl.Flow``. The
reference side (``reference_outputs``, ``reference_order``, ``reference_states``,
``reference_run``, ``required_inputs``) never touches flowdsl: it evaluates the
description with a dict, so any backend's results can be compared against it::

    description = data.draw(graphs())
    inputs = data.draw(inputs_for(description))
    built = build_graph(description)
    result = built.flow.run(inputs, backend="thread")
    expected = reference_outputs(description, inputs)
    assert {k: to_plain(result[k]) for k in expected} == expected
"""

from __future__ import annotations

import atexit
import collections
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
    "FLAG_FIELDS",
    "PRIME",
    "CONFIG",
    "BuiltGraph",
    "FallbackDesc",
    "GraphDescription",
    "ParamDesc",
    "ReferenceRun",
    "VertexDesc",
    "build_flow",
    "build_graph",
    "definition_lines",
    "effective_retries",
    "graphs",
    "holds_warn_check",
    "import_file",
    "inputs_for",
    "pick_inputs",
    "reference_order",
    "reference_outputs",
    "reference_run",
    "reference_multi_map",
    "reference_states",
    "reference_subflow_outputs",
    "reference_subflow_states",
    "required_inputs",
    "sinks",
    "shaped",
    "term_of",
    "to_plain",
    "upstream_closure",
]

#: Every vertex value is reduced modulo this prime.
PRIME = 1_000_003
#: The fields of a structured output: ``total`` is the vertex value, ``alt`` derived from it.
FIELDS = ("total", "alt")

#: The fields of a ``"flag"`` output: ``total`` is the vertex value, ``ok`` whether it is even.
FLAG_FIELDS = ("total", "ok")
#: At most this many elements in a ``"list"`` output.
MAX_ELEMENTS = 3

OutputKind = Literal["int", "typeddict", "dataclass", "dict", "bool", "flag", "list"]
STRUCTURED: tuple[OutputKind, ...] = ("typeddict", "dataclass", "dict")
#: Output kinds only ``graphs(control=True)`` draws.
CONTROL_OUTPUTS: tuple[OutputKind, ...] = ("bool", "bool", "flag", "list", "list")
FLOW_TAGS = ("fa", "fb")
RetrySpelling = Literal["retries", "policy", "policy_other"]
VertexBinding = Literal["name", "from", "from_function", "unpacked"]
MadeBy = Literal["decorated", "vertex", "expand"]
#: The compile config of every generated graph: config variants match it, decoys do not.
CONFIG = {"variant": "main"}
VERTEX_BINDINGS: tuple[VertexBinding, ...] = ("name", "from", "from_function")


def alt_of(value: int) -> int:
    """The ``alt`` field of a structured output whose ``total`` is ``value``."""
    return (value * 7 + 3) % PRIME


def shaped(kind: OutputKind, value: int) -> Any:
    """The output of kind ``kind`` whose vertex value is ``value``, in the reference's form.

    ``"bool"``: whether ``value`` is even; ``"flag"``: ``{"total": value, "ok":
    even}``; ``"list"``: ``value % (MAX_ELEMENTS + 1)`` elements derived from
    ``value`` (so a quarter of the lists are empty); structured kinds: ``{"total",
    "alt"}``.
    """
    if kind == "int":
        return value
    if kind == "bool":
        return value % 2 == 0
    if kind == "flag":
        return {"total": value, "ok": value % 2 == 0}
    if kind == "list":
        return [(value + 31 * i) % PRIME for i in range(value % (MAX_ELEMENTS + 1))]
    return {"total": value, "alt": alt_of(value)}


def term_of(value: Any) -> int:
    """What an output contributes to a consumer's sum: ints as they are (a bool as 0 or 1),
    a structured output its ``total``, a list the sum of its elements (nested lists: of
    theirs)."""
    if isinstance(value, dict):
        return int(value["total"])
    if isinstance(value, list):
        return sum(term_of(item) for item in value)
    return int(value)


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
    binding: Literal["name", "from", "from_function", "unpacked", "input"] = "input"
    #: A flow input's default or (``control=True`` only) a default for a
    #: vertex-bound parameter whose term is a plain int, which stands in when
    #: its producer is skipped by a condition.
    default: int | None = None
    keyword_only: bool = False
    annotated: bool = True
    #: Whether the vertex maps over this parameter (bound to a list-valued parent).
    mapped: bool = False


@dataclasses.dataclass(frozen=True)
class FallbackDesc:
    """A fallback: a module-level function taking some of the vertex's parameters.

    Its value is ``(constant + sum(weight * term)) % PRIME`` over ``params``
    (``(name, weight)`` pairs), shaped like the vertex's output (one element's
    for a mapped vertex); with ``fails`` it raises instead.

    A mapped vertex's fallbacks always take the element, so that the elements
    of every list stay distinct (a weight is invertible modulo ``PRIME``): a
    flaky mapped vertex counts its failures per element value.
    """

    function_name: str
    params: tuple[tuple[str, int], ...]
    constant: int
    fails: bool = False
    is_async: bool = False


@dataclasses.dataclass(frozen=True)
class VertexDesc:
    """One vertex: value = (constant + sum(weight * term)) % PRIME.

    A term is the parameter's value; a whole structured output contributes its
    ``total`` field, a bool 0 or 1, a list the sum of its elements (see
    ``term_of``). The output is the value shaped by ``output`` (see ``shaped``).

    Control flow (only ``graphs(control=True)`` draws it): ``when`` is the
    ``when=`` reference (a ``"bool"`` vertex, or a ``"flag"`` vertex's ``ok``
    field); a vertex with a ``mapped`` parameter is called once per element of
    that parent's list (the element is the parameter's term, ``output`` is each
    call's kind, always ``"int"``) and outputs the list of the calls' results;
    ``flaky`` is how many of its first calls in a run fail (per element when
    mapped); ``retries`` its own retry policy's ``max_retries`` (``None``: the
    run's), spelled ``retries=``, ``retry=RetryPolicy(...)``, or a policy that
    retries only ``LookupError`` (``"policy_other"``, so an injected failure is
    never retried); ``fallbacks`` are tried in order once the retries are spent.
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
    when: str | None = None
    flaky: int = 0
    retries: int | None = None
    retry_spelling: RetrySpelling = "retries"
    fallbacks: tuple[FallbackDesc, ...] = ()
    #: Two mapped parameters: ``map_over=product(...)`` over both parents' lists
    #: (the output a list of lists, outer index over the first), or
    #: ``map_over=(a, b)`` zipping two lists of one length (a list).
    product: bool = False
    zipped: bool = False
    #: Reuse (only ``graphs(reuse=True)`` draws it): how the vertex is made (a
    #: made vertex's function takes its constant as a bound parameter), the
    #: vertices it runs after without reading them, whether a decoy config
    #: variant of its name exists, and whether its fields are unpacked.
    made: MadeBy = "decorated"
    after: tuple[str, ...] = ()
    variant: bool = False
    unpack: bool = False
    #: Control (``graphs(control=True)``): each int result carries
    #: ``Check(..., importance="warn")``, which fails on a multiple of 3.
    warn_check: bool = False

    @property
    def parents(self) -> tuple[str, ...]:
        """The vertices this one reads (its condition's last), then those it runs after,
        each once, in parameter order."""
        sources = [p.source for p in self.params if p.kind == "vertex"]
        if self.when is not None:
            sources.append(self.when.partition(".")[0])
        return tuple(dict.fromkeys((*sources, *self.after)))

    @property
    def reference(self) -> str:
        """The expression naming the vertex object in the generated module."""
        if self.made == "vertex":
            return f"made_{self.name}"
        if self.made == "expand":
            return f"family_{self.name}[{self.name!r}]"
        return self.function_name

    @property
    def mapped(self) -> ParamDesc | None:
        """The (first) parameter this vertex maps over, if any."""
        return next((p for p in self.params if p.mapped), None)

    @property
    def mapped_params(self) -> tuple[ParamDesc, ...]:
        """Every parameter this vertex maps over (two for a product), in product order."""
        return tuple(sorted((p for p in self.params if p.mapped), key=lambda p: p.source))

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields of the output (none unless structured)."""
        if self.mapped is not None:
            return ()
        if self.output == "flag":
            return FLAG_FIELDS
        return FIELDS if self.output in STRUCTURED else ()

    @property
    def lists(self) -> bool:
        """Whether the output is a list of ints (a ``"list"`` or a mapped vertex; a product's
        list of lists is not)."""
        return self.output == "list" or (self.mapped is not None and not self.product)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The flow inputs this vertex reads."""
        return tuple(p.source for p in self.params if p.kind == "input")

    @property
    def structured(self) -> bool:
        """Whether the output has fields (``total`` and ``alt``, or ``total`` and ``ok``)."""
        return bool(self.fields)


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
            if v.output in ("typeddict", "dataclass", "flag") and v.mapped is None:
                keys.extend(f"{v.name}.{f}" for f in v.fields)
        return tuple(keys)

    def readable_names(self) -> tuple[str, ...]:
        """Every name ``outputs=`` may ask for: vertices and the fields of structured ones."""
        names: list[str] = []
        for v in self.vertices:
            names.append(v.name)
            names.extend(f"{v.name}.{f}" for f in v.fields)
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
    control: bool = False,
    reuse: bool = False,
) -> VertexDesc:
    name = f"v{index}"
    renamed = draw(st.booleans())
    function_name = f"fn_{name}" if renamed else name
    when = draw(_condition(earlier)) if control else None
    if when is not None:
        # Conditional vertices make chains: as conditions (a flag's ok, a
        # bool) and as producers whose consumers' defaults stand in (a flag's
        # total, an int).
        kinds: tuple[OutputKind, ...] = ("flag", "flag", "bool", "int", "list", *STRUCTURED)
    else:
        kinds = ("int", "int", *STRUCTURED, *(CONTROL_OUTPUTS if control else ()))
    output: OutputKind = draw(st.sampled_from(kinds))
    is_async = draw(st.integers(0, 3)) == 0
    params: list[ParamDesc] = []
    counter = itertools.count()

    # A mapped vertex: one call per element of a list-valued parent; each call an int.
    lists = [i for i, v in enumerate(earlier) if v.lists]
    mapped_parent = None
    if control and lists and draw(st.integers(0, 2)) == 0:
        mapped_parent = draw(st.sampled_from(lists))
        parent = earlier[mapped_parent]
        output = "int"
        binding = draw(st.sampled_from(VERTEX_BINDINGS))
        params.append(
            ParamDesc(
                name=parent.name if binding == "name" else f"a{next(counter)}",
                kind="vertex",
                source=parent.name,
                weight=draw(st.integers(1, 97)),
                binding=binding,
                keyword_only=draw(st.integers(0, 3)) == 0,
                annotated=True if binding != "name" else draw(st.booleans()),
                mapped=True,
            )
        )

    # Sometimes a second list parent mapped over too: a product with another
    # list, or a zip with a list as long in every run (the first parent itself,
    # or another list mapped, element by element, from the same one).
    product_parent = None
    combine = None
    if mapped_parent is not None and draw(st.integers(0, 1)) == 0:
        root = _length_root(earlier[mapped_parent], earlier)
        partners = {
            "product": [i for i in lists if i != mapped_parent],
            "zip": [i for i in lists if _length_root(earlier[i], earlier) == root],
        }
        combines = [c for c, found in partners.items() if found]
        combine = draw(st.sampled_from(combines))
        product_parent = draw(st.sampled_from(partners[combine]))
        parent = earlier[product_parent]
        params.append(
            ParamDesc(
                name=f"a{next(counter)}",
                kind="vertex",
                source=parent.name,
                weight=draw(st.integers(1, 97)),
                binding="from",
                mapped=True,
            )
        )

    parent_indices = draw(
        st.lists(st.integers(0, index - 1), unique=True, max_size=min(index, max_parents)).map(
            sorted
        )
        if index
        else st.just([])
    )
    for p in parent_indices:
        if p in (mapped_parent, product_parent):
            continue
        parent = earlier[p]
        references = draw(st.integers(1, 2)) if parent.structured else 1
        for r in range(references):
            field = draw(st.sampled_from((None, *parent.fields))) if parent.structured else None
            choices: list[VertexBinding] = ["from"]
            if field is None:
                choices.append("from_function")
                if r == 0:
                    choices.append("name")
            elif parent.unpack and all(q.name != field for q in params):
                choices.append("unpacked")  # the unpacked field's vertex, by its name
            binding = draw(st.sampled_from(choices))
            named = {"name": parent.name, "unpacked": field}.get(binding)
            param = ParamDesc(
                name=named or f"a{next(counter)}",
                kind="vertex",
                source=parent.name,
                weight=draw(st.integers(1, 97)),
                field=field,
                binding=binding,
                keyword_only=draw(st.integers(0, 3)) == 0,
                annotated=True if binding != "name" else draw(st.booleans()),
            )
            # A default stands in for a skipped producer only where the term is a
            # plain int; most often where the producer is conditional.
            plain_int = field in ("total", "alt") or (
                field is None and parent.output == "int" and not (parent.lists or parent.product)
            )
            if control and plain_int and draw(st.integers(0, 3)) < (3 if parent.when else 1):
                param = dataclasses.replace(param, default=draw(st.integers(-50, 50)))
            params.append(param)

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
    vertex = VertexDesc(
        name=name,
        function_name=function_name,
        params=tuple(params),
        constant=draw(st.integers(0, PRIME - 1)),
        output=output,
        is_async=is_async,
        sleeps=is_async and draw(st.booleans()),
        blocking=(not is_async) and draw(st.integers(0, 4)) == 0,
        flows=tuple(t for t in FLOW_TAGS if draw(st.integers(0, 3)) == 0),
        product=combine == "product",
        zipped=combine == "zip",
    )
    if reuse:
        vertex = draw(_reuse(vertex, earlier))
    return draw(_control(vertex, when)) if control else vertex


def _length_root(v: VertexDesc, earlier: Sequence[VertexDesc]) -> str:
    """The list vertex whose length ``v``'s list output has in every run: ``v`` itself,
    or, for a vertex mapped (or zipped) element by element, that of its first list."""
    if v.mapped is None or v.product:
        return v.name
    source = v.mapped_params[0].source
    return _length_root(next(e for e in earlier if e.name == source), earlier)


@st.composite
def _reuse(draw: st.DrawFn, vertex: VertexDesc, earlier: Sequence[VertexDesc]) -> VertexDesc:
    """``vertex`` maybe made from a plain function, after earlier vertices it does not
    read, with a decoy config variant, and (the first structured one) unpacked."""
    others = [v.name for v in earlier if v.name not in vertex.parents]
    unpacked_yet = any(v.unpack for v in earlier)
    return dataclasses.replace(
        vertex,
        made=draw(st.sampled_from(("decorated", "vertex", "expand"))),
        after=tuple(draw(st.lists(st.sampled_from(others), unique=True, max_size=2)))
        if others
        else (),
        variant=draw(st.integers(0, 3)) == 0,
        unpack=vertex.output in ("typeddict", "dataclass")
        and not unpacked_yet
        and draw(st.booleans()),
    )


@st.composite
def _condition(draw: st.DrawFn, earlier: Sequence[VertexDesc]) -> str | None:
    """Maybe a ``when=`` reference to an earlier bool vertex or flag's ``ok``."""
    conditions = [
        v.name if v.output == "bool" else f"{v.name}.ok"
        for v in earlier
        if v.output in ("bool", "flag") and v.mapped is None
    ]
    if not conditions or not draw(st.booleans()):
        return None
    return draw(st.sampled_from(conditions))


@st.composite
def _control(draw: st.DrawFn, vertex: VertexDesc, when: str | None) -> VertexDesc:
    """``vertex`` under condition ``when``, maybe flaky, with a retry policy and fallbacks."""
    flaky = draw(st.integers(1, 3)) if draw(st.integers(0, 4)) == 0 else 0
    # Retries more often where they matter.
    retries = draw(st.integers(0, 3)) if draw(st.integers(0, 3)) < (3 if flaky else 2) else None
    spellings: tuple[RetrySpelling, ...] = ("retries", "retries", "policy", "policy_other")
    spelling = draw(st.sampled_from(spellings))
    fallbacks: list[FallbackDesc] = []
    # Fallbacks stand in for failures: more often where some are sure to come.
    if draw(st.integers(0, 4)) < (3 if flaky else 1):
        names = [p.name for p in vertex.params]
        for i in range(draw(st.integers(1, 2))):
            taken = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
            for mapped in reversed(vertex.mapped_params):
                if mapped.name not in taken:
                    # Distinct elements give distinct results (see ``FallbackDesc``).
                    taken.insert(0, mapped.name)
            fallbacks.append(
                FallbackDesc(
                    function_name=f"fallback_{vertex.name}_{i}",
                    params=tuple((n, draw(st.integers(1, 97))) for n in taken),
                    constant=draw(st.integers(0, PRIME - 1)),
                    fails=draw(st.integers(0, 3)) == 0,
                    is_async=draw(st.integers(0, 3)) == 0,
                )
            )
    return dataclasses.replace(
        vertex,
        when=when,
        flaky=flaky,
        retries=retries,
        retry_spelling=spelling,
        fallbacks=tuple(fallbacks),
        warn_check=vertex.output == "int" and draw(st.integers(0, 3)) == 0,
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
    control: bool = False,
    reuse: bool = False,
) -> GraphDescription:
    """A random valid graph description (see the module docstring).

    With ``control``, vertices may also output bools, flags and lists, map
    over a list, run under a condition, bind vertex outputs with defaults,
    fail their first calls, retry and fall back (see ``VertexDesc``).
    """
    count = draw(st.integers(min_vertices, max_vertices))
    input_count = draw(st.integers(0, max_inputs))
    vertices: list[VertexDesc] = []
    for index in range(count):
        vertices.append(draw(_vertex(index, vertices, input_count, max_parents, control, reuse)))
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


def sinks(description: GraphDescription) -> tuple[str, ...]:
    """The vertices nothing reads, in dependency order: a sub-flow's default outputs."""
    read = {parent for v in description.vertices for parent in v.parents}
    return tuple(v.name for v in description.vertices if v.name not in read)


def reference_subflow_outputs(
    description: GraphDescription, inputs: Mapping[str, int], name: str
) -> dict[str, Any]:
    """What ``flow.as_vertex(name)`` (inputs bound by name) adds to the flow holding it:
    each inner name as ``"name/v"`` (``"name/v.total"``), and ``name`` with its fields,
    the mapping of the sinks' outputs."""
    inner = reference_outputs(description, inputs)
    values = {f"{name}/{key}": value for key, value in inner.items()}
    values[name] = {sink: inner[sink] for sink in sinks(description)}
    values.update({f"{name}.{sink}": inner[sink] for sink in sinks(description)})
    return values


def reference_subflow_states(
    description: GraphDescription, failing: Collection[str], name: str
) -> dict[str, str]:
    """Each vertex's state, as ``reference_states``, for sub-flow ``name``: ``"name/v"``,
    and ``name`` itself, skipped when a sink failed or was skipped."""
    inner = reference_states(description, failing)
    states = {f"{name}/{vertex}": state for vertex, state in inner.items()}
    done = all(inner[sink] == "completed" for sink in sinks(description))
    states[name] = "completed" if done else "skipped"
    return states


def reference_multi_map(
    sequences: Sequence[Sequence[int]],
    combine: Literal["zip", "product"],
    weights: Sequence[int],
    failing: Collection[tuple[int, ...]] = (),
) -> tuple[Any, dict[Any, str]]:
    """What a vertex ``(c + sum(w * arg)) % PRIME`` mapped over ``sequences`` gives.

    ``combine`` zips them or takes their product; a call whose indices are in
    ``failing`` fails. Returns the output (a list; nested lists of depth
    ``len(sequences)`` for a product) and the failed calls' keys (an index,
    or a tuple of indices for a product), or ``None`` for the output when a
    call failed. Never touches flowdsl.
    """
    if combine == "zip":
        picks = [(i,) * len(sequences) for i in range(len(sequences[0]))]
    else:
        picks = list(itertools.product(*(range(len(s)) for s in sequences)))
    flat: list[int] = []
    failed: dict[Any, str] = {}
    for pick in picks:
        key = pick[0] if combine == "zip" else pick
        if pick in failing:
            failed[key] = "failed"
            continue
        args = [sequence[i] for sequence, i in zip(sequences, pick, strict=True)]
        flat.append(sum(w * a for w, a in zip(weights, args, strict=True)) % PRIME)
    if failed:
        return None, failed
    if combine == "zip":
        return flat, failed
    return _nest(flat, [len(s) for s in sequences]), failed


def _nest(flat: list[int], shape: list[int]) -> list[Any]:
    if len(shape) == 1:
        return flat
    size = 1
    for n in shape[1:]:
        size *= n
    return [_nest(flat[i * size : (i + 1) * size], shape[1:]) for i in range(shape[0])]


@dataclasses.dataclass(frozen=True)
class ReferenceRun:
    """What a full ``on_error="continue"`` run of a description gives (``reference_run``).

    ``skip_reasons`` gives, per skipped vertex, every reason the run may
    state (a vertex with two failed parents may name either). ``calls``
    counts calls of each vertex's function, ``fallback_calls`` of each
    fallback; ``attempts``, ``fallbacks`` and ``elements`` are the metrics of
    the vertices that ran (completed or failed).
    """

    outputs: dict[str, Any]
    states: dict[str, str]
    skip_reasons: dict[str, frozenset[str]]
    calls: collections.Counter[str]
    fallback_calls: collections.Counter[str]
    attempts: dict[str, int]
    fallbacks: dict[str, str]
    elements: dict[str, int]
    #: Per completed vertex with a warn check: whether it held, per result (sorted).
    checks: dict[str, list[bool]]

    @property
    def failed(self) -> frozenset[str]:
        """The vertices that failed."""
        return frozenset(n for n, s in self.states.items() if s == "failed")


def holds_warn_check(value: int) -> bool:
    """Whether an int result passes the warn check of a ``warn_check`` vertex."""
    return value % 3 != 0


def effective_retries(v: VertexDesc, run_retries: int | None = None) -> int:
    """How often ``v`` is called again after an injected failure.

    Its own policy wins (a policy retrying only ``LookupError`` retries no
    injected failure); without one, the run's ``retry=``.
    """
    if v.retries is None:
        return run_retries or 0
    return 0 if v.retry_spelling == "policy_other" else v.retries


def reference_run(
    description: GraphDescription,
    inputs: Mapping[str, int],
    failing: Collection[str] = (),
    run_retries: int | None = None,
) -> ReferenceRun:
    """Evaluate ``description`` as an ``on_error="continue"`` run would, without flowdsl.

    ``failing`` vertices fail every call; a flaky vertex fails its first
    ``flaky`` calls (per element when mapped); ``run_retries`` is the run's
    ``retry=``. Per vertex, in dependency order: a vertex reading (or
    conditional on) a failed or failure-skipped vertex is skipped; else one
    with a parameter without default bound to a condition-skipped ("absent")
    vertex is absent too; else one whose condition is absent or false is
    absent; else it runs, a parameter bound to an absent vertex taking its
    default. Each call chain (one per element when mapped) makes
    ``min(failures, retries) + 1`` calls, then tries the fallbacks in order.
    """
    values: dict[str, Any] = {}
    states: dict[str, str] = {}
    reasons: dict[str, frozenset[str]] = {}
    calls: collections.Counter[str] = collections.Counter()
    fallback_calls: collections.Counter[str] = collections.Counter()
    attempts: dict[str, int] = {}
    used: dict[str, str] = {}
    elements: dict[str, int] = {}
    checks: dict[str, list[bool]] = {}
    dead: set[str] = set()
    absent: set[str] = set()

    for v in description.vertices:
        dead_parents = [p for p in v.parents if p in dead]
        if dead_parents:
            states[v.name] = "skipped"
            dead.add(v.name)
            reasons[v.name] = frozenset(
                f"{p!r} failed" if states[p] == "failed" else f"{p!r} was skipped after a failure"
                for p in dead_parents
            )
            continue
        needed = [
            p.source
            for p in v.params
            if p.kind == "vertex" and p.default is None and p.source in absent
        ]
        reason = None
        if needed:
            reason = frozenset(f"needs the output of {n!r}, which was skipped" for n in needed)
        elif v.when is not None and v.when.partition(".")[0] in absent:
            reason = frozenset({f"condition {v.when!r} has no value: its vertex was skipped"})
        elif v.when is not None and not values[v.when]:
            reason = frozenset({f"condition {v.when!r} was false"})
        if reason is not None:
            states[v.name] = "skipped"
            absent.add(v.name)
            reasons[v.name] = reason
            continue

        def term(
            p: ParamDesc,
            element: tuple[int, ...] | None,
            mapped_params: tuple[ParamDesc, ...] = v.mapped_params,
        ) -> int:
            if p.kind == "input":
                given = inputs.get(p.source, p.default)
                if given is None:
                    raise KeyError(p.source)
                return given
            if p.mapped:
                assert element is not None
                return element[mapped_params.index(p)]
            if p.source in absent:
                assert p.default is not None
                return p.default
            return term_of(values[p.source if p.field is None else f"{p.source}.{p.field}"])

        params = {p.name: p for p in v.params}
        failures = sys.maxsize if v.name in failing else v.flaky
        retries = effective_retries(v, run_retries)
        mapped = v.mapped
        sequences = [values[p.source] for p in v.mapped_params]
        chains: list[tuple[int, ...] | None] = (
            [None]
            if mapped is None
            else list(zip(*sequences, strict=True))
            if v.zipped
            else list(itertools.product(*sequences))
        )
        assert len(set(chains)) == len(chains), f"{v.name} maps over repeated elements"
        results: list[Any] = []
        ok = True
        for element in chains:
            calls[v.name] += min(failures, retries) + 1
            if failures <= retries:
                value = v.constant + sum(p.weight * term(p, element) for p in v.params)
                results.append(shaped(v.output, value % PRIME))
                continue
            for fallback in v.fallbacks:
                fallback_calls[fallback.function_name] += 1
                if not fallback.fails:
                    value = fallback.constant + sum(
                        w * term(params[n], element) for n, w in fallback.params
                    )
                    results.append(shaped(v.output, value % PRIME))
                    used[v.name] = fallback.function_name
                    break
            else:
                ok = False
        attempts[v.name] = calls[v.name]
        if mapped is not None:
            elements[v.name] = len(chains)
        if not ok:
            states[v.name] = "failed"
            dead.add(v.name)
            continue
        states[v.name] = "completed"
        if v.warn_check and results:  # a map over an empty list checks nothing
            checks[v.name] = sorted(holds_warn_check(r) for r in results)
        output: Any = results if mapped is not None else results[0]
        if v.product:
            output = _nest(results, [len(values[p.source]) for p in v.mapped_params])
        values[v.name] = output
        for field in v.fields:
            values[f"{v.name}.{field}"] = output[field]

    return ReferenceRun(
        outputs=values,
        states=states,
        skip_reasons=reasons,
        calls=calls,
        fallback_calls=fallback_calls,
        attempts=attempts,
        fallbacks=used,
        elements=elements,
        checks=checks,
    )


def to_plain(value: Any) -> Any:
    """A result value in the reference's form: dataclass outputs become dicts (also inside
    a mapping: a sub-flow's output)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {key: to_plain(item) for key, item in value.items()}
    return value


# --------------------------------------------------------------------------- source


_HEADER = '''\
"""A random flowdsl graph generated by tests/strategies.py."""

import dataclasses
import threading
from typing import Annotated, TypedDict

import anyio

from flowdsl import Check, From, RetryPolicy, product, vertex

PRIME = {prime}
#: The return check of the vertices with warn_check: a multiple of 3 warns.
WARNED = Check(lambda value: value % 3 != 0, "not a multiple of 3", importance="warn")
#: Vertex names in call order (appended before a vertex computes or fails).
CALLS = []
#: Vertex names that raise InjectedFailure when called.
FAILING = frozenset()
#: Vertex name -> how many of its first calls in a run fail (per element when mapped).
FLAKY = {{}}
#: Calls of each flaky vertex (and element) so far in this run: reset between runs.
ATTEMPTS = {{}}
#: Fallback function names in call order.
FALLBACK_CALLS = []


class _Lock:
    """A lock that travels (to a Dask worker, with the functions) as a new one."""

    def __init__(self):
        self._lock = threading.Lock()

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def __reduce__(self):
        return (_Lock, ())


_LOCK = _Lock()


class InjectedFailure(RuntimeError):
    """Raised by a vertex listed in FAILING, a flaky vertex's first calls, a failing fallback."""


def _enter(name, element=None):
    CALLS.append(name)
    if name in FAILING:
        raise InjectedFailure(f"injected failure in {{name}}")
    failures = FLAKY.get(name)
    if failures:
        key = name if element is None else (name, element)
        with _LOCK:
            made = ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        if made <= failures:
            raise InjectedFailure(f"flaky failure {{made}} of {{failures}} in {{name}}")


def _fall_back(name, fails):
    FALLBACK_CALLS.append(name)
    if fails:
        raise InjectedFailure(f"injected failure in fallback {{name}}")


class Pair(TypedDict):
    total: int
    alt: int


class Flag(TypedDict):
    total: int
    ok: bool


@dataclasses.dataclass(frozen=True)
class PairD:
    total: int
    alt: int
'''

_OUTPUT_TYPE = {
    "int": "int",
    "typeddict": "Pair",
    "dataclass": "PairD",
    "dict": "dict",
    "bool": "bool",
    "flag": "Flag",
    "list": "list[int]",
}


def _value_type(p: ParamDesc, by_name: Mapping[str, VertexDesc]) -> str:
    """The annotation of a vertex-bound parameter: what it receives."""
    parent = by_name[p.source]
    if p.mapped:
        return "int"
    if p.field is not None:
        return "bool" if p.field == "ok" else "int"
    if parent.product:
        return "list[list[int]]"
    return "list[int]" if parent.lists else _OUTPUT_TYPE[parent.output]


def _param_source(p: ParamDesc, by_name: Mapping[str, VertexDesc]) -> str:
    default = "" if p.default is None else f" = {p.default}" if p.annotated else f"={p.default}"
    if p.kind == "input":
        return (f"{p.name}: int" if p.annotated else p.name) + default
    parent = by_name[p.source]
    value_type = _value_type(p, by_name)
    if p.binding == "name":
        return (f"{p.name}: {value_type}" if p.annotated else p.name) + default
    if p.binding == "unpacked":
        return f"{p.name}: {value_type}" + default
    if p.binding == "from_function":
        # A string annotation: resolved at compile time, so the vertex may be defined later.
        return f'{p.name}: "Annotated[{value_type}, From({parent.reference})]"' + default
    ref = p.source if p.field is None else f"{p.source}.{p.field}"
    return f'{p.name}: Annotated[{value_type}, From("{ref}")]' + default


def _term_source(p: ParamDesc, by_name: Mapping[str, VertexDesc]) -> str:
    if p.kind == "vertex" and p.field is None and not p.mapped:
        parent = by_name[p.source]
        if parent.product:
            return f"sum(map(sum, {p.name}))"
        if parent.lists:
            return f"sum({p.name})"
        if parent.output == "dataclass":
            return f"{p.name}.total"
        if parent.output in ("typeddict", "dict", "flag"):
            return f'{p.name}["total"]'
    return p.name


def _shape_source(kind: OutputKind) -> str:
    """The ``return`` statement shaping ``value`` as ``kind`` (see ``shaped``)."""
    if kind == "int":
        return "return value"
    if kind == "bool":
        return "return value % 2 == 0"
    if kind == "flag":
        return 'return {"total": value, "ok": value % 2 == 0}'
    if kind == "list":
        return f"return [(value + 31 * i) % PRIME for i in range(value % {MAX_ELEMENTS + 1})]"
    if kind == "dataclass":
        return "return PairD(value, (value * 7 + 3) % PRIME)"
    return 'return {"total": value, "alt": (value * 7 + 3) % PRIME}'


def _options_source(v: VertexDesc) -> list[str]:
    options = []
    if v.function_name != v.name or v.made == "vertex":
        options.append(f"name={v.name!r}")
    if v.after:
        options.append(f"after={v.after!r}")
    if v.variant:
        options.append(f"config={CONFIG!r}")
    if v.unpack:
        options.append("unpack=True")
    if v.blocking:
        options.append("blocking=True")
    if v.flows:
        options.append(f"flows={v.flows!r}")
    if v.when is not None:
        options.append(f"when={v.when!r}")
    mapped = v.mapped
    if v.product or v.zipped:
        names = ", ".join(repr(p.name) for p in v.mapped_params)
        options.append(f"map_over=product({names})" if v.product else f"map_over=({names})")
    elif mapped is not None:
        options.append(f"map_over={mapped.name!r}")
    if v.retries is not None:
        if v.retry_spelling == "retries":
            options.append(f"retries={v.retries}")
        elif v.retry_spelling == "policy":
            options.append(f"retry=RetryPolicy(max_retries={v.retries})")
        else:
            options.append(f"retry=RetryPolicy(max_retries={v.retries}, retry_on=LookupError)")
    if len(v.fallbacks) == 1:
        options.append(f"fallback={v.fallbacks[0].function_name}")
    elif v.fallbacks:
        options.append(f"fallback=[{', '.join(f.function_name for f in v.fallbacks)}]")
    return options


def _vertex_source(v: VertexDesc, by_name: Mapping[str, VertexDesc]) -> str:
    options = _options_source(v)
    decorator = f"@vertex({', '.join(options)})" if options else "@vertex"
    # Positional parameters without a default first, then with one, then keyword-only.
    positional = [p for p in v.params if not p.keyword_only]
    positional.sort(key=lambda p: p.default is not None)
    keyword = [p for p in v.params if p.keyword_only]
    parts = [_param_source(p, by_name) for p in positional]
    # A made vertex's function takes its constant as a parameter, bound by bind=.
    constant = str(v.constant)
    if v.made != "decorated":
        parts.insert(0, "k_const: int")
        constant = "k_const"
    if keyword:
        parts.append("*")
        parts.extend(_param_source(p, by_name) for p in keyword)
    terms = " + ".join([constant, *(f"{p.weight} * {_term_source(p, by_name)}" for p in v.params)])
    mapped = v.mapped
    element = "" if mapped is None else f", {mapped.name}"
    if v.product or v.zipped:
        element = f", ({', '.join(p.name for p in v.mapped_params)})"
    body = [f"    _enter({v.name!r}{element})"]
    if v.sleeps:
        body.append("    await anyio.sleep(0)")
    body.append(f"    value = ({terms}) % PRIME")
    body.append(f"    {_shape_source(v.output)}")
    keyword_def = "async def" if v.is_async else "def"
    returns = "Annotated[int, WARNED]" if v.warn_check else _OUTPUT_TYPE[v.output]
    signature = f"{keyword_def} {v.function_name}({', '.join(parts)}) -> {returns}:"
    decoy = []
    if v.variant:  # a config variant of the same name that the compile config leaves out
        decoy = [
            f"@vertex(name={v.name!r}, config={{'variant': ('other', 'spare')}})",
            f"def decoy_{v.name}() -> {returns}:",
            "    raise AssertionError('a decoy config variant ran')",
            "",
            "",
        ]
    if v.made == "decorated":
        return "\n".join([*decoy, decorator, signature, *body])
    bind = f"{{'k_const': {v.constant}}}"
    if v.made == "vertex":
        made = f"made_{v.name} = vertex({v.function_name}, bind={bind}, {', '.join(options)})"
    else:
        rest = "".join(f", {o}" for o in options if not o.startswith("name="))
        made = f"family_{v.name} = vertex.expand({v.function_name}, {{{v.name!r}: {bind}}}{rest})"
    return "\n".join([*decoy, signature, *body, "", "", made])


def _fallback_source(
    fallback: FallbackDesc, v: VertexDesc, by_name: Mapping[str, VertexDesc]
) -> str:
    params = {p.name: p for p in v.params}
    terms = " + ".join(
        [
            str(fallback.constant),
            *(f"{w} * {_term_source(params[name], by_name)}" for name, w in fallback.params),
        ]
    )
    keyword_def = "async def" if fallback.is_async else "def"
    signature = (
        f"{keyword_def} {fallback.function_name}({', '.join(n for n, _ in fallback.params)}):"
    )
    return "\n".join(
        [
            signature,
            f"    _fall_back({fallback.function_name!r}, {fallback.fails})",
            f"    value = ({terms}) % PRIME",
            f"    {_shape_source(v.output)}",
        ]
    )


def graph_source(description: GraphDescription) -> str:
    """The Python source of the module for ``description`` (vertices in declaration order).

    Fallbacks come first, since a decorator names them; then ``FLAKY``, if
    any vertex is.
    """
    by_name = description.by_name
    chunks = [_HEADER.format(prime=PRIME)]
    chunks.extend(
        _fallback_source(f, v, by_name) for v in description.vertices for f in v.fallbacks
    )
    flaky = {v.name: v.flaky for v in description.vertices if v.flaky}
    if flaky:
        chunks.append(f"FLAKY.update({flaky!r})")
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

    @property
    def fallback_calls(self) -> list[str]:
        """Fallback function names in the order they were called (``reset()`` clears them)."""
        calls: list[str] = self.module.FALLBACK_CALLS
        return calls

    def reset(self) -> None:
        """Forget the calls so far, and restart each flaky vertex's count of failures."""
        self.module.CALLS.clear()
        self.module.FALLBACK_CALLS.clear()
        self.module.ATTEMPTS.clear()

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
    flow = flowdsl.Flow.from_module(module, config=CONFIG)
    return BuiltGraph(description, module, flow, path, source)


def build_flow(description: GraphDescription, *, failing: Iterable[str] = ()) -> flowdsl.Flow:
    """``build_graph(description).flow``: the compiled flow of a description."""
    return build_graph(description, failing=failing).flow
