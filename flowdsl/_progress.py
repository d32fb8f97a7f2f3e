"""``run(progress=True)``: a live view of a run on stderr, built as a listener.

With rich installed (the ``progress`` extra) and stderr a terminal, a
progress bar; otherwise a plain line at most every few seconds and one at
the end, so output piped to a file or a CI log stays readable lines.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from ._events import (
    RunEnded,
    RunStarted,
    VertexEnded,
    VertexErrored,
    VertexSkipped,
    VertexStarted,
)

__all__ = ["SweepProgress", "progress_listener"]

#: Seconds between two plain progress lines.
PLAIN_INTERVAL = 2.0


class _Counts:
    """Completed, failed, skipped and running vertices of one run, and its start."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.failed = 0
        self.skipped = 0
        self.running: set[str] = set()
        self.started = time.monotonic()

    @property
    def finished(self) -> int:
        """Vertices that will not run any more: completed, failed or skipped."""
        return self.done + self.failed + self.skipped

    def line(self) -> str:
        # "done" counts only completed vertices: a failed or skipped one is not done.
        return (
            f"{self.done}/{self.total} vertices done, {len(self.running)} running, "
            f"{self.failed} failed, {self.skipped} skipped, "
            f"{time.monotonic() - self.started:.1f}s"
        )


class PlainProgress:
    """Writes ``flowdsl: <counts>`` lines to ``stream``: periodically, and once at the end.

    ``on_error`` is the run's mode: under ``"continue"`` a run whose vertices
    failed still returns its result, so its last line says it finished with
    errors, not that it failed.
    """

    def __init__(
        self, stream: TextIO, interval: float = PLAIN_INTERVAL, on_error: str = "raise"
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.on_error = on_error
        self.counts = _Counts()
        self.last = 0.0

    def _write(self, text: str) -> None:
        self.stream.write(f"flowdsl: {text}\n")
        self.stream.flush()

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._write(self.counts.line())

    def on_run_start(self, event: RunStarted) -> None:
        self.counts.total = len(event.vertices)
        self.last = time.monotonic()

    def on_vertex_start(self, event: VertexStarted) -> None:
        self.counts.running.add(event.vertex)
        self._tick()

    def on_vertex_end(self, event: VertexEnded) -> None:
        self.counts.running.discard(event.vertex)
        self.counts.done += 1
        self._tick()

    def on_vertex_error(self, event: VertexErrored) -> None:
        self.counts.running.discard(event.vertex)
        self.counts.failed += 1
        self._tick()

    def on_skip(self, event: VertexSkipped) -> None:
        self.counts.skipped += 1
        self._tick()

    def on_run_end(self, event: RunEnded) -> None:
        self._write(f"{_ending(event, self.on_error)}: {self.counts.line()}")


def _ending(event: RunEnded, on_error: str) -> str:
    if event.outcome == "failed" and on_error == "continue":
        return "run finished with errors"
    return f"run {event.outcome}"


class RichProgress(PlainProgress):
    """A rich progress bar on a terminal: the same counts, redrawn in place."""

    def __init__(self, stream: TextIO, on_error: str = "raise") -> None:
        super().__init__(stream, on_error=on_error)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.lock = threading.Lock()
        self.progress = Progress(
            TextColumn("flowdsl"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self.task: Any = None

    def _tick(self) -> None:
        counts = self.counts
        if self.task is not None:
            # The bar shows what is finished; the text what completed, failed or was skipped.
            self.progress.update(
                self.task,
                completed=counts.finished,
                detail=f"{counts.done}/{counts.total} done, {len(counts.running)} running, "
                f"{counts.failed} failed, {counts.skipped} skipped",
            )

    def on_run_start(self, event: RunStarted) -> None:
        super().on_run_start(event)
        self.progress.start()
        self.task = self.progress.add_task("run", total=len(event.vertices), detail="")

    def on_run_end(self, event: RunEnded) -> None:
        self._tick()
        self.progress.stop()


def progress_listener(stream: TextIO | None = None, on_error: str = "raise") -> PlainProgress:
    """The progress view for ``stream`` (default: stderr): a bar on a terminal with rich
    installed, plain lines otherwise. ``on_error`` is the run's mode."""
    stream = sys.stderr if stream is None else stream
    if stream.isatty():
        try:
            import rich  # noqa: F401
        except ImportError:
            return PlainProgress(stream, on_error=on_error)
        return RichProgress(stream, on_error=on_error)
    return PlainProgress(stream, on_error=on_error)


class SweepProgress:
    """``Flow.map(..., progress=True)``: runs done of the sweep, as plain lines on
    ``stream`` (periodically, and once when the last run ends)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.total = total
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self.last = self.started
        self.lock = threading.Lock()

    def on_run_end(self, event: RunEnded) -> None:
        with self.lock:
            self.done += 1
            self.failed += event.outcome != "completed"
            now = time.monotonic()
            if self.done < self.total and now - self.last < PLAIN_INTERVAL:
                return
            self.last = now
            self.stream.write(
                f"flowdsl: sweep {self.done}/{self.total} runs done, {self.failed} not "
                f"completed, {now - self.started:.1f}s\n"
            )
            self.stream.flush()
