"""A 2-D map-reduce: ``map_over=product(...)`` over a grid, reduced row by row, then whole.

Run it from a checkout: ``python examples/grid_map_reduce.py``.
"""

from __future__ import annotations

from typing import NamedTuple

import flowdsl
from flowdsl import product, vertex


class Sample(NamedTuple):
    energy: float
    stable: bool


@vertex(pure=True, map_over=product("temperatures", "pressures"))
def simulate(temperatures: float, pressures: float) -> Sample:
    """One cell of the grid: called once per (temperature, pressure) pair."""
    energy = round(temperatures * 0.5 + pressures**2 / 10, 2)
    return Sample(energy, stable=energy < 20)


@vertex(map_over="simulate")
def row_mean(simulate: list[Sample]) -> float:
    """Mapped over the grid's outer list: one call per temperature."""
    return round(sum(s.energy for s in simulate) / len(simulate), 2)


@vertex
def stable_share(simulate: list[list[Sample]]) -> float:
    """Reads the grid unlisted: the whole list of lists at once."""
    cells = [s for row in simulate for s in row]
    return sum(s.stable for s in cells) / len(cells)


@vertex(map_over=("temperatures", "row_mean"))
def label(temperatures: float, row_mean: float) -> str:
    """Zipped: the i-th temperature with the i-th row's mean."""
    return f"T={temperatures:g}: mean energy {row_mean}"


def main() -> None:
    flow = flowdsl.Flow.from_functions(simulate, row_mean, stable_share, label)
    inputs = {"temperatures": [10.0, 20.0, 30.0], "pressures": [1.0, 5.0, 10.0, 12.0]}

    result = flow.run(inputs, backend="thread")
    print("grid shape:", len(result["simulate"]), "x", len(result["simulate"][0]))
    print("cell (1, 2):", result["simulate"][1][2])
    for line in result["label"]:
        print(line)
    print("stable share:", result["stable_share"])

    try:
        flow.run({**inputs, "pressures": [1.0, "high"]})
    except flowdsl.ContractViolation as error:
        print("bad cell:", error.parameter, "-", error.actual)

    try:
        flowdsl.Flow.from_functions(label).run({"temperatures": [1.0, 2.0], "row_mean": [3.0]})
    except flowdsl.ContractViolation as error:
        print("zip:", str(error).split(": ", 1)[1])


if __name__ == "__main__":
    main()
