"""A pandas feature pipeline: schema contracts, checks that warn, caching, and to_frame.

::

    customers -> clean -+-> age_band -------+
                        +-> income_z -------+-> to_frame()
                        +-> spend_per_visit +
                        +-> mean_income ----+   (a scalar, repeated down its column)

The data is made up here, from a seeded random generator. Run it::

    python examples/feature_pipeline.py
"""

from __future__ import annotations

import warnings
from typing import Annotated

import numpy as np
import pandas as pd

import flowdsl
from flowdsl import Check, Columns, vertex

RAW = Columns({"age": int, "income": float | None, "visits": int, "spend": float})


@vertex
def customers(size: int = 8, seed: int = 7) -> pd.DataFrame:
    """Made-up customers; some incomes are missing, one spend is negative (a refund)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, size),
            "income": rng.normal(52_000, 15_000, size).round(-2),
            "visits": rng.integers(1, 20, size),
            "spend": rng.gamma(2.0, 40.0, size).round(2),
        },
        index=pd.Index([f"c{i:03d}" for i in range(size)], name="customer"),
    )
    frame.loc[frame.index[[2, 5]], "income"] = np.nan
    frame.loc[frame.index[4], "spend"] = -12.5
    return frame


@vertex(pure=True)
def clean(
    customers: Annotated[pd.DataFrame, RAW],
) -> Annotated[
    pd.DataFrame,
    Columns({"age": int, "income": float, "visits": int, "spend": float}),
]:
    """Missing incomes take the median; the frame leaves with no nulls (checked)."""
    return customers.assign(income=customers["income"].fillna(customers["income"].median()))


@vertex(pure=True)
def age_band(clean: pd.DataFrame) -> pd.Series:
    return pd.cut(clean["age"], [17, 30, 50, 80], labels=["18-30", "31-50", "51-80"])


@vertex(pure=True)
def income_z(
    clean: pd.DataFrame,
) -> Annotated[pd.Series, Check(lambda z: z.abs() < 3, "within 3 standard deviations")]:
    income = clean["income"]
    return ((income - income.mean()) / income.std()).round(3)


@vertex(pure=True)
def spend_per_visit(
    clean: pd.DataFrame,
) -> Annotated[pd.Series, Check(lambda s: s >= 0, "no negative spend", importance="warn")]:
    return (clean["spend"] / clean["visits"]).round(2)


@vertex(pure=True)
def mean_income(clean: pd.DataFrame) -> float:
    return float(clean["income"].mean().round(2))


flow = flowdsl.Flow.from_functions(
    customers, clean, age_band, income_z, spend_per_visit, mean_income
)

if __name__ == "__main__":
    store = flowdsl.MemoryCache()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", flowdsl.ContractWarning)
        result = flow.run(cache=store)
    features = result.to_frame(["age_band", "income_z", "spend_per_visit", "mean_income"])
    print(features)
    print()
    print("warnings:", *(str(w.message) for w in caught), sep="\n  ")
    print("checks:")
    for name, outcomes in result.checks.items():
        for outcome in outcomes:
            print(f"  {name}: {outcome.message!r} ({outcome.importance}):", end=" ")
            print("passed" if outcome.passed else f"failed at {outcome.path}: {outcome.actual}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flowdsl.ContractWarning)
        again = flow.run(cache=store)
    hits = sorted(n for n, m in again.metrics.vertices.items() if m.cache_hit)
    print("second run, from the cache:", ", ".join(hits))
    try:
        flow.run({"seed": 7}, overrides={"customers": features})
    except flowdsl.ContractViolation as error:
        print("a frame without the columns:", error.path, "|", error.actual)
