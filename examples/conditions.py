"""Conditional vertices: ``when=`` runs a vertex only when a value is truthy.

Run it from a checkout: ``python examples/conditions.py``.
"""

from __future__ import annotations

from typing import TypedDict

import flowdsl
from flowdsl import vertex


class Order(TypedDict):
    total: float
    express: bool


@vertex
def order(total: float, express: bool) -> Order:
    return {"total": total, "express": express}


@vertex
def needs_review(order: Order) -> bool:
    return order["total"] > 1000


@vertex(when="needs_review")
def review(order: Order) -> str:
    return f"reviewed {order['total']:.0f}"


@vertex(when="order.express")
def courier(order: Order) -> str:
    return "courier booked"


@vertex
def review_log(review: str) -> str:
    """No default: skipped whenever review is."""
    return f"logged: {review}"


@vertex
def summary(review: str | None = None, courier: str = "standard post") -> str:
    """Defaults stand in for branches that were skipped."""
    return f"{review or 'no review'}; {courier}"


def main() -> None:
    flow = flowdsl.Flow.from_functions(order, needs_review, review, courier, review_log, summary)
    for total, express in [(2500.0, True), (40.0, False)]:
        result = flow.run({"total": total, "express": express})
        print(f"order of {total:.0f} (express={express}):", result["summary"])
        for name, state in result.states.items():
            reason = result.skip_reasons.get(name)
            print(f"  {name}: {state}" + (f" ({reason})" if reason else ""))


if __name__ == "__main__":
    main()
