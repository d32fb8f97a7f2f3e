"""Run metrics: per-vertex timings and counts, and run totals (immutable values)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

__all__ = ["RunMetrics", "VertexMetrics"]


def _read_only(mapping: Mapping[str, VertexMetrics]) -> Mapping[str, VertexMetrics]:
    return MappingProxyType(dict(mapping))


@attrs.frozen
class VertexMetrics:
    """What one vertex cost: wall time of its call(s) in seconds, attempts, cache use.

    ``attempts`` counts calls of the vertex's function, retries included (and
    every element's and iteration's calls). ``iterations`` is how often a
    loop (``until=``) ran, ``elements`` how many elements a mapped vertex
    (``map_over=``) had, ``fallback`` the fallback that stood in for it; each
    ``None`` where it does not apply. ``waited`` is the time its calls
    spent waiting for a worker thread (0 for calls that need none).
    ``stop_wait`` is the time the run waited for its call to return after
    stopping it: a member of an atomic group on a worker thread, stopped by
    its timeout, a cancellation or a failure elsewhere, is interrupted (or,
    when its group's backend cannot interrupt, runs to its end) before the
    group rolls back (0 when it was not stopped). ``cache``
    is ``"hit"`` (the stored value was used, the function not called:
    ``attempts`` is 0), ``"miss"`` (computed and stored),
    ``"uncacheable"`` (pure, but a value or its code could not be
    fingerprinted) or ``None`` (not cached: not pure, or no cache).
    ``restored`` says that its output was loaded from the run's checkpoint
    (``resume=True``): it was not called, so ``duration`` and ``attempts``
    are 0.

    Examples:
        >>> from flowdsl import VertexMetrics
        >>> VertexMetrics(0.002, attempts=0, cache="hit").cache_hit
        True
    """

    duration: float
    attempts: int = 1
    cache: str | None = None
    iterations: int | None = None
    elements: int | None = None
    fallback: str | None = None
    waited: float = 0.0
    stop_wait: float = 0.0
    restored: bool = False

    @property
    def cache_hit(self) -> bool:
        """Whether the stored value was used instead of calling the function."""
        return self.cache == "hit"


@attrs.frozen
class RunMetrics:
    """Per-vertex metrics and run totals.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import vertex
        >>> @vertex
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> result = flowdsl.Flow.from_functions(double).run({"x": 2})
        >>> result.metrics.vertices["double"].attempts
        1
    """

    vertices: Mapping[str, VertexMetrics] = attrs.field(converter=_read_only)
    total: float
    started_at: float
    backend: str

    @property
    def vertex_time(self) -> float:
        """Sum of the vertices' wall times (above ``total`` when they overlapped)."""
        return sum(m.duration for m in self.vertices.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data, ready for ``json.dumps``."""
        return {
            "backend": self.backend,
            "started_at": self.started_at,
            "total": self.total,
            "vertex_time": self.vertex_time,
            "vertices": {
                name: {**attrs.asdict(m), "cache_hit": m.cache_hit}
                for name, m in self.vertices.items()
            },
        }

    def to_json(self) -> str:
        """``to_dict()`` as an indented JSON string."""
        return json.dumps(self.to_dict(), indent=2)

    def table(self) -> str:
        """A plain-text table: one row per vertex, slowest first, and the totals."""
        rows = sorted(self.vertices.items(), key=lambda item: -item[1].duration)
        width = max([len("vertex"), *(len(name) for name in self.vertices)])
        lines = [
            f"{'vertex':<{width}}  {'time (ms)':>10}  {'waited (ms)':>11}  attempts  "
            f"{'cache':>11}  notes"
        ]
        for name, m in rows:
            cache = m.cache or "-"
            lines.append(
                f"{name:<{width}}  {m.duration * 1e3:>10.3f}  {m.waited * 1e3:>11.3f}  "
                f"{m.attempts:>8}  {cache:>11}  {_notes(m)}".rstrip()
            )
        lines.append(f"{'total':<{width}}  {self.total * 1e3:>10.3f}  ({self.backend})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _notes(m: VertexMetrics) -> str:
    notes = []
    if m.elements is not None:
        notes.append(f"{m.elements} elements")
    if m.iterations is not None:
        notes.append(f"{m.iterations} iterations")
    if m.fallback is not None:
        notes.append(f"fallback {m.fallback}")
    if m.stop_wait:
        notes.append(f"stopped, returned after {m.stop_wait * 1e3:.3f} ms")
    if m.restored:
        notes.append("restored")
    return ", ".join(notes)
