"""Caching benchmark: what a cache hit costs, and what fingerprinting values costs.

1. A 1,000-vertex chain of trivial pure vertices, run serially: uncached
   (``cache=False``), cold (``cache=MemoryCache()`` freshly created: every
   vertex a miss, computed and stored) and warm (every vertex a hit); per-vertex
   cost of a hit and its ratio to the uncached run. The vertices are trivial
   on purpose: this measures flowdsl's bookkeeping, not the work a hit saves.
2. Fingerprinting a 10 MB ``bytes`` value, a 1,000,000-element list of ints,
   and a 1e7-element numpy array when numpy is installed.
3. Fingerprinting a 1,000,000-row, 10-column float64 pandas DataFrame, against
   pandas' own ``hash_pandas_object`` of the same frame in the same rounds
   (alternating, so a noisy neighbour hits both alike); the target is a ratio
   of at most 2. Skipped when pandas is not installed.

    python benchmarks/caching.py [--quick] [--json PATH]
"""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path
from typing import Any

import _modes
from _scenarios.services import cache_hit
from _timing import command_line, machine, measure, measure_side_by_side, write_report

from flowdsl._services.fingerprint import fingerprint_value


def cache_hits(directory: Path, quick: bool) -> dict[str, Any]:
    """Scenario 1: uncached, cold and warm runs of a 1,000-vertex pure chain (``run.py``'s)."""
    serial, cache_on = _modes.select(["serial", "cache-on"])
    uncached = cache_hit(serial, quick, directory)
    cached = cache_hit(cache_on, quick, directory)
    size = cached["vertices"]
    return {
        "vertices": size,
        "uncached": uncached["uncached"],
        "cold": cached["cold"],
        "warm": cached["warm"],
        "uncached_per_vertex_us": uncached["per_vertex_us"],
        "miss_per_vertex_us": cached["miss_per_vertex_us"],
        "hit_per_vertex_us": cached["per_vertex_us"],
        "hit_ratio_to_uncached": cached["warm"]["median_s"] / uncached["uncached"]["median_s"],
    }


def fingerprints(repetitions: int) -> dict[str, Any]:
    """Scenario 2: fingerprint cost of large values."""
    values: dict[str, Any] = {
        "bytes_10MB": bytes(10_000_000),
        "list_1e6_ints": list(range(1_000_000)),
    }
    try:
        import numpy
    except ImportError:
        skipped = "numpy is not installed"
    else:
        values["numpy_1e7_float64"] = numpy.arange(10_000_000, dtype=numpy.float64)
        skipped = ""
    rows: dict[str, Any] = {
        name: measure(lambda v=value: fingerprint_value(v), repetitions, warmup=1)
        for name, value in values.items()
    }
    if skipped:
        rows["numpy_1e7_float64"] = {"skipped": skipped}
    return rows


def frame_fingerprint(repetitions: int, quick: bool) -> dict[str, Any]:
    """Scenario 3: a numeric DataFrame's fingerprint against ``hash_pandas_object``."""
    try:
        import numpy
        import pandas
    except ImportError:
        return {"skipped": "pandas is not installed"}
    rows = 100_000 if quick else 1_000_000
    frame = pandas.DataFrame(
        numpy.random.default_rng(0).random((rows, 10)), columns=[f"c{i}" for i in range(10)]
    )
    timings = measure_side_by_side(
        {
            "fingerprint_value": lambda: fingerprint_value(frame),
            "hash_pandas_object": lambda: pandas.util.hash_pandas_object(frame),
        },
        repetitions,
    )
    ratio = timings["fingerprint_value"]["median_s"] / timings["hash_pandas_object"]["median_s"]
    return {"rows": rows, "columns": 10, **timings, "ratio": ratio, "target_ratio": 2.0}


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    hits = report["cache_hits"]
    lines = [
        f"1. {hits['vertices']}-vertex pure chain, serial "
        f"(median of {hits['warm']['repetitions']})",
        f"   uncached run            {hits['uncached']['median_s'] * 1e3:9.2f} ms"
        f"   {hits['uncached_per_vertex_us']:7.2f} us/vertex",
        f"   cold cache (all miss)   {hits['cold']['median_s'] * 1e3:9.2f} ms"
        f"   {hits['miss_per_vertex_us']:7.2f} us/vertex",
        f"   warm cache (all hit)    {hits['warm']['median_s'] * 1e3:9.2f} ms"
        f"   {hits['hit_per_vertex_us']:7.2f} us/vertex",
        f"   hit / uncached          {hits['hit_ratio_to_uncached']:9.2f} x",
        "2. fingerprint_value",
    ]
    for name, row in report["fingerprints"].items():
        if "skipped" in row:
            lines.append(f"   {name:<20} skipped: {row['skipped']}")
        else:
            lines.append(f"   {name:<20} {row['median_s'] * 1e3:9.2f} ms")
    frame = report["frame_fingerprint"]
    if "skipped" in frame:
        lines.append(f"3. DataFrame fingerprint skipped: {frame['skipped']}")
        return "\n".join(lines)
    lines += [
        f"3. {frame['rows']:,}-row, {frame['columns']}-column float64 DataFrame "
        f"(median of {frame['fingerprint_value']['repetitions']}, alternating)",
        f"   fingerprint_value       {frame['fingerprint_value']['median_s'] * 1e3:9.2f} ms",
        f"   hash_pandas_object      {frame['hash_pandas_object']['median_s'] * 1e3:9.2f} ms",
        f"   ratio                   {frame['ratio']:9.2f} x   (target <= {frame['target_ratio']})",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run both scenarios, print the table, write the JSON."""
    parser = command_line(__doc__, "caching")
    args = parser.parse_args(argv)
    repetitions = 2 if args.quick else 9
    with tempfile.TemporaryDirectory() as tmp:
        report = {
            "machine": machine(),
            "date": datetime.date.today().isoformat(),
            "cache_hits": cache_hits(Path(tmp), args.quick),
            "fingerprints": fingerprints(repetitions),
            "frame_fingerprint": frame_fingerprint(repetitions, args.quick),
        }
    print(table(report))
    write_report(report, args.json, "caching")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
