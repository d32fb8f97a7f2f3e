"""Listeners: watch a run as it goes, with plain or async methods.

Run it from a checkout: ``python examples/listeners.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import flowdsl
from flowdsl import Listener, VertexEnded, VertexRetrying, VertexStarted

sys.path.insert(0, str(Path(__file__).parent))
import pipeline


class Log(Listener):
    """Prints what happens (a real one would log or send metrics)."""

    def on_run_start(self, event: flowdsl.RunStarted) -> None:
        print(f"run of {len(event.vertices)} vertices on {event.backend}")

    def on_vertex_start(self, event: VertexStarted) -> None:
        print(f"  start {event.vertex} (attempt {event.attempt})")

    def on_vertex_end(self, event: VertexEnded) -> None:
        print(f"  end   {event.vertex}")

    def on_retry(self, event: VertexRetrying) -> None:
        print(f"  retry {event.vertex} after {type(event.error).__name__}")

    def on_run_end(self, event: flowdsl.RunEnded) -> None:
        print(f"run {event.outcome}: {event.completed} completed, {event.failed} failed")


class Counter:
    """Any object with some of the methods will do; coroutine methods are awaited."""

    def __init__(self) -> None:
        self.ended = 0

    async def on_vertex_end(self, event: VertexEnded) -> None:
        self.ended += 1


def main() -> None:
    flow = flowdsl.Flow.from_module(pipeline)
    counter = Counter()
    result = flow.run({"name": " Alice "}, listeners=[Log(), counter])
    print("save =", result["save"], "- the async listener counted", counter.ended, "vertices")


if __name__ == "__main__":
    main()
