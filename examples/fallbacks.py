"""Fallbacks: when a vertex still fails after its retries, a stand-in answers.

Run it from a checkout: ``python examples/fallbacks.py``.
"""

from __future__ import annotations

import flowdsl
from flowdsl import vertex

LAST_KNOWN_PRICES = {"tea": 4.2, "coffee": 5.0}


def last_known_price(item: str) -> float:
    """Takes only the parameter it needs (a subset of the vertex's)."""
    return LAST_KNOWN_PRICES[item]


def list_price() -> float:
    return 9.99


@vertex(retries=1, fallback=[last_known_price, list_price])
def price(item: str, region: str) -> float:
    raise ConnectionError(f"pricing service down in {region}")


@vertex
def invoice(price: float, quantity: int) -> str:
    return f"{quantity} x {price:.2f} = {quantity * price:.2f}"


def main() -> None:
    flow = flowdsl.Flow.from_functions(price, invoice)

    result = flow.run({"item": "tea", "region": "eu", "quantity": 3})
    print(result["invoice"])
    metrics = result.metrics.vertices["price"]
    print("price: attempts", metrics.attempts, "- fallback used:", metrics.fallback)

    # The first fallback has no price for cocoa: the next one stands in.
    result = flow.run({"item": "cocoa", "region": "eu", "quantity": 1})
    print(result["invoice"], "- fallback used:", result.metrics.vertices["price"].fallback)
    step = result.lineage.trace("invoice").steps[0]
    print("lineage:", step.vertex, step.state, "via fallback", step.fallback)


if __name__ == "__main__":
    main()
