"""Bounded loops: re-run a vertex on its own previous output until a predicate holds.

Run it from a checkout: ``python examples/loops.py``.
"""

from __future__ import annotations

from typing import Annotated

import flowdsl
from flowdsl import Previous, vertex


def converged(estimate: float) -> bool:
    return abs(estimate * estimate - 2.0) < 1e-12


@vertex(until=converged, max_iterations=20)
def sqrt2(guess: float, previous: Annotated[float | None, Previous()]) -> float:
    """Newton's method: the first call gets None, each later one the last output."""
    x = guess if previous is None else previous
    return (x + 2.0 / x) / 2.0


@vertex
def report(sqrt2: float) -> str:
    return f"sqrt(2) ~ {sqrt2:.12f}"


def main() -> None:
    flow = flowdsl.Flow.from_functions(sqrt2, report)
    result = flow.run({"guess": 1.0})
    print(result["report"])
    print("iterations:", result.metrics.vertices["sqrt2"].iterations)
    print("lineage:", result.lineage.trace("report").steps[0].iterations, "iterations of sqrt2")

    try:
        flow.run({"guess": 1e150})  # too far away to converge in 20 steps
    except flowdsl.IterationLimitError as error:
        print("gave up:", error.vertex, "after max_iterations =", error.max_iterations)


if __name__ == "__main__":
    main()
