"""Coming from pipefunc: ``renames``, ``bound`` and tuple ``output_name`` in flowdsl.

A small sensor pipeline: readings are cleaned, split into a (low, high)
band, and scored against a threshold. Run it from a checkout:
``python examples/coming_from_pipefunc.py``.
"""

from __future__ import annotations

import flowdsl
from flowdsl import From, Input, vertex

READINGS = [18.5, 19.0, -999.0, 21.5, 22.0, 35.0]


def clean(values: list[float], sentinel: float) -> list[float]:
    """Drop the sensor's "no reading" sentinel value."""
    return [v for v in values if v != sentinel]


def band(values: list[float], width: float) -> tuple[float, float]:
    """A band around the median of ``values``: (low, high)."""
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    return median - width, median + width


def outliers(values: list[float], low: float, high: float) -> list[float]:
    return [v for v in values if not low <= v <= high]


# pipefunc: PipeFunc(clean, output_name="cleaned", renames={"values": "raw"},
#                   bound={"sentinel": -999.0})
cleaned = vertex(clean, name="cleaned", bind={"values": Input("raw"), "sentinel": -999.0})

# pipefunc: PipeFunc(band, output_name=("low", "high"), renames={"values": "cleaned"})
# A tuple output_name is unpack=: each position becomes a vertex of its own name.
limits = vertex(band, name="limits", bind={"values": From("cleaned")}, unpack=("low", "high"))

# pipefunc: PipeFunc(outliers, output_name="flagged", renames={"values": "cleaned"})
# low and high bind by name, to the unpacked vertices.
flagged = vertex(outliers, name="flagged", bind={"values": From(cleaned)})

if __name__ == "__main__":
    flow = flowdsl.Flow.from_functions(cleaned, limits, flagged)
    result = flow.run({"raw": READINGS, "width": 3.0})
    print("cleaned:", result["cleaned"])
    print("band:   ", result["low"], "to", result["high"], "(whole output:", result["limits"], ")")
    print("flagged:", result["flagged"])
    print("inputs: ", sorted(flow.inputs))
    print("plain functions still work:", clean([1.0, 0.0], 0.0), band([1.0, 2.0, 3.0], 0.5))
