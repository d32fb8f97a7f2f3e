"""A run plan: the graph turned into integer-indexed steps, built once per selection.

The per-vertex hot path only indexes lists: each step knows the slots its
arguments come from (with a field reader where a binding reads one field),
the slot its output goes to, and which slots can be released once it ran.
"""

from __future__ import annotations

import enum
import functools
import operator
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .._gc import collector_paused
from .._model import topology
from .._model.graph import NO_DEFAULT, Binding, Graph, VertexNode
from .._model.options import VertexOptions
from .._suggest import did_you_mean
from .._typing import type_name
from ..errors import DataResolutionError, UnknownInputError
from .exacts import THROUGH_INVOKER, Exacts, ExactsOfContracts
from .fields import FieldReader, field_reader

__all__ = [
    "CallMode",
    "Plan",
    "Step",
    "argument_fetcher",
    "build_plan",
    "call_mode",
    "gather",
    "one_step_plan",
    "parse_output_name",
]

ArgSource = tuple[int, "FieldReader | None"]
#: How a plan's column gathers a step's positional arguments (``Plan.fetches``).
Fetch = Callable[[list[Any]], Any]


class Step:
    """One vertex of a plan: where its arguments come from, and what it waits for.

    Built by ``build_plan``, or from the plan's columns the first time
    ``Plan.steps`` is read; read-only once built. ``args``,
    ``upstream``, ``downstream``, ``after`` and ``needs`` are filled in on
    first use, all steps of the plan at once: a serial run that nothing
    fails in never reads them, and a large plan is built faster without
    them (``_Links``).
    """

    # ``__dict__`` holds the fields filled in on first use (``functools.cached_property``),
    # allocated only then.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_links",
        "condition",
        "fetch",
        "function",
        "is_async",
        "node",
        "position",
        "producers",
        "release",
        "sources",
        "unary",
    )

    position: int
    node: VertexNode
    function: Callable[..., Any]
    is_async: bool
    #: The keyword arguments: name, slot, field reader (see ``args``).
    kwargs: tuple[tuple[str, int, FieldReader | None], ...] = ()
    #: The slots it reads for the last time (only when unrequested outputs are released).
    release: tuple[int, ...]
    #: Per argument (positional, then keyword): the binding it came from; and the
    #: graph's vertices (shared by every step, not copied per step), where those it
    #: reads are found to explain a failed field read.
    sources: tuple[Binding, ...]
    producers: Mapping[str, VertexNode]
    #: When every argument is a whole value taken positionally from a slot (the
    #: common case), ``fetch(values)`` gathers them in C: the value itself for one
    #: argument (``unary``), else a tuple. ``None`` otherwise.
    fetch: Callable[[list[Any]], Any] | None
    unary: bool
    #: Control flow: where ``when=`` reads (slot, field reader); the argument index
    #: (positional, then keyword) of the parameters mapped over, of the loop's
    #: ``Previous()`` parameter and of the atomic group's transaction.
    condition: ArgSource | None
    # Set (in ``__dict__``) only on the steps that have them.
    map_indices: tuple[int, ...] | None = None
    previous_index: int | None = None
    transaction_index: int | None = None
    _links: _Links | None

    def __init__(
        self,
        position: int,
        node: VertexNode,
        sources: tuple[Binding, ...],
        producers: Mapping[str, VertexNode],
        fetch: Callable[[list[Any]], Any] | None,
        unary: bool,
        links: _Links | None,
    ) -> None:
        self.position = position
        self.node = node
        self.function = node.function
        self.is_async = node.is_async
        self.sources = sources
        self.producers = producers
        self.fetch = fetch
        self.unary = unary
        self._links = links
        self.release = ()
        self.condition = None

    @functools.cached_property
    def args(self) -> tuple[ArgSource, ...]:
        """Per positional argument, its slot and the field reader it goes through (None:
        the whole value)."""
        # Set by the planner, except for a step without arguments and one whose
        # ``fetch`` is an itemgetter of whole values, which has the slots.
        if self.fetch is None:
            return ()
        reduced = self.fetch.__reduce__()  # (operator.itemgetter, its slots)
        assert isinstance(reduced, tuple)
        slots: tuple[int, ...] = reduced[1]
        return tuple((slot, None) for slot in slots)

    @functools.cached_property
    def upstream(self) -> tuple[int, ...]:
        """The steps it reads."""
        return self._linked("upstream")

    @functools.cached_property
    def downstream(self) -> tuple[int, ...]:
        """The steps that read it, or run after it."""
        return self._linked("downstream")

    @functools.cached_property
    def after(self) -> tuple[int, ...]:
        """Every step it runs after: those it reads, and those an atomic group orders it
        after."""
        return self._linked("after")

    @functools.cached_property
    def needs(self) -> tuple[int, ...]:
        """The upstream steps whose output some parameter cannot do without (no default to
        fall back on), and those ``after=`` names."""
        return self._linked("needs")

    def _linked(self, name: str) -> tuple[int, ...]:
        assert self._links is not None  # a step not built by a plan has every field set
        self._links.fill()
        found: tuple[int, ...] = self.__dict__[name]
        return found

    def invoke(self, values: list[Any]) -> Any:
        """Call the function with its arguments from ``values`` (a coroutine if async)."""
        fetch = self.fetch
        if fetch is not None:
            return self.function(fetch(values)) if self.unary else self.function(*fetch(values))
        args, kwargs = gather(self, values)
        return self.function(*args, **kwargs)

    @property
    def name(self) -> str:
        """The vertex name."""
        return self.node.name

    def replace(self, **changes: Any) -> Step:
        """A copy of this step with ``changes`` (field name to value)."""
        fields = {name: getattr(self, name) for name in _FIELDS}
        fields.update(changes)
        return _step_from(fields)

    def __reduce__(self) -> tuple[Any, ...]:
        # Every field filled in, without the plan-wide links (a step sent to a
        # Dask worker travels alone), and with only the producers it reads: the
        # mapping steps share here is the whole graph's, which sent with every
        # task made a Dask graph grow with the square of the vertices.
        fields = {name: getattr(self, name) for name in _FIELDS}
        fields["producers"] = {
            binding.source: self.producers[binding.source]
            for binding in self.sources
            if binding.reads_vertex
        }
        return (_step_from, (fields,))

    def __repr__(self) -> str:
        return f"<Step {self.position}: {self.node.name}>"


