"""Seeing a run: a day's sales figures on worker threads, written up as an HTML report.

The price service fails every other call (the retry covers it), the revenue
is a pure vertex (the second run takes it from the cache), and the alert
runs only on a big day. ``python examples/run_report.py [FILE]`` writes the
second run's report to FILE (default: run.html in a new temporary folder)
and prints what it shows.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import flowdsl
from flowdsl import MemoryCache, RetryPolicy, vertex

calls = {"fetch_prices": 0}


@vertex
def load_orders(day: str) -> list[dict[str, float]]:
    time.sleep(0.03)  # reading the day's orders
    return [{"product": i % 20, "units": 1 + i % 3} for i in range(300)]


@vertex(retry=RetryPolicy(max_retries=3, delay=0.02))
def fetch_prices(day: str) -> dict[int, float]:
    calls["fetch_prices"] += 1
    time.sleep(0.1)  # asking the price service: the slow branch, by far
    if calls["fetch_prices"] % 2 == 1:
        raise ConnectionError("the price service did not answer")
    return {product: 2.0 + product / 4 for product in range(20)}


@vertex
def clean(load_orders: list[dict[str, float]]) -> list[dict[str, float]]:
    time.sleep(0.02)
    return [order for order in load_orders if order["units"] > 0]


@vertex(pure=True)
def revenue(clean: list[dict[str, float]], fetch_prices: dict[int, float]) -> float:
    time.sleep(0.03)
    return sum(order["units"] * fetch_prices[int(order["product"])] for order in clean)


@vertex
def order_count(clean: list[dict[str, float]]) -> int:
    return len(clean)


@vertex
def big_day(revenue: float) -> bool:
    return revenue > 10_000


@vertex(when="big_day")
def alert(revenue: float) -> str:
    return f"revenue {revenue:.2f}: tell the team"


@vertex
def summary(revenue: float, order_count: int) -> str:
    time.sleep(0.03)  # writing it up: the run's last step, beside the instant big_day
    return f"{order_count} orders, revenue {revenue:.2f}"


flow = flowdsl.Flow.from_functions(
    load_orders, fetch_prices, clean, revenue, order_count, big_day, alert, summary
)


def main(path: str) -> None:
    cache = MemoryCache()
    flow.run({"day": "2026-12-05"}, backend="thread", cache=cache)  # fills the cache
    result = flow.run({"day": "2026-12-05"}, backend="thread", cache=cache)
    print(result["summary"])
    timeline = result.timeline
    for name, state in result.states.items():
        calls = [span.outcome for span in timeline.spans if span.vertex == name]
        shown = "" if calls in ([], ["completed"]) else f" (calls: {', '.join(calls)})"
        print(f"  {name}: {state}{shown}")
    print("critical path:", " -> ".join(timeline.critical_path))
    print("report:", result.report(path).name)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(tempfile.mkdtemp()) / "run.html"))
