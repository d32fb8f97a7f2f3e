"""The compiled graph: vertices, their bindings, flow inputs, order and stages (all frozen)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

import attrs

from .._location import SourceLocation
from .._typing import StructuredField
from . import topology
from .drafts import draft_of as _draft
from .options import DEFAULT_OPTIONS, VertexOptions

__all__ = [
    "NO_DEFAULT",
    "Binding",
    "FlowInput",
    "Graph",
    "InputConsumer",
    "VertexContracts",
    "VertexNode",
]

#: Marks a parameter without a default value.
NO_DEFAULT: Any = inspect.Parameter.empty

FieldAccess = Literal["item", "attr", "lookup"]

#: A compiled contract. The model only carries it: the contract services
#: (``flowdsl._services.contracts.Contract``) make and check it.
ContractT = TypeVar("ContractT")


# The ``__class__`` slot's own setter: cheaper than ``object.__setattr__`` by name.
_SET_CLASS = vars(object)["__class__"].__set__
_OBJECT_NEW = object.__new__


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


_NO_CONTRACTS: Mapping[str, Any] = MappingProxyType({})


class _OneEntry(Mapping[str, Any]):
    """A frozen mapping of one key: most vertices check one parameter, and a dict behind a
    mappingproxy costs about 250 bytes a vertex where this costs 48."""

    __slots__ = ("_key", "_value")

    def __init__(self, key: str, value: Any) -> None:
        self._key = key
        self._value = value

    def __getitem__(self, key: str) -> Any:
        if key == self._key:
            return self._value
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self._value if key == self._key else default

    def __contains__(self, key: object) -> bool:
        return key == self._key

    def __iter__(self) -> Iterator[str]:
        yield self._key

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return repr({self._key: self._value})


def _frozen_contracts(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if type(value) is _OneEntry:  # frozen already (``attrs.evolve`` passes it back)
        return value
    if not value:  # a vertex that checks only its return value
        return _NO_CONTRACTS
    if len(value) == 1:
        ((key, contract),) = value.items()
        return _OneEntry(key, contract)
    return _frozen_mapping(value)


@attrs.frozen(init=False, weakref_slot=False)
class Binding:
    """Where one parameter of a vertex gets its value.

    ``source`` is a vertex name (``is_input`` false) or a flow input name;
    for a ``previous`` binding (a loop's ``Previous()`` parameter) it is the
    vertex's own name, and for a constant (``vertex(fn, bind={"p": 3})``)
    the parameter's; ``constant`` is then the value.
    ``field`` selects one field of the source vertex's output; ``access`` says
    how: by key (``"item"``: TypedDict), by attribute (``"attr"``: attrs,
    dataclass, NamedTuple) or looked up at run time (``"lookup"``: a plain
    ``dict`` or unannotated output).

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> graph = flowdsl.compile(double)
        >>> binding = graph.vertices["double"].bindings[0]
        >>> binding.parameter, binding.ref, binding.is_input
        ('x', 'x', True)
    """

    parameter: str
    source: str
    is_input: bool = False
    field: str | None = None
    access: FieldAccess | None = None
    annotation: Any = NO_DEFAULT
    default: Any = NO_DEFAULT
    keyword_only: bool = False
    previous: bool = False
    # The parameter receives the live transaction of the vertex's atomic group.
    transaction: bool = False
    constant: Any = attrs.field(default=NO_DEFAULT, eq=False)

    def __init__(
        self,
        parameter: str,
        source: str,
        is_input: bool = False,
        field: str | None = None,
        access: FieldAccess | None = None,
        annotation: Any = NO_DEFAULT,
        default: Any = NO_DEFAULT,
        keyword_only: bool = False,
        previous: bool = False,
        transaction: bool = False,
        constant: Any = NO_DEFAULT,
    ) -> None:
        cls = type(self)
        _SET_CLASS(self, _BindingDraft)
        draft: Any = self
        try:
            draft.parameter = parameter
            draft.source = source
            draft.is_input = is_input
            draft.field = field
            draft.access = access
            draft.annotation = annotation
            draft.default = default
            draft.keyword_only = keyword_only
            draft.previous = previous
            draft.transaction = transaction
            draft.constant = constant
        finally:
            draft.__class__ = cls

    @property
    def is_constant(self) -> bool:
        """Whether the parameter receives a constant given by ``bind=`` (or a partial)."""
        return self.constant is not NO_DEFAULT

    @property
    def reads_vertex(self) -> bool:
        """Whether the value comes from another vertex's output (not an input, a loop's
        previous output, a transaction or a constant)."""
        return not (self.is_input or self.previous or self.transaction) and (
            self.constant is NO_DEFAULT
        )

    @property
    def ref(self) -> str:
        """The qualified name bound: ``"u"``, ``"u.field"`` or the input name."""
        return self.source if self.field is None else f"{self.source}.{self.field}"

    @property
    def has_default(self) -> bool:
        """Whether the parameter has a default value."""
        return self.default is not NO_DEFAULT


@attrs.frozen(init=False, weakref_slot=False)
class VertexContracts(Generic[ContractT]):
    """A vertex's compiled contract checks: per parameter, and for the return value.

    Holds only the annotations there is something to check against. The
    compiler fills it with ``flowdsl._services.contracts.Contract`` values;
    the model stays below the services by not naming that class.
    """

    parameters: Mapping[str, ContractT]
    returns: ContractT | None = None

    def __init__(
        self, parameters: Mapping[str, ContractT], returns: ContractT | None = None
    ) -> None:
        _SET_PARAMETERS(self, _frozen_contracts(parameters))
        _SET_RETURNS(self, returns)

    @classmethod
    def one(
        cls, parameter: str, contract: ContractT, returns: ContractT | None = None
    ) -> VertexContracts[ContractT]:
        """The checks of one parameter (and the return value), as most vertices have:
        ``VertexContracts({parameter: contract}, returns)`` without the dict to read.

        Examples:
            >>> VertexContracts.one("x", int, str) == VertexContracts({"x": int}, str)
            True
        """
        entry = _OBJECT_NEW(_OneEntry)  # its ``__init__``, inlined
        entry._key = parameter
        entry._value = contract
        record = _OBJECT_NEW(cls)
        _SET_PARAMETERS(record, entry)
        _SET_RETURNS(record, returns)
        return record

    @classmethod
    def taking(
        cls, parameters: dict[str, ContractT], returns: ContractT | None = None
    ) -> VertexContracts[ContractT]:
        """The checks of ``parameters``, a dict handed over: kept behind a read-only
        view, not copied, so whoever made it must not change it again (the compiler
        makes one a vertex that checks several parameters).

        Examples:
            >>> checks = VertexContracts.taking({"x": int, "y": int}, str)
            >>> checks == VertexContracts({"x": int, "y": int}, str)
            True
        """
        record = _OBJECT_NEW(cls)
        _SET_PARAMETERS(
            record,
            MappingProxyType(parameters) if len(parameters) > 1 else _frozen_contracts(parameters),
        )
        _SET_RETURNS(record, returns)
        return record

    def __bool__(self) -> bool:
        return bool(self.parameters) or self.returns is not None


# Contracts records are written through their slots' own setters: the compiler
# builds one a vertex, and ``object.__setattr__`` costs about 40 ns more a field.
_SET_PARAMETERS = VertexContracts.__dict__["parameters"].__set__
_SET_RETURNS = VertexContracts.__dict__["returns"].__set__
_BindingDraft = _draft(Binding)


@attrs.frozen(init=False, weakref_slot=False)
class VertexNode:
    """One vertex of the graph: its function, flags, bindings and output shape.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> graph = flowdsl.compile(double)
        >>> node = graph.vertices["double"]
        >>> node.name, node.upstream, node.is_async, node.returns, node.options.pure
        ('double', (), False, <class 'int'>, False)
    """

    name: str
    function: Callable[..., Any] = attrs.field(eq=False)
    bindings: tuple[Binding, ...]
    # Where it was defined; ``None`` stands for ``function``'s ``def`` line, looked up
    # when asked for: it serves error messages, and most never come (read ``location``).
    _location: SourceLocation | None = attrs.field(repr=False)
    returns: Any = NO_DEFAULT
    fields: tuple[StructuredField, ...] | None = None
    is_async: bool = False
    # What @vertex(...) said, checked (the same record as the spec's).
    options: VertexOptions = DEFAULT_OPTIONS
    # Its contract checks, compiled once from the annotations.
    contracts: VertexContracts[Any] | None = attrs.field(default=None, eq=False, repr=False)
    # What ``when=`` reads, as a binding of the pseudo-parameter "when".
    condition: Binding | None = None
    # The vertices it must run after because of its atomic group (the group's
    # order and its commit), besides those it reads.
    after: tuple[str, ...] = ()
    # The vertices ``after=`` names: needed like a read without a default
    # (kept by pruning; their failure or skip skips this one), never passed.
    requires: tuple[str, ...] = ()
    # Names of the vertices this one reads from (or runs after with ``after=``),
    # each once, in parameter order: derived from the fields above when built.
    upstream: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)

    def __init__(
        self,
        name: str,
        function: Callable[..., Any],
        bindings: tuple[Binding, ...],
        location: SourceLocation | None,
        returns: Any = NO_DEFAULT,
        fields: tuple[StructuredField, ...] | None = None,
        is_async: bool = False,
        options: VertexOptions = DEFAULT_OPTIONS,
        contracts: VertexContracts[Any] | None = None,
        condition: Binding | None = None,
        after: tuple[str, ...] = (),
        requires: tuple[str, ...] = (),
    ) -> None:
        cls = type(self)
        _SET_CLASS(self, _VertexNodeDraft)
        draft: Any = self
        try:
            draft.name = name
            draft.function = function
            draft.bindings = bindings
            draft._location = location
            draft.returns = returns
            draft.fields = fields
            draft.is_async = is_async
            draft.options = options
            draft.contracts = contracts
            draft.condition = condition
            draft.after = after
            draft.requires = requires
            draft.upstream = _upstream(bindings, condition, requires)
        finally:
            draft.__class__ = cls

    @property
    def location(self) -> SourceLocation:
        """Where the vertex was defined: its function's ``def`` line, or the line that
        made it (``vertex(fn, ...)``)."""
        return SourceLocation.of(self.function) if self._location is None else self._location

    @property
    def tags(self) -> dict[str, Any]:
        """The vertex's ``tags=`` as a dict."""
        return dict(self.options.tags)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the statically known fields of the output (empty if unstructured)."""
        return tuple(f.name for f in self.fields or ())


_VertexNodeDraft = _draft(VertexNode)


def _upstream(
    bindings: tuple[Binding, ...], condition: Binding | None, requires: tuple[str, ...]
) -> tuple[str, ...]:
    # ``Binding.reads_vertex``, written out in a loop: this runs once a vertex.
    sources = []
    for b in bindings:
        if not (b.is_input or b.previous or b.transaction) and b.constant is NO_DEFAULT:
            sources.append(b.source)
    if condition is not None:
        sources.append(condition.source)
    if not requires and (len(sources) < 2 or len(set(sources)) == len(sources)):
        return tuple(sources)  # nothing to deduplicate (a set costs less than dict.fromkeys)
    return tuple(dict.fromkeys((*sources, *requires)))


@attrs.frozen
class InputConsumer:
    """One parameter that reads a flow input.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> graph = flowdsl.compile(double)
        >>> consumer = graph.inputs["x"].consumers[0]
        >>> consumer.vertex, consumer.parameter, consumer.annotation
        ('double', 'x', <class 'int'>)
    """

    vertex: str
    parameter: str
    annotation: Any = NO_DEFAULT
    default: Any = NO_DEFAULT


@attrs.frozen
class FlowInput:
    """A value the caller provides; required unless every consumer has a default.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> graph = flowdsl.compile(double)
        >>> graph.inputs["x"].required, graph.inputs["x"].annotation
        (True, <class 'int'>)
    """

    name: str
    consumers: tuple[InputConsumer, ...]

    @property
    def annotation(self) -> Any:
        """The first annotation a consumer gives this input (``NO_DEFAULT`` if none does)."""
        return next(
            (c.annotation for c in self.consumers if c.annotation is not NO_DEFAULT), NO_DEFAULT
        )

    @property
    def required(self) -> bool:
        """Whether some consumer has no default for it."""
        return any(c.default is NO_DEFAULT for c in self.consumers)

    def required_by(self, vertices: Collection[str]) -> bool:
        """Whether a consumer among ``vertices`` has no default for it."""
        return any(c.default is NO_DEFAULT and c.vertex in vertices for c in self.consumers)


class _Readers(Mapping[str, tuple[str, ...]]):
    """``Graph.downstream`` as ``Graph.build`` makes it: worked out when first read, from
    the vertices' upstream, since a run never reads it (its plan keeps its own links).

    Read-only like the mapping it stands for; two threads that read it first at once
    work out equal mappings, and either is kept.
    """

    __slots__ = ("_readers", "_vertices")

    def __init__(self) -> None:
        self._vertices: Mapping[str, VertexNode] = {}  # set by ``Graph.build``
        self._readers: dict[str, tuple[str, ...]] | None = None

    def _worked_out(self) -> dict[str, tuple[str, ...]]:
        readers = self._readers
        if readers is None:
            upstream = {name: v.upstream for name, v in self._vertices.items()}
            readers = self._readers = topology.reverse(upstream, tuple(upstream))
        return readers

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self._worked_out()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._vertices

    def __iter__(self) -> Iterator[str]:
        return iter(self._vertices)

    def __len__(self) -> int:
        return len(self._vertices)

    def __repr__(self) -> str:
        return repr(self._worked_out())


def _frozen_readers(value: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    return value if type(value) is _Readers else _frozen_mapping(value)


@attrs.frozen
class Graph:
    """An immutable compiled graph.

    ``vertices`` maps names to vertices in topological order; ``inputs`` maps
    flow input names to their consumers. Build one with ``flowdsl.compile``.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> graph = flowdsl.compile(double)
        >>> graph.order, list(graph.inputs), graph.stages
        (('double',), ['x'], (('double',),))
    """

    vertices: Mapping[str, VertexNode] = attrs.field(converter=_frozen_mapping)
    inputs: Mapping[str, FlowInput] = attrs.field(converter=_frozen_mapping)
    order: tuple[str, ...]
    stages: tuple[tuple[str, ...], ...]
    downstream: Mapping[str, tuple[str, ...]] = attrs.field(converter=_frozen_readers)

    @classmethod
    def build(cls, vertices: Iterable[VertexNode], inputs: Iterable[FlowInput]) -> Graph:
        """Order acyclic ``vertices`` (declaration order breaks ties) and derive the rest."""
        declared = {v.name: v for v in vertices}
        if any(v.after for v in declared.values()):
            # Atomic groups add ordering edges; the order and stages respect them.
            ordering = {
                name: (*v.upstream, *v.after) if v.after else v.upstream
                for name, v in declared.items()
            }
        else:
            ordering = {name: v.upstream for name, v in declared.items()}
        order, stages = topology.layout(ordering)
        readers = _Readers()
        graph = cls(
            vertices=declared if order == tuple(declared) else {n: declared[n] for n in order},
            inputs={i.name: i for i in inputs},
            order=order,
            stages=stages,
            downstream=readers,
        )
        readers._vertices = graph.vertices
        return graph

    @property
    def flows(self) -> Mapping[str, tuple[str, ...]]:
        """Each flow name to its tagged vertices, in topological order."""
        tagged: dict[str, list[str]] = {}
        for vertex in self.vertices.values():
            for flow in vertex.options.flows:
                tagged.setdefault(flow, []).append(vertex.name)
        return {flow: tuple(names) for flow, names in tagged.items()}

    def upstream_closure(self, targets: Iterable[str]) -> frozenset[str]:
        """``targets`` and every vertex they depend on, directly or not."""
        return topology.closure(targets, lambda name: self.vertices[name].upstream)

    def downstream_closure(self, sources: Iterable[str]) -> frozenset[str]:
        """``sources`` and every vertex that depends on them, directly or not."""
        return topology.closure(sources, lambda name: self.downstream[name])