#: Every field of a step but its links.
_FIELDS = (
    *(name for name in Step.__slots__ if not name.startswith("_")),
    "kwargs",
    "map_indices",
    "previous_index",
    "transaction_index",
    "args",
    "upstream",
    "downstream",
    "after",
    "needs",
)


def _step_from(fields: Mapping[str, Any]) -> Step:
    step = Step.__new__(Step)
    step._links = None
    for name, value in fields.items():
        setattr(step, name, value)
    return step


class _Links:
    """Fills in the steps' ``upstream``, ``downstream``, ``after`` and ``needs`` on first use.

    Who waits for whom: the concurrent and Dask schedulers read it for
    every step, the serial one only once a step failed or was skipped.
    """

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps: Sequence[Step] = ()

    def fill(self) -> None:
        """Set the four fields on every step (again, harmlessly, if two threads race)."""
        steps = self.steps
        position = {step.node.name: step.position for step in steps}
        followers: list[list[int]] = [[] for _ in steps]
        for step in steps:
            node = step.node
            upstream = node.upstream
            after = tuple(
                dict.fromkeys(position[n] for n in (*upstream, *node.after) if n in position)
            )
            for parent in after:
                followers[parent].append(step.position)
            fields = step.__dict__
            fields["upstream"] = tuple(position[n] for n in upstream if n in position)
            fields["after"] = after
            fields["needs"] = _needed(node, position)
        for step, children in zip(steps, followers, strict=True):
            step.__dict__["downstream"] = tuple(children)


@attrs.frozen(eq=False)
class InputFill:
    """At run start, ``slot`` receives input ``name`` or, when absent, ``default``."""

    slot: int
    name: str
    default: Any
    required: bool


