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
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, overload

import attrs
from typing_extensions import ParamSpec, TypedDict, Unpack

from . import _vertex_options as check
from ._groups import AtomicGroup
from ._location import SourceLocation
from ._model.options import DEFAULT_OPTIONS, ContractMode, VertexOptions
from ._policies import RetryPolicy
from .errors import InvalidVertexError

__all__ = ["VertexKeywords", "VertexSpec", "spec_of", "vertex"]

P = ParamSpec("P")
R = TypeVar("R")

_SPEC_ATTRIBUTE = "__flowdsl_vertex__"

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
    map_over: str | None
    until: Callable[[Any], bool] | None
    max_iterations: int | None
    max_concurrency: int | None
    rate_limit: float | None
    group: AtomicGroup | None
    compensate: Callable[..., Any] | None


@attrs.frozen(kw_only=True)
class VertexSpec:
    """What ``@vertex`` recorded about one function: its name, where, and its options."""

    function: Callable[..., Any]
    name: str
    options: VertexOptions = DEFAULT_OPTIONS
    location: SourceLocation
    # Names visible where the function was defined inside another function, so
    # that annotations naming local classes resolve at compile time.
    local_names: Mapping[str, Any] | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def is_async(self) -> bool:
        """Whether calling the function returns a coroutine."""
        return inspect.iscoroutinefunction(self.function)

    def __reduce__(self) -> tuple[Any, ...]:
        # A decorated function travels (to a Dask worker) without the names
        # around its definition: they served the compiler, and need not pickle.
        kept = {f.name: getattr(self, f.name) for f in attrs.fields(VertexSpec)}
        del kept["local_names"]
        return (functools.partial(VertexSpec, **kept), ())


def spec_of(obj: object) -> VertexSpec | None:
    """The ``VertexSpec`` of a decorated function, or ``None`` for anything else."""
    spec = getattr(obj, _SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, VertexSpec) else None


def _local_names(frame_depth: int) -> Mapping[str, Any] | None:
    frame = sys._getframe(frame_depth + 1)
    if frame.f_locals is frame.f_globals:
        return None
    return dict(frame.f_locals)


def _vertex_name(fn: Any, name: str | None) -> tuple[str, SourceLocation]:
    if not callable(fn):
        raise InvalidVertexError(f"@vertex takes a function; got {fn!r}, which is not callable")
    if not isinstance(fn, types.FunctionType):
        raise InvalidVertexError(
            f"@vertex takes a function defined with def or async def; got {fn!r}"
        )
    location = SourceLocation.of(fn)
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        raise InvalidVertexError(
            "a vertex returns one value; a generator function cannot be a vertex",
            vertex=fn.__name__,
            location=location,
        )
    if spec_of(fn) is not None:
        raise InvalidVertexError(
            "this function is already a vertex; decorate a separate function for a second vertex",
            vertex=fn.__name__,
            location=location,
        )
    vertex_name = fn.__name__ if name is None else name
    if vertex_name == "<lambda>":
        raise InvalidVertexError(
            "a lambda has no name; give it one with vertex(name='...')(lambda ...)",
            location=location,
        )
    if not isinstance(vertex_name, str) or not vertex_name.isidentifier():
        raise InvalidVertexError(
            f"a vertex name must be a Python identifier; got {vertex_name!r}", location=location
        )
    return vertex_name, location


def _make_spec(
    fn: Any, name: str | None, given: Mapping[str, Any], local_names: Mapping[str, Any] | None
) -> VertexSpec:
    vertex_name, location = _vertex_name(fn, name)
    options = check.checked_options(given, fn, check.Where(vertex_name, location))
    return VertexSpec(
        function=fn, name=vertex_name, options=options, location=location, local_names=local_names
    )


@overload
def vertex(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def vertex(
    *, name: str | None = None, **options: Unpack[VertexKeywords]
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def vertex(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    **options: Unpack[VertexKeywords],
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a function as a vertex of a dataflow graph.

    The function's parameters become its data bindings: a parameter named
    after another vertex receives that vertex's output, one annotated
    ``Annotated[T, From("u.field")]`` receives a field of it, and any other
    parameter is a flow input. The function itself is returned unchanged, so
    it still calls as a plain function.

    >>> from flowdsl import vertex
    >>> @vertex
    ... def normalize(name: str) -> str:
    ...     return name.strip().lower()
    >>> normalize(" Alice ")
    'alice'

    Args:
        name: the vertex name (default: the function's ``__name__``).
        pure: the result depends only on the inputs, so it may be cached
            (``run(cache=...)``).
        flows: names of the flows this vertex belongs to (``run(flow=...)``).
        blocking: under the async backend, run this sync function on a
            worker thread instead of on the event loop's thread.
        timeout: seconds the run waits for each call of this vertex before it
            fails with ``VertexTimeout``. A coroutine is cancelled at the
            deadline; a sync function runs on a worker thread so the run can
            stop waiting (a thread cannot be interrupted: it finishes in the
            background and its late result is discarded).
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
            list of results, in order.
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
        InvalidVertexError: ``fn`` is not a plain function, is a generator,
            is a lambda without ``name=``, or is already a vertex; or an
            option has a bad value.
    """
    local_names = _local_names(1)

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        setattr(function, _SPEC_ATTRIBUTE, _make_spec(function, name, options, local_names))
        return function

    return decorate if fn is None else decorate(fn)
