"""Coming from Hamilton: ``@parameterize``, ``@extract_columns``, ``@config.when`` and ``@tag``.

A small shop's weekly numbers: a table of columns is loaded, its columns
become vertices, rolling averages come from one function, the tax rule
depends on the region, and tags select the reporting vertices. Run it from
a checkout: ``python examples/coming_from_hamilton.py [REGION]``.
"""

from __future__ import annotations

import sys

import flowdsl
from flowdsl import From, vertex

WEEKS = {
    "orders": [12, 15, 11, 18, 21, 19],
    "revenue": [340.0, 415.5, 298.0, 502.25, 610.0, 540.5],
}


# Hamilton: @extract_columns("orders", "revenue") on a function returning a DataFrame.
# Here unpack= names the columns; any output read with [key] works (a dict of
# lists here, a pandas DataFrame just as well).
@vertex(unpack=("orders", "revenue"))
def weekly(weeks: int) -> dict[str, list[float]]:
    """The last ``weeks`` weeks of the shop's table."""
    return {column: list(values[-weeks:]) for column, values in WEEKS.items()}


def rolling_mean(series: list[float], window: int) -> list[float]:
    """The mean of each window of ``window`` consecutive values (a plain function)."""
    return [sum(series[i - window : i]) / window for i in range(window, len(series) + 1)]


# Hamilton: @parameterize(revenue_avg_2=dict(series=source("revenue"), window=value(2)), ...)
# source(...) is From(...), value(...) is a constant.
averages = vertex.expand(
    rolling_mean,
    {
        f"{column}_avg_{window}": {"series": From(column), "window": window}
        for column in ("orders", "revenue")
        for window in (2, 3)
    },
    tags={"layer": "features"},
)


# Hamilton: @config.when(region="EU") / @config.when(region="US"), both named tax_rate.
@vertex(name="tax_rate", config={"region": "EU"})
def tax_rate_eu() -> float:
    return 0.20


@vertex(name="tax_rate", config={"region": ("US", "CA")})
def tax_rate_na() -> float:
    return 0.07


# Hamilton: @tag(owner="finance", report="weekly").
@vertex(tags={"owner": "finance", "report": "weekly"})
def net_revenue(revenue: list[float], tax_rate: float) -> float:
    return round(sum(revenue) * (1 - tax_rate), 2)


@vertex(tags={"owner": "growth", "report": "weekly"})
def order_trend(orders_avg_2: list[float]) -> float:
    return round(orders_avg_2[-1] - orders_avg_2[0], 2)


if __name__ == "__main__":
    region = sys.argv[1] if len(sys.argv) > 1 else "EU"
    flow = flowdsl.Flow.from_module(sys.modules[__name__], config={"region": region})
    result = flow.run({"weeks": 4})
    print("region:", region)
    print("revenue_avg_2:", result["revenue_avg_2"])
    print("orders_avg_3: ", result["orders_avg_3"])
    print("net_revenue:  ", result["net_revenue"])
    print("order_trend:  ", result["order_trend"])
    print("weekly report vertices:", flow.select(tags={"report": "weekly"}))
    print("feature vertices:      ", flow.select(tags={"layer": "features"}))