class CallMode(enum.Enum):
    """Where a step's function runs."""

    AWAIT = "await"  # a coroutine function, awaited on the event loop
    INLINE = "inline"  # a sync function called on the scheduler's own thread
    THREAD = "thread"  # a sync function called on a worker thread


def call_mode(is_async: bool, node: VertexNode, backend: str) -> CallMode:
    """Where a function of ``node`` (the vertex's own, or a fallback) runs under ``backend``."""
    if is_async:
        return CallMode.AWAIT
    # Only a worker thread lets the run stop waiting for a sync call at a deadline.
    if (
        node.options.timeout is not None
        or backend == "thread"
        or (backend == "async" and node.options.blocking)
    ):
        return CallMode.THREAD
    return CallMode.INLINE


@attrs.frozen(eq=False)
class Plan:
    """Steps in deterministic topological order plus what the run must set up.

    A step that takes whole values by position from vertices' slots and has no
    ``when=`` or ``map_over=`` (most of them) is only a column entry
    (``nodes``, ``fetches``, ``unary``) until ``steps`` is first read: the
    serial loop runs such steps from the columns, and a first serial run
    that nothing fails in never builds them. The other steps are ``built``
    with the plan.
    """

    graph: Graph
    #: Per step: its vertex; how its positional arguments are gathered: the slot
    #: of a unary step's one whole value (``values[slot]`` is quicker than a
    #: call), else its ``Step.fetch``; and its ``Step.unary``.
    nodes: tuple[VertexNode, ...]
    fetches: tuple[Fetch | int | None, ...]
    unary: tuple[bool, ...]
    #: Per step, the exact types its fast path compares values with when its
    #: contracts are checked (``exacts.Exacts``; None: it checks nothing).
    exacts: tuple[Exacts | None, ...]
    fills: tuple[InputFill, ...]
    slot_count: int
    # A slot that always holds None (what a loop's Previous() parameter
    # receives on the first iteration).
    none_slot: int
    # Overridden vertices (not run: their outputs are given) and their slots.
    overrides: tuple[tuple[str, int], ...]
    outputs: tuple[str, ...] | None
    # For each vertex slot, how many steps read it, when unrequested outputs
    # are released (``outputs=`` given); ``None`` keeps every output.
    reader_counts: tuple[int, ...] | None
    # Flow inputs asked for in ``outputs=``: each gets a slot of its own,
    # filled like an argument (the given value, else the input's default).
    input_outputs: tuple[InputFill, ...] = ()
    # Slots holding ``bind=`` constants, and their values.
    constants: tuple[tuple[int, Any], ...] = ()
    #: Per step, its ``Step.release`` (None: no step releases anything).
    releases: tuple[tuple[int, ...], ...] | None = None
    #: The options record of every step's vertex, when they all share one and none
    #: is a coroutine function or has a condition (None otherwise): a call plan
    #: then decides once how every step is called.
    common_options: VertexOptions | None = None
    #: The steps built with the plan, by position (see above).
    built: Mapping[int, Step] = attrs.field(factory=dict)
    # Holds ``steps`` once built.
    _steps: list[tuple[Step, ...]] = attrs.field(factory=list, init=False)

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step, by position (those not ``built`` are built on first use)."""
        if not self._steps:
            with _steps_lock:  # two threads build them once: their links are shared
                if not self._steps:
                    self._steps.append(self._build_steps())
        return self._steps[0]

    def step(self, position: int) -> Step:
        """Step ``position`` (``steps[position]``), without building the others when it was
        built with the plan."""
        return self.built.get(position) or self.steps[position]

    def _build_steps(self) -> tuple[Step, ...]:
        built = self.built
        links = next((step._links for step in built.values()), None) or _Links()
        vertices = self.graph.vertices
        steps = tuple(
            built.get(i) or Step(i, node, node.bindings, vertices, _fetch(fetch), unary, links)
            for i, (node, fetch, unary) in enumerate(
                zip(self.nodes, self.fetches, self.unary, strict=True)
            )
        )
        if self.releases is not None:
            for step, release in zip(steps, self.releases, strict=True):
                step.release = release
        links.steps = steps
        return steps

    @property
    def input_names(self) -> frozenset[str]:
        """The flow inputs this plan reads, or returns as outputs."""
        return frozenset(fill.name for fill in (*self.fills, *self.input_outputs))

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """Inputs that must be given, each once, in first-use order (outputs last)."""
        fills = (*self.fills, *self.input_outputs)
        return tuple(dict.fromkeys(fill.name for fill in fills if fill.required))


_steps_lock = threading.Lock()


def _fetch(gathers: Fetch | int | None) -> Fetch | None:
    # A step's ``fetch`` from its entry in ``Plan.fetches``.
    return operator.itemgetter(gathers) if type(gathers) is int else gathers  # type: ignore[return-value]


def _gathers(step: Step) -> Fetch | int | None:
    # A step's entry in ``Plan.fetches``.
    if step.unary and step.fetch is not None:
        return step.args[0][0]
    return step.fetch


@functools.cache
def _no_graph() -> Graph:
    return Graph.build((), ())


def one_step_plan(step: Step, slot_count: int) -> Plan:
    """A plan of ``step`` alone, at position 0, its slots ``slot_count`` (the last: None)."""
    return Plan(
        graph=_no_graph(),
        nodes=(step.node,),
        fetches=(_gathers(step),),
        unary=(step.unary,),
        exacts=(ExactsOfContracts().of_step(step.node, step.sources, step.fetch),),
        fills=(),
        slot_count=slot_count,
        none_slot=slot_count - 1,
        overrides=(),
        outputs=None,
        reader_counts=None,
        built={0: step},
    )


def parse_output_name(graph: Graph, name: str) -> tuple[str, str | None]:
    """Split ``"u"`` / ``"u.field"`` and check that ``u`` is a vertex of ``graph``."""
    vertex, _, field = name.partition(".")
    if vertex not in graph.vertices:
        if vertex in graph.inputs:
            what = "it has no fields" if field else "it comes from no vertex"
            raise DataResolutionError(
                f"cannot resolve the output {name!r}: {vertex!r} is a flow input, and {what}"
            )
        raise DataResolutionError(
            f"cannot resolve the output {name!r}: no vertex named {vertex!r}"
            f"{did_you_mean(vertex, graph.vertices)}"
        )
    node = graph.vertices[vertex]
    if field and node.fields is not None and field not in node.field_names:
        raise DataResolutionError(
            f"cannot resolve the output {name!r}: {vertex!r} returns "
            f"{type_name(node.returns)}, which has no field {field!r}"
            f"{did_you_mean(field, node.field_names)} (fields: {', '.join(node.field_names)})",
            vertex=vertex,
            location=node.location,
        )
    return vertex, field or None


def _selection(
    graph: Graph,
    outputs: Sequence[str] | None,
    flow: str | None,
    overridden: frozenset[str] = frozenset(),
) -> frozenset[str]:
    targets: set[str] = set()
    if outputs is not None:
        targets.update(parse_output_name(graph, name)[0] for name in outputs)
    if flow is not None:
        flows = graph.flows
        if flow not in flows:
            known = ", ".join(sorted(flows)) or "none"
            raise DataResolutionError(
                f"no flow named {flow!r}{did_you_mean(flow, flows)} (flows: {known})"
            )
        targets.update(flows[flow])
    if outputs is None and flow is None:
        targets.update(graph.order)
    members: dict[int, list[str]] = {}
    for node in graph.vertices.values():
        if node.options.group is not None:
            members.setdefault(id(node.options.group), []).append(node.name)

    def needed(name: str) -> Sequence[str]:
        # An overridden vertex is given, not computed: what only it needed is
        # not planned. An atomic group runs whole, after what it waits for.
        if name in overridden:
            return ()
        node = graph.vertices[name]
        group = () if node.options.group is None else members[id(node.options.group)]
        return (*node.upstream, *node.after, *group)

    return topology.closure(targets, needed)


def build_plan(
    graph: Graph,
    outputs: Sequence[str] | None = None,
    flow: str | None = None,
    overridden: frozenset[str] = frozenset(),
) -> Plan:
    """Plan the vertices that ``outputs`` and ``flow`` need (all of them when neither is given).

    ``overridden`` vertices are not run: the caller gives their outputs
    (``run(overrides=...)``), and what only they needed is left out.
    """
    with collector_paused():
        return _build_plan(graph, outputs, flow, overridden)


def _build_plan(
    graph: Graph,
    outputs: Sequence[str] | None,
    flow: str | None,
    overridden: frozenset[str],
) -> Plan:
    unknown = sorted(overridden - graph.vertices.keys())
    if unknown:
        hints = "; ".join(f"{name!r}{did_you_mean(name, graph.vertices)}" for name in unknown)
        raise UnknownInputError(f"overrides name no vertex of the flow: {hints}", unknown=unknown)
    requested = None if outputs is None else tuple(outputs)
    # Flow inputs asked for as outputs are returned as given; only vertices are computed.
    inputs_asked = [name for name in requested or () if _is_input(graph, name)]
    if inputs_asked:
        outputs = [name for name in outputs or () if name not in inputs_asked]
    vertices = graph.vertices
    names: Sequence[str]
    if outputs is None and flow is None and not overridden:
        names = graph.order  # the whole graph (``Graph.build`` keeps its vertices in order)
        in_order = tuple(vertices) == names
        nodes = list(vertices.values()) if in_order else [vertices[name] for name in names]
        given: list[str] = []
    else:
        selected = _selection(graph, outputs, flow, overridden)
        order = [name for name in graph.order if name in selected]
        names = [name for name in order if name not in overridden]
        nodes = [vertices[name] for name in names]
        given = [name for name in order if name in overridden]
    none_slot = len(nodes)
    # Where every vertex value lives: a step's own slot, or an overridden
    # vertex's given value, in slots after the constant None; then the flow
    # inputs' and the constants' slots, one per binding, in the order met.
    slot_of = dict(zip(names, range(none_slot), strict=True))
    slot_of.update((name, none_slot + 1 + i) for i, name in enumerate(given))
    fills: list[InputFill] = []
    constants: list[tuple[int, Any]] = []
    next_slot = none_slot + 1 + len(given)

    def source(binding: Binding) -> ArgSource:
        nonlocal next_slot
        if binding.previous or binding.transaction:
            return (none_slot, None)  # the runner puts the real value in
        if binding.is_input:
            fills.append(
                InputFill(next_slot, binding.source, binding.default, not binding.has_default)
            )
        elif binding.constant is not NO_DEFAULT:
            constants.append((next_slot, binding.constant))
        else:
            return (slot_of[binding.source], _reader(binding))
        next_slot += 1
        return (next_slot - 1, None)

    links = _Links()
    fetches: list[Fetch | int | None] = []
    unary: list[bool] = []
    exacts: list[Exacts | None] = []
    exacts_of = ExactsOfContracts()
    built: dict[int, Step] = {}
    itemgetter = operator.itemgetter
    common = nodes[0].options if nodes else None
    for i, node in enumerate(nodes):
        bindings, options = node.bindings, node.options
        conditional = node.condition is not None
        if options is not common or conditional or node.is_async:
            common = None
        # The common case, kept tight: every argument a whole value, passed by
        # position, from a vertex's slot or a flow input's (not a constant, a
        # loop's previous output or a transaction). Its step is built on first use.
        slots = []
        for b in bindings:
            if (
                b.field is not None
                or b.keyword_only
                or b.previous
                or b.transaction
                or b.constant is not NO_DEFAULT
            ):
                break
            slots.append(source(b)[0] if b.is_input else slot_of[b.source])
        else:
            one = len(slots) == 1
            # A unary step's column entry is its slot: no fetch is made for it.
            fetches.append(slots[0] if one else itemgetter(*slots) if slots else None)
            unary.append(one)
            if conditional or options.map_over is not None:
                step = Step(i, node, bindings, vertices, _fetch(fetches[-1]), one, links)
                built[i] = step
                _control(step, slot_of)
            # Its ``ExactsOfContracts.of_step``, kept tight too (strict checking is
            # the default): with no constants, each parameter's contract is checked.
            contracts = node.contracts
            if contracts is None or options.contracts == "off":
                exacts.append(None)
            elif not slots or node.is_async:
                exacts.append(THROUGH_INVOKER)
            else:
                if one:
                    argument = contracts.parameters.get(bindings[0].parameter)
                    exacts.append(exacts_of[argument, contracts.returns])
                else:  # (a loop: a comprehension costs a function call on Python < 3.12)
                    get = contracts.parameters.get
                    checked = []
                    for b in bindings:
                        checked.append(get(b.parameter))
                    checked.append(contracts.returns)
                    exacts.append(exacts_of[tuple(checked)])
            continue
        # Not such a step: the slots given to its inputs above are taken back, and
        # each argument gets its slot below.
        taken = sum(b.is_input for b in bindings[: len(slots)])
        if taken:
            del fills[-taken:]
            next_slot -= taken
        positional = tuple(source(b) for b in bindings if not b.keyword_only)
        keywords = tuple((b.parameter, *source(b)) for b in bindings if b.keyword_only)
        ordered = _ordered_bindings(node) if keywords else bindings
        fetch = argument_fetcher(positional, keywords)
        step = built[i] = Step(i, node, ordered, vertices, fetch, len(positional) == 1, links)
        step.args = positional
        if keywords:
            step.kwargs = keywords
        _control(step, slot_of)
        fetches.append(_gathers(step))
        unary.append(step.unary)
        exacts.append(exacts_of.of_step(node, ordered, fetch))
    asked = [
        _input_output(graph, name, next_slot + i)
        for i, name in enumerate(dict.fromkeys(inputs_asked))
    ]
    kept = _kept_vertices(graph, outputs)
    if kept is not None:
        position = {node.name: i for i, node in enumerate(nodes)}
    return Plan(
        graph=graph,
        nodes=tuple(nodes),
        fetches=tuple(fetches),
        unary=tuple(unary),
        exacts=tuple(exacts),
        fills=tuple(fills),
        slot_count=next_slot + len(asked),
        none_slot=none_slot,
        overrides=tuple((name, slot_of[name]) for name in given),
        outputs=requested,
        reader_counts=None if kept is None else _reader_counts(nodes, position, kept),
        input_outputs=tuple(asked),
        constants=tuple(constants),
        releases=None if kept is None else tuple(_release_points(nodes, position, kept)),
        common_options=common,
        built=built,
    )


def _control(step: Step, slot_of: Mapping[str, int]) -> None:
    # The fields of ``when=``, ``map_over=``, loops and atomic groups, for a step
    # that may have them.
    node, ordered = step.node, step.sources
    if node.condition is not None:
        step.condition = (slot_of[node.condition.source], _reader(node.condition))
    if node.options.map_over is not None:
        step.map_indices = tuple(_index_of(ordered, p) for p in node.options.map_over.parameters)
    for j, binding in reversed(list(enumerate(ordered))):  # the first one wins
        if binding.previous:
            step.previous_index = j
        if binding.transaction:
            step.transaction_index = j


def _is_input(graph: Graph, name: str) -> bool:
    return name in graph.inputs and name not in graph.vertices


def _input_output(graph: Graph, name: str, slot: int) -> InputFill:
    """The fill of input ``name`` asked for as an output: its value, else its one default.

    Its readers that have a default must agree on it; otherwise (or when none
    has one) the input must be given.
    """
    defaults: list[Any] = []
    for consumer in graph.inputs[name].consumers:
        default = consumer.default
        if default is not NO_DEFAULT and not any(_same(default, d) for d in defaults):
            defaults.append(default)
    if len(defaults) == 1:
        return InputFill(slot, name, defaults[0], False)
    return InputFill(slot, name, NO_DEFAULT, True)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # an __eq__ that raises, or an ambiguous truth value (arrays)
        return False


def _reader(binding: Binding) -> FieldReader | None:
    if binding.field is None or binding.access is None:
        return None
    return field_reader(binding.access, binding.field)


def _ordered_bindings(node: VertexNode) -> tuple[Binding, ...]:
    # The order arguments are gathered in: positional ones, then keyword-only ones.
    return tuple(b for b in node.bindings if not b.keyword_only) + tuple(
        b for b in node.bindings if b.keyword_only
    )


def _index_of(bindings: Sequence[Binding], parameter: str) -> int:
    return next(i for i, b in enumerate(bindings) if b.parameter == parameter)


def _needed(node: VertexNode, position: Mapping[str, int]) -> tuple[int, ...]:
    # Planned producers some parameter cannot do without (it has no default),
    # and those ``after=`` names.
    needed = [b.source for b in node.bindings if b.reads_vertex and not b.has_default]
    return tuple(dict.fromkeys(position[n] for n in (*needed, *node.requires) if n in position))


def argument_fetcher(
    positional: tuple[ArgSource, ...], keywords: tuple[tuple[str, int, Any], ...]
) -> Callable[[list[Any]], Any] | None:
    """A step's ``fetch`` (see ``Step``) for these argument sources, or None."""
    if keywords or not positional or any(reader is not None for _, reader in positional):
        return None
    return operator.itemgetter(*(slot for slot, _ in positional))


