"""The ``@vertex`` decorator: it records what a function is, and changes nothing else.

A decorated function stays the same function object (so it still calls,
pickles and type-checks as before); the decorator attaches a ``VertexSpec``
that the compiler reads.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar, overload

import attrs
from typing_extensions import ParamSpec

from ._location import SourceLocation
from .errors import InvalidVertexError

__all__ = ["VertexSpec", "spec_of", "vertex"]

ContractMode = Literal["strict", "warn", "off"]
CONTRACT_MODES: tuple[str, ...] = ("strict", "warn", "off")

P = ParamSpec("P")
R = TypeVar("R")

_SPEC_ATTRIBUTE = "__flowdsl_vertex__"


@attrs.frozen(kw_only=True)
class VertexSpec:
    """What ``@vertex`` recorded about one function."""

    function: Callable[..., Any]
    name: str
    pure: bool = False
    flows: tuple[str, ...] = ()
    blocking: bool = False
    timeout: float | None = None
    contracts: ContractMode | None = None
    version: str | None = None
    location: SourceLocation
    # Names visible where the function was defined inside another function, so
    # that annotations naming local classes resolve at compile time.
    local_names: Mapping[str, Any] | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def is_async(self) -> bool:
        """Whether calling the function returns a coroutine."""
        return inspect.iscoroutinefunction(self.function)


def spec_of(obj: object) -> VertexSpec | None:
    """The ``VertexSpec`` of a decorated function, or ``None`` for anything else."""
    spec = getattr(obj, _SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, VertexSpec) else None


def _flows_tuple(flows: object, vertex_name: str, location: SourceLocation) -> tuple[str, ...]:
    if isinstance(flows, str):
        names: tuple[Any, ...] = (flows,)
    elif isinstance(flows, Iterable) and not isinstance(flows, (bytes, bytearray)):
        names = tuple(flows)
    else:
        raise InvalidVertexError(
            f"flows= takes a flow name or an iterable of them; got {flows!r}",
            vertex=vertex_name,
            location=location,
        )
    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidVertexError(
                f"flows= takes non-empty strings; got {name!r}",
                vertex=vertex_name,
                location=location,
            )
    return names


def _local_names(frame_depth: int) -> Mapping[str, Any] | None:
    frame = sys._getframe(frame_depth + 1)
    if frame.f_locals is frame.f_globals:
        return None
    return dict(frame.f_locals)


def _make_spec(
    fn: Any,
    *,
    name: str | None,
    pure: bool,
    flows: Iterable[str] | str,
    blocking: bool,
    timeout: float | None,
    contracts: str | None,
    version: str | None,
    local_names: Mapping[str, Any] | None,
) -> VertexSpec:
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
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise InvalidVertexError(
            f"timeout= takes a positive number of seconds; got {timeout!r}",
            vertex=vertex_name,
            location=location,
        )
    if contracts is not None and contracts not in CONTRACT_MODES:
        raise InvalidVertexError(
            f"contracts= takes one of {', '.join(CONTRACT_MODES)}; got {contracts!r}",
            vertex=vertex_name,
            location=location,
        )
    if version is not None and not isinstance(version, str):
        raise InvalidVertexError(
            f"version= takes a string; got {version!r}", vertex=vertex_name, location=location
        )
    return VertexSpec(
        function=fn,
        name=vertex_name,
        pure=bool(pure),
        flows=_flows_tuple(flows, vertex_name, location),
        blocking=bool(blocking),
        timeout=None if timeout is None else float(timeout),
        contracts=contracts,  # type: ignore[arg-type]
        version=version,
        location=location,
        local_names=local_names,
    )


@overload
def vertex(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def vertex(
    *,
    name: str | None = None,
    pure: bool = False,
    flows: Iterable[str] | str = (),
    blocking: bool = False,
    timeout: float | None = None,
    contracts: ContractMode | None = None,
    version: str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def vertex(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    pure: bool = False,
    flows: Iterable[str] | str = (),
    blocking: bool = False,
    timeout: float | None = None,
    contracts: ContractMode | None = None,
    version: str | None = None,
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
        timeout: seconds the run waits for this vertex before it fails with
            ``VertexTimeout``. A coroutine is cancelled at the deadline; a sync
            function runs on a worker thread so the run can stop waiting (a
            thread cannot be interrupted: it finishes in the background and
            its late result is discarded).
        version: part of a pure vertex's cache key: change it when the result
            changes for a reason the code fingerprint cannot see (a helper
            reached through a module attribute, data read from a file).
        contracts: ``"strict"``, ``"warn"`` or ``"off"`` for this vertex's
            contract checks, whatever the run says (default: the run's mode).

    Raises:
        InvalidVertexError: ``fn`` is not a plain function, is a generator,
            is a lambda without ``name=``, or is already a vertex; or an
            option has a bad value.
    """
    if fn is not None:
        spec = _make_spec(
            fn,
            name=name,
            pure=pure,
            flows=flows,
            blocking=blocking,
            timeout=timeout,
            contracts=contracts,
            version=version,
            local_names=_local_names(1),
        )
        setattr(fn, _SPEC_ATTRIBUTE, spec)
        return fn

    local_names = _local_names(1)

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        spec = _make_spec(
            function,
            name=name,
            pure=pure,
            flows=flows,
            blocking=blocking,
            timeout=timeout,
            contracts=contracts,
            version=version,
            local_names=local_names,
        )
        setattr(function, _SPEC_ATTRIBUTE, spec)
        return function

    return decorate
