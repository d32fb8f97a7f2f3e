"""One function, many vertices: ``vertex(fn, bind=...)``, ``vertex.expand``, ``Input``, partials.

Run it from a checkout: ``python examples/reuse.py``.
"""

from __future__ import annotations

import functools

import flowdsl
from flowdsl import From, Input, vertex


@vertex
def visits(days: int) -> list[float]:
    """Daily visits: a made-up, steadily growing series."""
    return [100.0 + 10.0 * day for day in range(days)]


def lag(series: list[float], periods: int) -> list[float | None]:
    """A plain function: shift ``series`` right by ``periods`` days."""
    return [None] * periods + series[: len(series) - periods]


def scaled(series: list[float], factor: float) -> list[float]:
    return [value * factor for value in series]


# One new vertex: `lag` itself stays a plain function.
visits_lag_1 = vertex(lag, name="visits_lag_1", bind={"series": From("visits"), "periods": 1})

# Many at once, one per entry: a name and its bindings.
visits_lags = vertex.expand(
    lag, {f"visits_lag_{k}": {"series": From(visits), "periods": k} for k in (2, 3)}
)

# A flow input under another name, and a partial whose argument is a constant.
in_thousands = vertex(
    functools.partial(scaled, factor=0.001), name="in_thousands", bind={"series": Input("raw")}
)

if __name__ == "__main__":
    flow = flowdsl.Flow.from_functions(visits, visits_lag_1, visits_lags, in_thousands)
    result = flow.run({"days": 4, "raw": [1500.0, 2500.0]})
    for name in ("visits", "visits_lag_1", "visits_lag_2", "visits_lag_3", "in_thousands"):
        print(f"{name:13} {result[name]}")
    print("inputs:", sorted(flow.inputs))
    print("lag is still plain:", lag([1.0, 2.0], 1))
    constant = flow.vertices["visits_lag_2"].bindings[1]
    print("visits_lag_2 binds", constant.parameter, "=", constant.constant)