def gather(step: Step, values: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword arguments of ``step`` from the run's slots.

    Raises:
        DataResolutionError: a field a binding reads is not in the output.
    """
    try:
        args = [values[s] if r is None else r(values[s]) for s, r in step.args]
        kwargs = {k: values[s] if r is None else r(values[s]) for k, s, r in step.kwargs}
    except Exception as exc:
        raise resolution_error(step, values, exc) from exc
    return args, kwargs


def resolution_error(step: Step, values: list[Any], cause: BaseException) -> DataResolutionError:
    """Explain which field of which output could not be read for ``step``."""
    node = step.node
    slots = [slot for slot, _ in step.args] + [slot for _, slot, _ in step.kwargs]
    readers = [reader for _, reader in step.args] + [reader for _, _, reader in step.kwargs]
    for slot, reader, binding in zip(slots, readers, step.sources, strict=True):
        if reader is None:
            continue
        value = values[slot]
        try:
            reader(value)
        except (LookupError, AttributeError, TypeError):
            producer = step.producers[binding.source]
            return DataResolutionError(
                f"reads {binding.ref!r}, but the output of vertex {binding.source!r} "
                f"({producer.location}) has no field {binding.field!r}: got {_describe(value)}",
                vertex=node.name,
                parameter=binding.parameter,
                location=node.location,
            )
    return DataResolutionError(
        f"could not gather the arguments: {type(cause).__name__}: {cause}",
        vertex=node.name,
        location=node.location,
    )


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(repr(k) for k in list(value)[:10])
        return f"{type_name(type(value))} with keys {keys or '(none)'}"
    return f"{type_name(type(value))} {value!r:.60}"


def _kept_vertices(graph: Graph, outputs: Sequence[str] | None) -> frozenset[str] | None:
    if outputs is None:
        return None
    return frozenset(parse_output_name(graph, name)[0] for name in outputs)


def _reader_counts(
    nodes: Sequence[VertexNode], position: Mapping[str, int], kept: frozenset[str]
) -> tuple[int, ...]:
    """How many steps read each vertex slot; kept outputs get a count no run reaches."""
    counts = [0] * len(nodes)
    for node in nodes:
        for parent in node.upstream:
            if parent in position:  # not an overridden vertex, whose value is given
                counts[position[parent]] += 1
    return tuple(
        -1 if node.name in kept else count for node, count in zip(nodes, counts, strict=True)
    )


def _release_points(
    nodes: Sequence[VertexNode], position: Mapping[str, int], kept: frozenset[str] | None
) -> list[tuple[int, ...]]:
    """After which step each unrequested output is last read (serial order)."""
    releases: list[list[int]] = [[] for _ in nodes]
    if kept is None:
        return [() for _ in nodes]
    last_reader: dict[int, int] = {}
    for node in nodes:
        for parent in node.upstream:
            if parent in position:
                last_reader[position[parent]] = position[node.name]
    for slot, reader in last_reader.items():
        if nodes[slot].name not in kept:
            releases[reader].append(slot)
    return [tuple(r) for r in releases]
