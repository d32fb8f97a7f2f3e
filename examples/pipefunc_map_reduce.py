"""A pipefunc-style 2-D map-reduce, a sweep over a third axis, and a nested sub-flow.

pipefunc spelling -> flowdsl spelling:

- ``mapspec="x[i], y[j] -> energy[i, j]"``  -> ``map_over=product("x", "y")``
- ``mapspec="x[i], y[i] -> z[i]"``         -> ``map_over=("x", "y")`` (zip)
- ``mapspec="energy[i, :] -> row[i]"``      -> ``map_over="energy"`` (over the outer list)
- ``energy[:, :] -> total`` (full reduce)  -> a parameter that reads ``energy`` unlisted
- ``pipeline.add_mapspec_axis("b", axis="k")`` -> ``flow.map([{..., "b": b} for b in ...])``
- ``NestedPipeFunc([f, g])``               -> ``flowdsl.Flow.from_functions(f, g).as_vertex(...)``

Run it from a checkout: ``python examples/pipefunc_map_reduce.py``.
"""

from __future__ import annotations

from typing import NamedTuple

import flowdsl
from flowdsl import From, product, vertex


class Cell(NamedTuple):
    """pipefunc would return a tuple with ``output_name=("energy", "converged")``."""

    energy: float
    converged: bool


@vertex(pure=True, map_over=product("x", "y"))
def simulate(x: float, y: float, b: float) -> Cell:
    """One call per (x, y) pair; ``b`` is not mapped: every call gets it whole."""
    energy = round(x * x + b * y, 3)
    return Cell(energy, converged=energy < 10)


@vertex(map_over="simulate")
def row_min(simulate: list[Cell]) -> float:
    """A reduction over the inner axis: one call per x (the grid's outer list)."""
    return min(cell.energy for cell in simulate)


@vertex
def converged_share(simulate: list[list[Cell]]) -> float:
    """A full reduction: reads the whole grid."""
    cells = [cell for row in simulate for cell in row]
    return round(sum(cell.converged for cell in cells) / len(cells), 3)


# A NestedPipeFunc: two steps made one vertex of the flow that holds them.
@vertex
def spread(row_min: list[float]) -> float:
    return max(row_min) - min(row_min)


@vertex
def summary(spread: float, converged_share: float) -> str:
    return f"spread {spread:g}, converged {converged_share:.0%}"


REPORT = flowdsl.Flow.from_functions(spread, summary)

grid = flowdsl.Flow.from_functions(
    simulate,
    row_min,
    converged_share,
    REPORT.as_vertex(
        "report",
        bind={"row_min": From("row_min"), "converged_share": From("converged_share")},
        outputs="summary",
    ),
)


def main() -> None:
    inputs = {"x": [0.0, 1.0, 2.0, 3.0], "y": [0.5, 1.5, 2.5], "b": 2.0}
    result = grid.run(inputs, backend="thread")
    print("energy[i, j] shape:", len(result["simulate"]), "x", len(result["simulate"][0]))
    print("energy[2, 1]:", result["simulate"][2][1].energy)
    print("row_min[i]:", result["row_min"])
    print("report:", result["report.summary"])

    # add_mapspec_axis("b"): the whole pipeline once per value of b, as a sweep.
    # simulate is pure: a pair with the same x, y and b is computed once.
    sweep = grid.map([{**inputs, "b": b} for b in (0.5, 1.0, 2.0)], backend="thread")
    for b, run in zip((0.5, 1.0, 2.0), sweep, strict=True):
        print(f"b={b}:", run["report.summary"])


if __name__ == "__main__":
    main()
