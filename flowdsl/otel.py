"""OpenTelemetry tracing for flowdsl runs: one span per run, one per vertex attempt.

Needs the ``otel`` extra (``pip install "flowdsl[otel]"``, which installs
``opentelemetry-api``); spans go wherever the tracer provider sends them.

Examples:
    >>> import flowdsl
    >>> from flowdsl import vertex
    >>> from flowdsl.otel import OpenTelemetryListener
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    >>> exporter = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(exporter))
    >>> @vertex
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> flow = flowdsl.Flow.from_functions(double)
    >>> flow.run({"x": 2}, listeners=[OpenTelemetryListener(provider)])["double"]
    4
    >>> sorted(span.name for span in exporter.get_finished_spans())
    ['flowdsl.run', 'flowdsl.vertex double']
"""

from __future__ import annotations

import threading
from typing import Any

from ._events import (
    CacheHit,
    RunEnded,
    RunStarted,
    VertexEnded,
    VertexErrored,
    VertexRetrying,
    VertexSkipped,
    VertexStarted,
)

try:
    from opentelemetry import trace
    from opentelemetry.trace import Span, Status, StatusCode
except ImportError as missing:  # pragma: no cover - exercised without the extra only
    raise ImportError('flowdsl.otel needs OpenTelemetry: pip install "flowdsl[otel]"') from missing

__all__ = ["OpenTelemetryListener"]


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class OpenTelemetryListener:
    """A listener that records a span per run and a child span per vertex attempt.

    The run span (``flowdsl.run``) carries ``flowdsl.run_id``,
    ``flowdsl.backend`` and, at its end, ``flowdsl.outcome`` and the vertex
    counts. Each attempt of a vertex is a span ``flowdsl.vertex <name>`` with
    ``flowdsl.vertex``, ``flowdsl.attempt``, ``flowdsl.backend`` and
    ``flowdsl.cache_hit``; a failed attempt has an error status and the
    exception recorded. A skipped vertex is a span with ``flowdsl.skipped``
    and the reason.

    Args:
        tracer_provider: where spans go (default: the global provider).

    See the module's example.
    """

    def __init__(self, tracer_provider: Any = None) -> None:
        self._tracer = trace.get_tracer("flowdsl", tracer_provider=tracer_provider)
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[Span, str]] = {}
        self._open: dict[tuple[str, str], Span] = {}

    def _child(self, run_id: str, name: str, start: float, **attributes: Any) -> Span:
        run, backend = self._runs[run_id]
        return self._tracer.start_span(
            name,
            context=trace.set_span_in_context(run),
            start_time=_ns(start),
            attributes={"flowdsl.run_id": run_id, "flowdsl.backend": backend, **attributes},
        )

    def on_run_start(self, event: RunStarted) -> None:
        span = self._tracer.start_span(
            "flowdsl.run",
            start_time=_ns(event.time),
            attributes={
                "flowdsl.run_id": event.run_id,
                "flowdsl.backend": event.backend,
                "flowdsl.vertices": len(event.vertices),
            },
        )
        with self._lock:
            self._runs[event.run_id] = (span, event.backend)

    def on_vertex_start(self, event: VertexStarted) -> None:
        span = self._child(
            event.run_id,
            f"flowdsl.vertex {event.vertex}",
            event.time,
            **{
                "flowdsl.vertex": event.vertex,
                "flowdsl.attempt": event.attempt,
                "flowdsl.cache_hit": False,
            },
        )
        with self._lock:
            self._open[(event.run_id, event.vertex)] = span

    def _attempt(self, run_id: str, vertex: str, time: float, attempt: int) -> Span:
        # The open span of this vertex, or one made now (a cache hit has no call).
        with self._lock:
            span = self._open.pop((run_id, vertex), None)
        if span is None:
            span = self._child(
                run_id,
                f"flowdsl.vertex {vertex}",
                time,
                **{"flowdsl.vertex": vertex, "flowdsl.attempt": attempt},
            )
        return span

    def on_cache_hit(self, event: CacheHit) -> None:
        with self._lock:
            span = self._open.get((event.run_id, event.vertex))
        if span is None:
            span = self._child(
                event.run_id,
                f"flowdsl.vertex {event.vertex}",
                event.time,
                **{"flowdsl.vertex": event.vertex, "flowdsl.attempt": 0},
            )
            with self._lock:
                self._open[(event.run_id, event.vertex)] = span
        span.set_attribute("flowdsl.cache_hit", True)

    def on_vertex_end(self, event: VertexEnded) -> None:
        span = self._attempt(event.run_id, event.vertex, event.time, event.attempt)
        span.set_status(Status(StatusCode.OK))
        span.end(end_time=_ns(event.time))

    def _failed(self, span: Span, error: BaseException, time: float) -> None:
        span.record_exception(error, timestamp=_ns(time))
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.set_attribute("flowdsl.error", type(error).__name__)
        span.end(end_time=_ns(time))

    def on_retry(self, event: VertexRetrying) -> None:
        span = self._attempt(event.run_id, event.vertex, event.time, event.attempt)
        span.set_attribute("flowdsl.retry_delay", event.delay)
        self._failed(span, event.error, event.time)

    def on_vertex_error(self, event: VertexErrored) -> None:
        span = self._attempt(event.run_id, event.vertex, event.time, event.attempt)
        self._failed(span, event.error, event.time)

    def on_skip(self, event: VertexSkipped) -> None:
        span = self._child(
            event.run_id,
            f"flowdsl.vertex {event.vertex}",
            event.time,
            **{
                "flowdsl.vertex": event.vertex,
                "flowdsl.skipped": True,
                "flowdsl.skip_reason": event.reason,
            },
        )
        span.end(end_time=_ns(event.time))

    def on_run_end(self, event: RunEnded) -> None:
        with self._lock:
            run, _ = self._runs.pop(event.run_id)
            # Attempts still open (a cancelled or timed-out run) end with it.
            stale = [k for k in self._open if k[0] == event.run_id]
            spans = [self._open.pop(k) for k in stale]
        for span in spans:
            span.set_attribute("flowdsl.abandoned", True)
            span.end(end_time=_ns(event.time))
        run.set_attributes(
            {
                "flowdsl.outcome": event.outcome,
                "flowdsl.completed": event.completed,
                "flowdsl.failed": event.failed,
                "flowdsl.skipped": event.skipped,
            }
        )
        ok = event.outcome == "completed"
        run.set_status(
            Status(StatusCode.OK if ok else StatusCode.ERROR, None if ok else event.outcome)
        )
        run.end(end_time=_ns(event.time))
