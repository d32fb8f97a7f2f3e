"""What a run tells its listeners: immutable events, and the ``Listener`` interface.

A listener is any object with some of the methods of ``Listener``; each is
optional, and each may be a plain method or a coroutine method. Events of
one run reach a listener one at a time, in the order they happened.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = [
    "CacheHit",
    "Event",
    "Listener",
    "RunEnded",
    "RunStarted",
    "VertexEnded",
    "VertexErrored",
    "VertexRetrying",
    "VertexSkipped",
    "VertexStarted",
]


@attrs.frozen(kw_only=True)
class Event:
    """Something that happened in run ``run_id`` at ``time`` (seconds since the epoch)."""

    run_id: str
    time: float


@attrs.frozen(kw_only=True)
class RunStarted(Event):
    """A run began: its backend and the vertices it plans to run, in order.

    Examples:
        >>> from flowdsl import RunStarted
        >>> RunStarted(run_id="1f", time=0.0, backend="serial", vertices=("a",)).vertices
        ('a',)
    """

    backend: str
    vertices: tuple[str, ...]


@attrs.frozen(kw_only=True)
class RunEnded(Event):
    """A run is over. ``outcome`` is ``"completed"``, ``"failed"``, ``"timed out"`` or
    ``"cancelled"``; the counts are of vertices.

    Examples:
        >>> from flowdsl import RunEnded
        >>> RunEnded(run_id="1f", time=0.0, duration=0.1, outcome="completed",
        ...          completed=3, failed=0, skipped=0).outcome
        'completed'
    """

    duration: float
    outcome: str
    completed: int
    failed: int
    skipped: int


@attrs.frozen(kw_only=True)
class VertexStarted(Event):
    """A call of ``vertex`` began: ``attempt`` counts its calls in this run (1, 2, ...).

    Examples:
        >>> from flowdsl import VertexStarted
        >>> VertexStarted(run_id="1f", time=0.0, vertex="save", attempt=1).attempt
        1
    """

    vertex: str
    attempt: int


@attrs.frozen(kw_only=True)
class VertexEnded(Event):
    """``vertex`` completed, ``duration`` seconds after it started (all its calls).

    Examples:
        >>> from flowdsl import VertexEnded
        >>> VertexEnded(run_id="1f", time=0.0, vertex="save", attempt=1, duration=0.5).duration
        0.5
    """

    vertex: str
    attempt: int
    duration: float


@attrs.frozen(kw_only=True)
class VertexErrored(Event):
    """``vertex`` failed with ``error`` (after its retries and fallbacks).

    Examples:
        >>> from flowdsl import VertexErrored
        >>> event = VertexErrored(run_id="1f", time=0.0, vertex="save", attempt=2,
        ...                       duration=0.1, error=ValueError("bad"))
        >>> type(event.error).__name__
        'ValueError'
    """

    vertex: str
    attempt: int
    duration: float
    error: BaseException = attrs.field(eq=False)


@attrs.frozen(kw_only=True)
class VertexRetrying(Event):
    """Call ``attempt`` of ``vertex`` failed with ``error``; the next starts in ``delay`` s.

    Examples:
        >>> from flowdsl import VertexRetrying
        >>> VertexRetrying(run_id="1f", time=0.0, vertex="fetch", attempt=1,
        ...                error=OSError(), delay=0.5).delay
        0.5
    """

    vertex: str
    attempt: int
    error: BaseException = attrs.field(eq=False)
    delay: float


@attrs.frozen(kw_only=True)
class VertexSkipped(Event):
    """``vertex`` was skipped, for ``reason``.

    Examples:
        >>> from flowdsl import VertexSkipped
        >>> VertexSkipped(run_id="1f", time=0.0, vertex="review",
        ...               reason="condition 'large' was false").reason
        "condition 'large' was false"
    """

    vertex: str
    reason: str


@attrs.frozen(kw_only=True)
class CacheHit(Event):
    """``vertex`` took its result from the cache instead of being called.

    Examples:
        >>> from flowdsl import CacheHit
        >>> CacheHit(run_id="1f", time=0.0, vertex="price").vertex
        'price'
    """

    vertex: str


class Listener:
    """What a run calls as things happen; subclass it, or write any object with some of
    these methods (plain or ``async``). The defaults do nothing.

    A listener that raises is logged (logger ``"flowdsl"``) and never breaks the run.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import Listener, vertex
        >>> class Printer(Listener):
        ...     def on_vertex_end(self, event):
        ...         print(event.vertex, "done")
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> flowdsl.Flow.from_functions(double).run({"x": 1}, listeners=[Printer()])["double"]
        double done
        2
    """

    def on_run_start(self, event: RunStarted) -> Any:
        """The run began."""

    def on_vertex_start(self, event: VertexStarted) -> Any:
        """A call of a vertex began."""

    def on_vertex_end(self, event: VertexEnded) -> Any:
        """A vertex completed."""

    def on_vertex_error(self, event: VertexErrored) -> Any:
        """A vertex failed."""

    def on_retry(self, event: VertexRetrying) -> Any:
        """A call failed and will be retried."""

    def on_skip(self, event: VertexSkipped) -> Any:
        """A vertex was skipped."""

    def on_cache_hit(self, event: CacheHit) -> Any:
        """A vertex's result came from the cache."""

    def on_run_end(self, event: RunEnded) -> Any:
        """The run is over."""
