"""The ``@vertex`` decorator: it records what a function is, and changes nothing else.

A decorated function stays the same function object (so it still calls,
pickles and type-checks as before); the decorator attaches a ``VertexSpec``
that the compiler reads.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast, overload

import attrs
from typing_extensions import ParamSpec, TypedDict, Unpack

from . import _vertex_options as check
from ._groups import AtomicGroup
from ._location import SourceLocation
from ._mapping import MapOver
from ._model.drafts import draft_of
from ._model.options import DEFAULT_OPTIONS, ContractMode, VertexOptions
from ._policies import RetryPolicy
from .errors import InvalidVertexError

__all__ = [
    "ExpandedVertices",
    "MadeVertex",
    "VertexKeywords",
    "VertexSpec",
    "attach_spec",
    "spec_of",
    "vertex",
]

P = ParamSpec("P")
R = TypeVar("R")

_SPEC_ATTRIBUTE = "__flowdsl_vertex__"
# The attribute ``inspect.markcoroutinefunction`` sets on a function (Python 3.12+).
_COROUTINE_MARKER = "_is_coroutine_marker"
_FUNCTION = types.FunctionType
_CO_COROUTINE = inspect.CO_COROUTINE
# What inspect.isgeneratorfunction and isasyncgenfunction read, for a function.
_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR

Fallbacks = Callable[..., Any] | Sequence[Callable[..., Any]]


class VertexKeywords(TypedDict, total=False):
    """The options ``@vertex(...)`` takes as keyword arguments (see ``vertex``)."""

    pure: bool
    flows: Iterable[str] | str
    blocking: bool
    timeout: float | None
    contracts: ContractMode | None
    version: str | None
    retries: int | None
    retry: RetryPolicy | None
    fallback: Fallbacks | None
    when: str | Callable[..., Any] | None
    map_over: str | tuple[str, ...] | MapOver | None
    until: Callable[[Any], bool] | None
    max_iterations: int | None
    max_concurrency: int | None
    rate_limit: float | None
    group: AtomicGroup | None
    compensate: Callable[..., Any] | None
    bind: Mapping[str, Any]
    config: Mapping[str, Any]
    unpack: bool | Sequence[str]
    after: Iterable[str | Callable[..., Any]] | str | Callable[..., Any]
    tags: Mapping[str, Any]


# No weak-reference slot: ``_bare_spec`` builds a spec as its draft (``draft_of``).
@attrs.frozen(kw_only=True, weakref_slot=False)
class VertexSpec:
    """What ``@vertex`` recorded about one function: its name, where, and its options."""

    function: Callable[..., Any]
    name: str
    options: VertexOptions = DEFAULT_OPTIONS
    # The line that made a vertex of another one (``vertex(fn, ...)``); ``None``
    # for a decorated function, whose ``def`` line is its ``location``.
    made_at: SourceLocation | None = None
    # Names visible where the function was defined inside another function, so
    # that annotations naming local classes resolve at compile time.
    local_names: Mapping[str, Any] | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def location(self) -> SourceLocation:
        """Where the vertex was defined: the ``def`` line, or the line that made it."""
        return SourceLocation.of(self.function) if self.made_at is None else self.made_at

    @property
    def is_async(self) -> bool:
        """Whether calling the function returns a coroutine."""
        function = self.function
        # ``inspect.iscoroutinefunction``, read off the code flags of a plain function
        # that ``inspect.markcoroutinefunction`` did not mark (a third of its cost;
        # the compiler asks once a vertex).
        if type(function) is _FUNCTION and _COROUTINE_MARKER not in function.__dict__:
            return function.__code__.co_flags & _CO_COROUTINE != 0
        return inspect.iscoroutinefunction(function)

    def __reduce__(self) -> tuple[Any, ...]:
        # A decorated function travels (to a Dask worker) without the names
        # around its definition: they served the compiler, and need not pickle.
        kept = {f.name: getattr(self, f.name) for f in attrs.fields(VertexSpec)}
        del kept["local_names"]
        return (functools.partial(VertexSpec, **kept), ())


_VertexSpecDraft = draft_of(VertexSpec)


def _bare_spec(function: types.FunctionType, name: str) -> VertexSpec:
    # ``VertexSpec(function=function, name=name)`` at about a third of the cost
    # (written as its draft, ``draft_of``): a compile makes one for each bare
    # @vertex it reads.
    draft: Any = object.__new__(_VertexSpecDraft)
    draft.function = function
    draft.name = name
    draft.options = DEFAULT_OPTIONS
    draft.made_at = None
    draft.local_names = None
    draft.__class__ = VertexSpec
    return cast(VertexSpec, draft)


def spec_of(obj: object) -> VertexSpec | None:
    """The ``VertexSpec`` of a decorated function, or ``None`` for anything else."""
    spec = getattr(obj, _SPEC_ATTRIBUTE, None)
    if type(spec) is str and type(obj) is types.FunctionType:
        # A bare @vertex at module level keeps only the vertex's name on the
        # function (no record per vertex while a module of thousands is
        # loaded); each read makes the spec that name stands for.
        return _bare_spec(obj, spec)
    if not isinstance(spec, VertexSpec):
        return None
    if type(obj) is types.FunctionType and spec.function is not obj:
        # A decorator over @vertex that copied the vertex's attributes onto its
        # wrapper (functools.wraps): the wrapper is what runs, with the vertex's
        # options, as it is for a bare @vertex's name above.
        return attrs.evolve(spec, function=obj)
    return spec


def attach_spec(function: Callable[..., Any], spec: VertexSpec) -> None:
    """Make ``function`` a vertex described by ``spec`` (what ``spec_of`` then returns)."""
    setattr(function, _SPEC_ATTRIBUTE, spec)


def _local_names(frame: types.FrameType) -> Mapping[str, Any] | None:
    if frame.f_locals is frame.f_globals:
        return None
    return dict(frame.f_locals)


def _call_site(frame: types.FrameType) -> SourceLocation:
    # Read only where a location is used: a frame's f_lineno is found by
    # walking its code's line table, which in a module defining thousands of
    # vertices is long (read for every @vertex, decorating them was quadratic).
    return SourceLocation(frame.f_code.co_filename, frame.f_lineno)


def _checked_function(fn: Any, location: SourceLocation | None) -> types.FunctionType:
    # A vertex runs a def or async def function (or a lambda with a name).
    if not callable(fn):
        raise InvalidVertexError(
            f"vertex() takes a function; got {fn!r}, which is not callable", location=location
        )
    if not isinstance(fn, types.FunctionType):
        raise InvalidVertexError(
            f"vertex() takes a function defined with def or async def (or a functools.partial "
            f"of one, or a vertex); got {fn!r}",
            location=location,
        )
    if fn.__code__.co_flags & _GENERATOR_FLAGS:
        raise InvalidVertexError(
            "a vertex returns one value; a generator function cannot be a vertex",
            vertex=fn.__name__,
            location=location or SourceLocation.of(fn),
        )
    return fn


def _vertex_name(fn: types.FunctionType, name: str | None, made_at: SourceLocation | None) -> str:
    vertex_name = fn.__name__ if name is None else name
    if vertex_name == "<lambda>":
        raise InvalidVertexError(
            "a lambda has no name; give it one with vertex(name='...')(lambda ...)",
            location=made_at or SourceLocation.of(fn),
        )
    if not isinstance(vertex_name, str) or not vertex_name.isidentifier():
        raise InvalidVertexError(
            f"a vertex name must be a Python identifier; got {vertex_name!r}",
            location=made_at or SourceLocation.of(fn),
        )
    if vertex_name.isascii():  # NFKC changes no ASCII identifier
        return vertex_name
    normal = unicodedata.normalize("NFKC", vertex_name)
    if normal != vertex_name:
        # Python reads identifiers in code in this form, so a parameter written
        # with this name would read another one (and become a flow input).
        raise InvalidVertexError(
            f"the vertex name {vertex_name!r} reads as {normal!r} in Python code "
            f"(Unicode NFKC); name it {normal!r}",
            location=made_at or SourceLocation.of(fn),
        )
    return vertex_name


def _mark(
    fn: Any, name: str | None, given: Mapping[str, Any], local_names: Mapping[str, Any] | None
) -> VertexSpec:
    # @vertex on a plain function: the spec of that function itself.
    function = _checked_function(fn, None)
    vertex_name = _vertex_name(function, name, None)
    if not given:  # a bare @vertex
        options = DEFAULT_OPTIONS
    else:
        where = check.Where(vertex_name, function)
        options = check.checked_options(given, function, where)
    return VertexSpec(function=function, name=vertex_name, options=options, local_names=local_names)


def _partial_arguments(
    call: functools.partial[Any], location: SourceLocation
) -> tuple[Any, dict[str, Any]]:
    # A partial's arguments, by parameter name: they become constants.
    inner = call.func
    parameters = list(check.signature_of(inner).parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(call.args) > len(positional):
        raise InvalidVertexError(
            f"{call!r} gives {len(call.args)} positional arguments, but its function takes "
            f"{len(positional)} named positional parameters; a vertex's parameters are named",
            location=location,
        )
    return inner, {
        **{p.name: value for p, value in zip(positional, call.args, strict=False)},
        **call.keywords,
    }


def _made(
    fn: Any,
    name: str | None,
    given: Mapping[str, Any],
    local_names: Mapping[str, Any] | None,
    location: SourceLocation,
) -> MadeVertex:
    """A new vertex of ``fn`` (a function, a partial or a vertex); ``fn`` is not changed."""
    base = spec_of(fn)
    bound: dict[str, Any] = {}
    if base is not None:
        function: Any = base.function
        call = fn.call if isinstance(fn, MadeVertex) else fn
    elif isinstance(fn, functools.partial):
        function, bound = _partial_arguments(fn, location)
        call = fn
        base = spec_of(function)  # a partial of a vertex keeps its options
        if base is not None:
            function = base.function
    else:
        function = call = fn
    function = _checked_function(function, location)
    # Annotations resolve where the function was defined: a vertex's own
    # names, or the caller's when it defined the function (in a function).
    if base is not None:
        local_names = base.local_names
    elif "<locals>" not in function.__qualname__:
        local_names = None
    vertex_name = _vertex_name(function, name, location)
    where = check.Where(vertex_name, location)
    if bound:
        given = {**given, "bind": {**bound, **given.get("bind", {})}}
    options = check.checked_options(given, function, where, None if base is None else base.options)
    spec = VertexSpec(
        function=function,
        name=vertex_name,
        options=options,
        made_at=location,
        local_names=local_names,
    )
    return MadeVertex(call, spec)


class MadeVertex:
    """A vertex made by ``vertex(fn, ...)`` or ``vertex.expand``: a plain callable with
    ``fn``'s signature that calls ``fn`` (``bind=`` constants are not applied).

    Examples:
        >>> from flowdsl import vertex
        >>> def scale(x: float, factor: float) -> float:
        ...     return x * factor
        >>> double = vertex(scale, name="double", bind={"factor": 2.0})
        >>> double(3.0, 10.0), double.__name__
        (30.0, 'double')
    """

    def __init__(self, call: Callable[..., Any], spec: VertexSpec) -> None:
        self.call = call
        self.__flowdsl_vertex__ = spec
        self.__name__ = spec.name
        self.__qualname__ = spec.name
        self.__module__ = getattr(spec.function, "__module__", __name__)
        self.__doc__ = getattr(spec.function, "__doc__", None)
        self.__signature__ = check.signature_of(call)
        if inspect.iscoroutinefunction(call):
            _mark_coroutine_function(self, cast(types.FunctionType, spec.function))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (MadeVertex, (self.call, self.__flowdsl_vertex__))

    def __repr__(self) -> str:
        function = self.__flowdsl_vertex__.function
        return f"<vertex {self.__name__!r} of {function.__module__}.{function.__qualname__}>"


def _mark_coroutine_function(made: MadeVertex, function: types.FunctionType) -> None:
    # So that inspect.iscoroutinefunction(made) is true, as it is for ``function``
    # (frameworks read it to decide whether to await a callable).
    if sys.version_info >= (3, 12):
        inspect.markcoroutinefunction(made)
    else:
        # Before 3.12, inspect reads the code flags of a callable that looks
        # like a function: a code object, defaults and keyword defaults.
        vars(made).update(
            __code__=function.__code__,
            __defaults__=function.__defaults__,
            __kwdefaults__=function.__kwdefaults__,
        )


class ExpandedVertices(dict[str, Any]):
    """What ``vertex.expand`` returns: each new vertex by name (``Flow.from_module``
    finds them when a module-level name holds this mapping)."""


class _Vertex(Protocol):
    # What type checkers and IDEs see of ``vertex``: the keyword options of
    # VertexKeywords, and a decorated function's own signature kept (ParamSpec).
    @overload
    def __call__(
        self, fn: Callable[P, R], /, *, name: str | None = None, **options: Unpack[VertexKeywords]
    ) -> Callable[P, R]: ...

    @overload
    def __call__(
        self, *, name: str | None = None, **options: Unpack[VertexKeywords]
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def expand(
        self,
        fn: Callable[P, R],
        variants: Mapping[str, Mapping[str, Any]],
        /,
        **options: Unpack[VertexKeywords],
    ) -> dict[str, Callable[P, R]]: ...


def _vertex(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    **options: Unpack[VertexKeywords],
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a function as a vertex of a dataflow graph, or make a new vertex of a function.

    The function's parameters become its data bindings: a parameter named
    after another vertex receives that vertex's output, one annotated
    ``Annotated[T, From("u.field")]`` receives a field of it, and any other
    parameter is a flow input. On a plain function without ``bind=``, the
    function itself is returned unchanged, so it still calls as a plain
    function.

    Examples:
        >>> from flowdsl import vertex
        >>> @vertex
        ... def normalize(name: str) -> str:
        ...     return name.strip().lower()
        >>> normalize(" Alice ")
        'alice'

    Called on a function that is already a vertex, on a ``functools.partial``
    (its arguments become constants), or with ``bind=``, it returns a NEW
    vertex and leaves ``fn`` as it was: a plain callable with ``fn``'s
    signature, taking ``fn``'s options (if ``fn`` is a vertex) overridden by
    those given. ``vertex.expand(fn, {name: bind, ...})`` makes many at once.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import From, Input
        >>> def scale(value: float, factor: float) -> float:
        ...     return value * factor
        >>> double = vertex(scale, name="double", bind={"value": Input("x"), "factor": 2.0})
        >>> flowdsl.Flow.from_functions(double).run({"x": 4.0})["double"], scale(4.0, 3.0)
        (8.0, 12.0)

    Args:
        name: the vertex name (default: the function's ``__name__``).
        bind: parameter names to ``From(...)`` (a vertex or a field),
            ``Input("name")`` (a flow input under another name) or any other
            value (a constant, checked against the parameter's annotation at
            compile time, and part of the cache key and the checkpoint).
        config: make this vertex a config variant: it exists only when the
            compile config (``Flow.from_module(..., config=...)``) gives every
            key this value, or one of the values of a tuple, list or set.
        unpack: ``True``: each field of a structured return (TypedDict,
            attrs class, dataclass, NamedTuple) becomes a vertex of its own
            name; ``("a", "b")``: these keys of any output read with
            ``[key]`` (a dict, a DataFrame), or the positions of a tuple. The
            whole output keeps the vertex's name.
        after: vertices (names or the vertices themselves) this one runs after
            without reading their output: pruning keeps them, and when one
            fails or is skipped, this vertex is skipped.
        tags: metadata (``{"owner": "growth"}``), shown by the exports and
            ``flowdsl explain``; ``flow.select(tags=...)`` finds vertices by it.
        pure: the result depends only on the inputs, so it may be cached
            (``run(cache=...)``).
        flows: names of the flows this vertex belongs to (``run(flow=...)``).
        blocking: under the async backend, run this sync function on a
            worker thread instead of on the event loop's thread.
        timeout: seconds the run waits for each call of this vertex before it
            fails with ``VertexTimeout``. A coroutine is cancelled at the
            deadline; a sync function runs on a worker thread so the run can
            stop waiting (a thread cannot be interrupted: it finishes in the
            background and its late result is discarded; in an atomic group
            its backend interrupts it, and the run waits for it).
        contracts: ``"strict"``, ``"warn"`` or ``"off"`` for this vertex's
            contract checks, whatever the run says (default: the run's mode).
        version: part of a pure vertex's cache key: change it when the result
            changes for a reason the code fingerprint cannot see (a helper
            reached through a module attribute, data read from a file).
        retries: call the vertex again up to this many times when it fails
            (shorthand for ``retry=RetryPolicy(max_retries=retries)``).
        retry: the vertex's ``RetryPolicy``; it replaces ``run(retry=...)``.
        fallback: a function, or a list tried in order, called with the
            vertex's arguments (those it names) when the vertex has failed
            after its retries; the first that succeeds stands in for it.
        when: ``"vertex"``, ``"vertex.field"`` or a decorated function: run
            only when that value is truthy, else skip this vertex.
        map_over: a parameter bound to a sequence: call the function once per
            element (the parameter receives the element); the output is the
            list of results, in order. A tuple of parameters zips their
            sequences (of equal length); ``product("x", "y")`` calls once per
            combination and gives a list of lists, the outer index over ``x``.
        until: re-run the vertex until ``until(output)`` is true; a parameter
            annotated ``Annotated[T | None, Previous()]`` receives the last
            output (``None`` the first time).
        max_iterations: with ``until``, the most calls the loop may make.
        max_concurrency: at most this many calls of this vertex at once in a
            run (mapped elements, retries).
        rate_limit: at most this many calls of this vertex per second in a
            run, spaced evenly.
        group: the ``AtomicGroup`` this vertex runs in: one transaction
            with the group's other vertices, rolled back together.
        compensate: in a group with ``on_failure="compensate"``, undoes this
            vertex when the group fails; it takes the vertex's parameters it
            names, and the vertex's name for its output.

    Raises:
        InvalidVertexError: ``fn`` is not a function (``def``, ``async def``,
            a named lambda), a partial of one or a vertex; is a generator; or
            an option has a bad value. It points at the line that made the vertex.
        BindingError: a ``bind=`` key is not a parameter (with "did you mean").
    """
    caller = sys._getframe(1)
    local_names = _local_names(caller)
    if fn is not None:
        return _decorate(fn, name, options, local_names, caller)
    return lambda function: _decorate(function, name, options, local_names, caller)


