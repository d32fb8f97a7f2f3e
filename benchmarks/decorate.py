"""Decorating benchmark: what ``@vertex`` costs per function, bare and with options.

A module of 2,000 one-line functions (``def v_i(x_i: int) -> int``) is run in
four spellings: undecorated, ``@vertex``, ``@vertex(pure=True)`` and
``@vertex(pure=True, retries=2, timeout=1.0)``; a fifth module makes 2,000
vertices of one function with ``vertex.expand`` (a ``bind=`` constant each).
They run in alternating rounds of one
process (the module is a real file, compiled once, so that source lines are
read as an import reads them). A spelling's cost per function is its time
minus the undecorated module's, divided by the number of functions. The
table gives CPU time (the process's own, which the load of a shared machine
inflates less than wall time): the fastest round, and the median.

    python benchmarks/decorate.py [--quick] [--json PATH]
"""

from __future__ import annotations

import datetime
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

from _timing import command_line, machine, machine_line, measure_side_by_side, write_report

from flowdsl import vertex

SIZE = 2_000
FULL, QUICK = 31, 3
#: The decorator line of each spelling ("" : undecorated).
SPELLINGS = {
    "undecorated": "",
    "@vertex": "@vertex\n",
    "@vertex(pure=True)": "@vertex(pure=True)\n",
    "@vertex(pure=True, retries=2, timeout=1.0)": "@vertex(pure=True, retries=2, timeout=1.0)\n",
}


#: The spelling that makes every vertex of one function.
EXPANDED = "vertex.expand(fn, {name: {bind}, ...})"


def module_source(decorator: str) -> str:
    """``SIZE`` functions, each under ``decorator``."""
    return "".join(
        f"{decorator}def v_{i}(x_{i}: int) -> int:\n    return x_{i} + 1\n\n" for i in range(SIZE)
    )


def expanded_source() -> str:
    """``SIZE`` vertices made of one function by ``vertex.expand``."""
    return (
        "def shift(x: int, k: int) -> int:\n    return x + k\n\n"
        f"made = vertex.expand(shift, {{f'v_{{i}}': {{'k': i}} for i in range({SIZE})}})\n"
    )


def bench(quick: bool, directory: Path) -> dict[str, Any]:
    codes: dict[str, CodeType] = {}
    sources = {name: module_source(decorator) for name, decorator in SPELLINGS.items()}
    sources[EXPANDED] = expanded_source()
    for name, source in sources.items():
        path = directory / f"decorate_{len(codes)}.py"
        path.write_text(source, encoding="utf-8")
        codes[name] = compile(path.read_text(encoding="utf-8"), str(path), "exec")

    def run(code: CodeType) -> Callable[[], object]:
        return lambda: exec(code, {"__name__": "decorate_bench", "vertex": vertex})

    timings = measure_side_by_side(
        {name: run(code) for name, code in codes.items()}, QUICK if quick else FULL
    )
    base = timings["undecorated"]["cpu"]
    per_function = {
        name: {
            statistic: (timings[name]["cpu"][statistic] - base[statistic]) / SIZE * 1e6
            for statistic in ("min_s", "median_s")
        }
        for name in codes
        if name != "undecorated"
    }
    return {"timings": timings, "per_function_cpu_us": per_function}


def table(report: dict[str, Any]) -> str:
    lines = [
        f"@vertex on {SIZE:,} module-level functions, CPU µs per function over the "
        f"undecorated module ({machine_line(report)})",
        f"{'':46}{'fastest':>10}{'median':>10}",
    ]
    for name, cost in report["results"]["per_function_cpu_us"].items():
        lines.append(f"{name:46}{cost['min_s']:>10.2f}{cost['median_s']:>10.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = command_line(__doc__, "decorate").parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        results = bench(args.quick, Path(directory))
    report = {
        "benchmark": "decorate",
        "date": datetime.date.today().isoformat(),
        "quick": args.quick,
        "machine": machine(),
        "method": {
            "timer": "time.process_time (CPU) and time.perf_counter (wall), both kept",
            "statistics": "fastest and median round; the spellings alternate in each round",
            "size": SIZE,
        },
        "results": results,
    }
    print(table(report))
    write_report(report, args.json, "decorate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
