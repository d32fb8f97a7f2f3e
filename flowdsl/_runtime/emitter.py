"""Delivering one run's events to its listeners.

A run without listeners has no emitter at all: every emission site checks
``state.emitter is not None`` first, so the hot path pays one test.

Plain listener methods are called where the event happens (the scheduler's
thread or a worker thread), one event at a time under the emitter's lock, so
a listener needs no locking of its own. Coroutine methods are queued and
awaited in order by a delivery task on the run's event loop (a run with
one always has a loop). A listener that raises is logged, never propagated.
"""

from __future__ import annotations

import functools
import inspect
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._lazy import lazy_module
from .._suggest import did_you_mean
from ..errors import ArgumentTypeError
from .logs import logger

if TYPE_CHECKING:
    import anyio
    import anyio.to_thread

    from .. import _events as events
    from .._events import Event
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")
    # The event classes: imported by the first run with listeners.
    events = lazy_module("flowdsl._events")

__all__ = ["Emitter"]


@functools.cache
def hooks() -> dict[type[Event], str]:
    """The listener method each event calls."""
    return {
        events.RunStarted: "on_run_start",
        events.RunEnded: "on_run_end",
        events.VertexStarted: "on_vertex_start",
        events.VertexEnded: "on_vertex_end",
        events.VertexErrored: "on_vertex_error",
        events.VertexRetrying: "on_retry",
        events.VertexSkipped: "on_skip",
        events.CacheHit: "on_cache_hit",
    }


Handler = Callable[[Any], Any]


def _not_a_listener(index: int, listener: object) -> ArgumentTypeError:
    """The error for a listener that has none of the listener methods (a typo, or no listener)."""
    names = list(hooks().values())
    near = [
        f"{name}{did_you_mean(name, names).replace('; ', ' (')})"
        for name in dir(listener)
        if name.startswith("on_") and did_you_mean(name, names)
    ]
    has = f"; it has {', '.join(near)}" if near else ""
    return ArgumentTypeError(
        f"listeners[{index}] ({listener!r:.60}) has none of the listener methods "
        f"({', '.join(names)}){has}",
        argument="listeners",
    )


class Emitter:
    """The listeners of one run, by event type."""

    def __init__(self, listeners: Iterable[object], run_id: str) -> None:
        self.run_id = run_id
        by_kind = hooks()
        self._sync: dict[type[Event], list[Handler]] = {kind: [] for kind in by_kind}
        self._async: dict[type[Event], list[Handler]] = {kind: [] for kind in by_kind}
        for index, listener in enumerate(listeners):
            if not any(hasattr(listener, hook) for hook in by_kind.values()):
                raise _not_a_listener(index, listener)
            for kind, hook in by_kind.items():
                method = getattr(listener, hook, None)
                # A method left as Listener's own does nothing: no event is made for it.
                if method is None or getattr(type(listener), hook, None) is getattr(
                    events.Listener, hook
                ):
                    continue
                if not callable(method):
                    raise TypeError(f"listener {listener!r}: {hook} is not callable")
                target = self._async if inspect.iscoroutinefunction(method) else self._sync
                target[kind].append(method)
        self.has_async = any(self._async.values())
        # Whether anyone listens at all, and to vertex events (a run whose
        # listeners hear only its start and end keeps its fast path).
        self.listening = any(self._sync.values()) or self.has_async
        self.vertex_events = any(
            self._sync[kind] or self._async[kind]
            for kind in by_kind
            if kind not in (events.RunStarted, events.RunEnded)
        )
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Handler, Event] | None] = queue.SimpleQueue()

    def wants(self, kind: type[Event]) -> bool:
        """Whether any listener has a method for ``kind`` (else the event need not be made)."""
        return bool(self._sync[kind] or self._async[kind])

    def emit(self, event: Event) -> None:
        """Deliver ``event``: plain methods now, coroutine methods through the delivery task."""
        kind = type(event)
        for handler in self._async[kind]:
            self._queue.put((handler, event))
        handlers = self._sync[kind]
        if not handlers:
            return
        with self._lock:
            for handler in handlers:
                try:
                    handler(event)
                except Exception:
                    _log_failure(handler, event)

    # The events of the run's vertices, made only when someone listens.

    def vertex_started(self, vertex: str, attempt: int) -> None:
        """A call of ``vertex`` began."""
        if self.wants(events.VertexStarted):
            self.emit(
                events.VertexStarted(
                    run_id=self.run_id, time=time.time(), vertex=vertex, attempt=attempt
                )
            )

    def vertex_done(
        self, vertex: str, attempt: int, duration: float, error: BaseException | None
    ) -> None:
        """``vertex`` completed (``error`` is None) or failed."""
        now = time.time()
        if error is None:
            if self.wants(events.VertexEnded):
                self.emit(
                    events.VertexEnded(
                        run_id=self.run_id,
                        time=now,
                        vertex=vertex,
                        attempt=attempt,
                        duration=duration,
                    )
                )
        elif self.wants(events.VertexErrored):
            self.emit(
                events.VertexErrored(
                    run_id=self.run_id,
                    time=now,
                    vertex=vertex,
                    attempt=attempt,
                    duration=duration,
                    error=error,
                )
            )

    def retrying(self, vertex: str, attempt: int, error: BaseException, delay: float) -> None:
        """Call ``attempt`` of ``vertex`` failed; another follows after ``delay`` seconds."""
        if self.wants(events.VertexRetrying):
            self.emit(
                events.VertexRetrying(
                    run_id=self.run_id,
                    time=time.time(),
                    vertex=vertex,
                    attempt=attempt,
                    error=error,
                    delay=delay,
                )
            )

    def skipped(self, vertex: str, reason: str) -> None:
        """``vertex`` was skipped."""
        if self.wants(events.VertexSkipped):
            self.emit(
                events.VertexSkipped(
                    run_id=self.run_id, time=time.time(), vertex=vertex, reason=reason
                )
            )

    def cache_hit(self, vertex: str) -> None:
        """``vertex``'s result came from the cache."""
        if self.wants(events.CacheHit):
            self.emit(events.CacheHit(run_id=self.run_id, time=time.time(), vertex=vertex))

    async def deliver(self) -> None:
        """Await the coroutine methods in order until ``close``; run as a task beside the run."""
        while True:
            item = await anyio.to_thread.run_sync(self._queue.get, abandon_on_cancel=True)
            if item is None:
                return
            handler, event = item
            try:
                await handler(event)
            except Exception:
                _log_failure(handler, event)

    def close(self) -> None:
        """No more events: the delivery task returns once it has delivered the queued ones."""
        self._queue.put(None)


def _log_failure(handler: Handler, event: Event) -> None:
    logger.exception(
        "listener %s failed on %s; the run goes on",
        getattr(handler, "__qualname__", repr(handler)),
        type(event).__name__,
        extra={"run_id": event.run_id, "vertex": getattr(event, "vertex", None)},
    )