def _decorate(
    fn: Callable[P, R],
    name: str | None,
    options: Mapping[str, Any],
    local_names: Mapping[str, Any] | None,
    caller: types.FrameType,
) -> Callable[P, R]:
    if isinstance(fn, types.FunctionType) and spec_of(fn) is None and "bind" not in options:
        if options or local_names is not None:
            attach_spec(fn, _mark(fn, name, options, local_names))
        else:  # what spec_of then reads back as VertexSpec(function=fn, name=...)
            setattr(fn, _SPEC_ATTRIBUTE, _vertex_name(_checked_function(fn, None), name, None))
        return fn
    made: Callable[P, R] = _made(fn, name, options, local_names, _call_site(caller))
    return made


def _expand(
    fn: Callable[P, R],
    variants: Mapping[str, Mapping[str, Any]],
    /,
    **options: Unpack[VertexKeywords],
) -> dict[str, Callable[P, R]]:
    """Make one new vertex of ``fn`` per entry of ``variants`` (name to its ``bind=``);
    ``fn`` is not changed (Hamilton's ``@parameterize``).

    ``options`` apply to every new vertex; a ``bind=`` among them is merged
    under each entry's own.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import From, vertex
        >>> @vertex
        ... def base(x: int) -> int:
        ...     return x
        >>> def scale(value: int, factor: int) -> int:
        ...     return value * factor
        >>> scaled = vertex.expand(scale, {
        ...     f"times_{k}": {"value": From("base"), "factor": k} for k in (2, 3)})
        >>> sorted(scaled)
        ['times_2', 'times_3']
        >>> result = flowdsl.Flow.from_functions(base, *scaled.values()).run({"x": 5})
        >>> result["times_2"], result["times_3"]
        (10, 15)

    Raises:
        InvalidVertexError: ``fn`` cannot be a vertex, or ``variants`` is not a
            mapping of names to mappings.
        BindingError: a ``bind`` key is not a parameter of ``fn``.
    """
    caller = sys._getframe(1)
    location = _call_site(caller)
    local_names = _local_names(caller)
    if not isinstance(variants, Mapping):
        raise InvalidVertexError(
            f"vertex.expand takes a mapping of new vertex names to their bind= mappings; "
            f"got {variants!r}",
            location=location,
        )
    common: Mapping[str, Any] = options.get("bind", {})
    made = ExpandedVertices()
    for name, bind in variants.items():
        if not isinstance(bind, Mapping):
            raise InvalidVertexError(
                f"vertex.expand: the entry {name!r} takes a bind= mapping; got {bind!r}",
                vertex=name if isinstance(name, str) else None,
                location=location,
            )
        given = {**options, "bind": {**common, **bind}}
        made[name] = _made(fn, name, given, local_names, location)
    return made


_vertex.__name__ = _vertex.__qualname__ = "vertex"
_vertex.expand = _expand  # type: ignore[attr-defined]
vertex = cast(_Vertex, _vertex)
