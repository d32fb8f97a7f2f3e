"""A vertex's options, in the form they are stored: one record, shared by spec and node.

``@vertex(...)`` checks its keyword arguments into a ``VertexOptions``; the
compiled ``VertexNode`` holds that same record (``node.options``), and a new
vertex made from an existing one changes it with ``attrs.evolve``. Adding an
option means adding a field here, its keyword in ``flowdsl._dsl.VertexKeywords``
and its check in ``flowdsl._vertex_options``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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

    Examples:
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
    # Resilience and control flow; None: not used.
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
    # A config variant: (key, accepted values) pairs; the vertex exists only
    # when the compile config gives every key one of its values.
    config: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    # Parts of the output that become vertices of their own: True (every
    # field of a structured return), or the keys (or tuple positions) named.
    unpack: bool | tuple[str, ...] = False
    # Vertices this one runs after without reading them (names, or the
    # vertices themselves), and its metadata: (key, value) pairs.
    after: tuple[str | Callable[..., Any], ...] = ()
    tags: tuple[tuple[str, Any], ...] = ()

    @property
    def fallback_names(self) -> tuple[str, ...]:
        """Each fallback by its function's name (``last_known_price``, never a qualname
        such as ``build.<locals>.last_known_price``): what metrics, lineage and exports show."""
        return tuple(_name_of(fallback) for fallback in self.fallbacks)

    @property
    def bound(self) -> dict[str, Any]:
        """``bind`` as a dict: parameter to ``From``, ``Input`` or constant."""
        return dict(self.bind)

    def matches(self, config: Mapping[str, Any] | None) -> bool:
        """Whether a vertex with these options exists under the compile ``config``."""
        if not self.config:
            return True
        if config is None:
            return False
        return all(key in config and config[key] in accepted for key, accepted in self.config)

    @property
    def config_text(self) -> str:
        """The config this variant needs, as ``key='value'`` (or ``key in (...)``) pairs."""
        return ", ".join(
            f"{key}={accepted[0]!r}" if len(accepted) == 1 else f"{key} in {accepted!r}"
            for key, accepted in self.config
        )


def _name_of(function: Callable[..., Any]) -> str:
    name = getattr(function, "__name__", None)
    return name if isinstance(name, str) else repr(function)


#: Every option at its default.
DEFAULT_OPTIONS = VertexOptions()
