"""A vertex's options, in the form they are stored: one record, shared by spec and node.

``@vertex(...)`` checks its keyword arguments into a ``VertexOptions``; the
compiled ``VertexNode`` holds that same record (``node.options``), and a new
vertex made from an existing one changes it with ``attrs.evolve``. Adding an
option means adding a field here, its keyword in ``flowdsl._dsl.VertexKeywords``
and its check in ``flowdsl._vertex_options``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import attrs

from .._groups import AtomicGroup
from .._mapping import MapOver
from .._policies import RetryPolicy

__all__ = ["CONTRACT_MODES", "ContractMode", "VertexOptions"]

ContractMode = Literal["strict", "warn", "off"]
CONTRACT_MODES: tuple[str, ...] = ("strict", "warn", "off")


@attrs.frozen(kw_only=True)
class VertexOptions:
    """What ``@vertex(...)`` was told, checked (see ``vertex`` for each option's meaning).

    >>> import flowdsl
    >>> from flowdsl import vertex
    >>> @vertex(pure=True, flows="daily")
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> options = flowdsl.compile(double).vertices["double"].options
    >>> options.pure, options.flows, options.timeout
    (True, ('daily',), None)
    """

    pure: bool = False
    flows: tuple[str, ...] = ()
    blocking: bool = False
    timeout: float | None = None
    contracts: ContractMode | None = None
    version: str | None = None
    # Resilience and control flow (design card 1.9); None: not used.
    retry: RetryPolicy | None = None
    fallbacks: tuple[Callable[..., Any], ...] = attrs.field(default=(), eq=False)
    when: str | Callable[..., Any] | None = attrs.field(default=None, eq=False)
    map_over: MapOver | None = None
    until: Callable[[Any], bool] | None = attrs.field(default=None, eq=False)
    max_iterations: int | None = None
    max_concurrency: int | None = None
    rate_limit: float | None = None
    group: AtomicGroup | None = attrs.field(default=None, eq=False)
    compensate: Callable[..., Any] | None = attrs.field(default=None, eq=False)
    # Parameters bound by vertex(fn, bind=...) (or a partial's arguments):
    # (parameter, From | Input | constant) pairs, in the order given.
    bind: tuple[tuple[str, Any], ...] = ()

    @property
    def bound(self) -> dict[str, Any]:
        """``bind`` as a dict: parameter to ``From``, ``Input`` or constant."""
        return dict(self.bind)


#: Every option at its default.
DEFAULT_OPTIONS = VertexOptions()
