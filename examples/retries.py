"""Retries: a flaky service call, retried with exponential backoff.

Run it from a checkout: ``python examples/retries.py``.
"""

from __future__ import annotations

import flowdsl
from flowdsl import RetryPolicy, vertex

# The "service" fails its first two calls in each run, then answers.
failures_left = {"rates": 0}


class ServiceUnavailable(ConnectionError):
    """What the flaky service raises."""


@vertex(retry=RetryPolicy(max_retries=3, delay=0.01, backoff=2.0, retry_on=(ConnectionError,)))
def rate(currency: str) -> float:
    if failures_left["rates"] > 0:
        failures_left["rates"] -= 1
        raise ServiceUnavailable("503 from the rates service")
    return {"EUR": 1.0, "USD": 1.08}[currency]


@vertex
def converted(rate: float, amount: float) -> float:
    return round(amount * rate, 2)


def main() -> None:
    flow = flowdsl.Flow.from_functions(rate, converted)

    failures_left["rates"] = 2
    result = flow.run({"amount": 100.0, "currency": "USD"})
    print("converted =", result["converted"])
    print("attempts of rate:", result.metrics.vertices["rate"].attempts)

    failures_left["rates"] = 10  # more failures than the policy allows
    try:
        flow.run({"amount": 100.0, "currency": "USD"})
    except flowdsl.VertexFailed as error:
        print("gave up:", error.vertex, "after", error.attempts, "attempts")
        print("last cause:", type(error.__cause__).__name__, error.__cause__)

    # A default policy for every vertex without its own: run(retry=...).
    failures_left["rates"] = 1
    result = flow.run({"amount": 5.0, "currency": "EUR"}, backend="thread", retry=1)
    print("converted =", result["converted"], "on threads")


if __name__ == "__main__":
    main()
