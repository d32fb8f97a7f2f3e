"""Reuse benchmark: 1,000 vertices made by ``vertex.expand`` from one function against
1,000 separately decorated functions, measured side by side in one process.

Both flows are a chain of 1,000 trivial ``int -> int`` steps: ``v_i`` adds ``i``
to ``v_{i-1}``. The decorated flow has one function per vertex (a generated
module, ``return v_prev + i``); the expanded flow has one function,
``step(prev, k)``, bound 1,000 times with ``prev=From(...)`` and the constant
``k=i``. It times making the vertices (decorating, expanding), compiling, and
a warm serial run (contracts strict, the default: each ``k`` was checked when
the flow compiled, so a run checks ``prev`` and the result, as it does for a
decorated vertex), and reports each ratio expanded / decorated. It prints a
table and writes every figure as JSON.

    python benchmarks/reuse.py [--quick] [--json PATH]
"""

from __future__ import annotations

import datetime
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _graphs import import_path
from _timing import (
    command_line,
    duration,
    machine,
    machine_line,
    measure_side_by_side,
    write_report,
)

import flowdsl
from flowdsl import From, Input, vertex

SIZE = 1_000
#: The issue's targets, reported (never asserted).
COMPILE_TARGET = 1.2
#: "The same per vertex, within noise": the warm run's ratio on this shared machine.
WARM_RUN_TARGET = 1.1
FULL = {"make": 15, "compile": 15, "run": 31}
QUICK = {"make": 2, "compile": 2, "run": 3}
#: Warm runs per timed sample (a run of the chain takes about a millisecond).
RUNS_PER_SAMPLE = 10


def step(prev: int, k: int) -> int:
    return prev + k


def expanded() -> dict[str, Callable[..., Any]]:
    """The chain as one function made into ``SIZE`` vertices."""
    variants = {"v_0": {"prev": Input("x"), "k": 0}}
    variants.update({f"v_{i}": {"prev": From(f"v_{i - 1}"), "k": i} for i in range(1, SIZE)})
    return vertex.expand(step, variants)


def decorated_source() -> str:
    """The chain as ``SIZE`` decorated functions, one per vertex."""
    lines = ["from flowdsl import vertex\n", "@vertex\ndef v_0(x: int) -> int:\n    return x + 0\n"]
    lines += [
        f"@vertex\ndef v_{i}(v_{i - 1}: int) -> int:\n    return v_{i - 1} + {i}\n"
        for i in range(1, SIZE)
    ]
    return "\n".join(lines)


def bench(quick: bool) -> dict[str, Any]:
    plan = QUICK if quick else FULL
    source = decorated_source()
    code = compile(source, "<decorated chain>", "exec")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "reuse_bench_decorated.py"
        path.write_text(source, encoding="utf-8")
        module = import_path(path)
    family = expanded()

    def decorate() -> None:
        exec(code, {"__name__": "reuse_bench_fresh"})

    making = measure_side_by_side({"decorated": decorate, "expanded": expanded}, plan["make"])
    compiling = measure_side_by_side(
        {"decorated": lambda: flowdsl.compile(module), "expanded": lambda: flowdsl.compile(family)},
        plan["compile"],
    )
    flows = {
        "decorated": flowdsl.Flow.from_module(module),
        "expanded": flowdsl.Flow(flowdsl.compile(family)),
    }
    expected = sum(range(SIZE)) + 1
    for name, flow in flows.items():
        if flow.run({"x": 1})[f"v_{SIZE - 1}"] != expected:
            raise RuntimeError(f"the {name} chain computed the wrong value")

    def runs(flow: flowdsl.Flow) -> Callable[[], object]:
        return lambda: [flow.run({"x": 1}) for _ in range(RUNS_PER_SAMPLE)]

    running = measure_side_by_side(
        {name: runs(flow) for name, flow in flows.items()}, plan["run"], warmup=3
    )
    figures = {"make": making, "compile": compiling, "warm_serial_run": running}
    ratios = {
        what: timings["expanded"]["median_s"] / timings["decorated"]["median_s"]
        for what, timings in figures.items()
    }
    return {"figures": figures, "ratios": ratios}


def table(report: dict[str, Any]) -> str:
    figures, ratios = report["results"]["figures"], report["results"]["ratios"]
    lines = [
        f"reuse benchmark: a chain of {SIZE} vertices, medians ({machine_line(report)})",
        f"{'':22}{'decorated':>14}{'expanded':>14}{'ratio':>8}",
    ]
    for what, label in (("make", "make the vertices"), ("compile", "compile")):
        timings = figures[what]
        lines.append(
            f"{label:22}{duration(timings['decorated']['median_s']):>14}"
            f"{duration(timings['expanded']['median_s']):>14}{ratios[what]:>7.2f}x"
        )
    run = figures["warm_serial_run"]
    per_vertex = SIZE * RUNS_PER_SAMPLE
    lines.append(
        f"{'warm run, per vertex':22}{duration(run['decorated']['median_s'] / per_vertex):>14}"
        f"{duration(run['expanded']['median_s'] / per_vertex):>14}"
        f"{ratios['warm_serial_run']:>7.2f}x"
    )
    for target in report["targets"].values():
        verdict = "met" if target["met"] else "NOT met"
        lines.append(f"target: {target['description']}: {target['value']} -> {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = command_line(__doc__, "reuse")
    args = parser.parse_args(argv)
    results = bench(args.quick)
    ratio, warm = results["ratios"]["compile"], results["ratios"]["warm_serial_run"]
    report = {
        "benchmark": "reuse",
        "date": datetime.date.today().isoformat(),
        "quick": args.quick,
        "machine": machine(),
        "method": {
            "timer": "time.perf_counter",
            "gc": "enabled; gc.collect() before each timed call",
            "statistics": "median over repetitions; the two variants alternate in each round",
            "size": SIZE,
            "warm_runs_per_sample": RUNS_PER_SAMPLE,
        },
        "results": results,
        "targets": {
            "compile": {
                "description": (
                    f"compiling {SIZE} expanded vertices within {COMPILE_TARGET:g}x "
                    f"{SIZE} decorated ones"
                ),
                "value": f"{ratio:.2f}x",
                "met": ratio <= COMPILE_TARGET,
            },
            "warm_serial_run": {
                "description": (
                    f"a warm serial run of the expanded chain within {WARM_RUN_TARGET:g}x "
                    "the decorated one, per vertex"
                ),
                "value": f"{warm:.2f}x",
                "met": warm <= WARM_RUN_TARGET,
            },
        },
    }
    print(table(report))
    write_report(report, args.json, "reuse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
