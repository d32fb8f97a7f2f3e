"""Per-vertex limits: at most N calls of one vertex at once, and at most R calls per second.

Run it from a checkout: ``python examples/rate_limits.py``.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time

import flowdsl
from flowdsl import vertex

lock = threading.Lock()
in_flight = {"now": 0, "peak": 0}
starts: list[float] = []


@vertex(map_over="user_ids", max_concurrency=3, rate_limit=20.0, blocking=True)
def profile(user_ids: int) -> str:
    """A sync API client: on worker threads, never more than 3 at once, 20 calls a second."""
    with lock:
        in_flight["now"] += 1
        in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        starts.append(time.monotonic())
    time.sleep(0.1)  # the API's latency
    with lock:
        in_flight["now"] -= 1
    return f"user-{user_ids}"


def main() -> None:
    flow = flowdsl.Flow.from_functions(profile)
    start = time.monotonic()
    result = flow.run({"user_ids": list(range(12))}, backend="thread", max_workers=10)
    elapsed = time.monotonic() - start
    print("profiles:", result["profile"][:3], "...", len(result["profile"]), "in all")
    print("never more than 3 calls at once:", in_flight["peak"] <= 3)
    # The 12th call may start no sooner than 11 intervals of 50 ms after the first.
    print("12 calls at 20 per second took at least 0.55 s:", elapsed >= 0.55)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    print(f"shortest gap between two starts: {min(gaps) * 1e3:.0f} ms", file=sys.stderr)


if __name__ == "__main__":
    main()
