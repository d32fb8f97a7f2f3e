"""Scenarios on graphs of trivial vertices: per-vertex overhead, compile and run at scale.

``overhead_figures`` and ``bench_graph`` are the measuring pieces; flowdsl's
scenarios and the peers of ``compare.py`` all call them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import _graphs
from _modes import Mode
from _references import reference_loop
from _timing import measure, measure_side_by_side

import flowdsl

__all__ = [
    "CHAIN",
    "bench_graph",
    "chain_overhead",
    "layered",
    "layered_sizes",
    "loglog_slope",
    "overhead_figures",
]

#: Vertices of the chain whose per-vertex overhead is measured.
CHAIN = 1_000
#: Layered graph sizes: (repetitions of runs, compiles) per size, full and quick.
LAYERED_FULL = {100: (31, 5), 1_000: (15, 5), 10_000: (5, 3), 100_000: (3, 1)}
LAYERED_QUICK = {100: (5, 1), 1_000: (3, 1), 10_000: (2, 1)}


def overhead_figures(
    run: Callable[[], object],
    direct: Callable[[], object],
    size: int,
    repetitions: int,
    fixed: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """What ``run`` adds to ``direct`` (the same functions called directly), per vertex.

    ``fixed``, when given, is a one-vertex run of the same kind: subtracting it
    leaves the marginal cost of one more vertex.
    """
    direct_time = measure(direct, repetitions * 4)
    run_time = measure(run, repetitions, warmup=max(1, repetitions // 5))
    base = direct_time["median_s"]
    figures: dict[str, Any] = {
        "vertices": size,
        "run": run_time,
        "direct": direct_time,
        "per_vertex_overhead_us": (run_time["median_s"] - base) / size * 1e6,
        "per_vertex_overhead_us_range": [
            (run_time["min_s"] - base) / size * 1e6,
            (run_time["max_s"] - base) / size * 1e6,
        ],
        "per_vertex_run_us": run_time["median_s"] / size * 1e6,
        "ratio_to_direct": run_time["median_s"] / base,
    }
    if fixed is not None:
        one = measure(fixed, repetitions * 4)
        figures["fixed_per_run"] = one
        figures["marginal_per_vertex_us"] = (
            (run_time["median_s"] - one["median_s"] - base) / (size - 1) * 1e6
        )
    return figures


def chain_overhead(mode: Mode, quick: bool, directory: Path) -> dict[str, Any]:
    """Per-vertex overhead of ``mode`` on the 1,000-vertex chain, against direct calls."""
    graph = _graphs.chain(CHAIN, directory)
    flow = flowdsl.Flow(flowdsl.compile(graph.module))
    single = flowdsl.Flow(flowdsl.compile(_graphs.chain(1, directory).module))
    options = mode.options()
    x = graph.inputs[_graphs.INPUT]
    if flow.run(graph.inputs, **options)[graph.calls[-1].name] != graph.direct(x):
        raise RuntimeError("the chain computes the wrong value")
    return overhead_figures(
        lambda: flow.run(graph.inputs, **options),
        lambda: graph.direct(x),
        graph.size,
        3 if quick else 15,
        fixed=lambda: single.run(graph.inputs, **options),
    )


def bench_graph(
    graph: _graphs.BuiltGraph,
    repetitions: int,
    compiles: int,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Compile, first run, steady run, reference loop and direct calls of one graph.

    Checks first that flowdsl and the references agree. ``options`` are
    ``flow.run``'s keyword arguments (default: the serial defaults).
    """
    options = dict(options or {})
    last = graph.calls[-1].name
    x = graph.inputs[_graphs.INPUT]
    compiled_graphs: list[flowdsl.Graph] = []
    compile_time = measure(
        lambda: compiled_graphs.append(flowdsl.compile(graph.module)), compiles, warmup=0
    )
    compiled = compiled_graphs[-1]
    flow = flowdsl.Flow(compiled)
    expected = graph.direct(x)
    observed = (
        flow.run(graph.inputs, **options)[last],
        reference_loop(graph.calls, graph.inputs)[last],
    )
    if observed != (expected, expected):
        raise RuntimeError(f"{graph.label}: flowdsl and the reference loops disagree")

    # A fresh Flow per call: its first run builds and caches the plan.
    fresh = [flowdsl.Flow(compiled) for _ in range(compiles)]
    first_run = measure(lambda: fresh.pop().run(graph.inputs, **options), compiles, warmup=0)
    # Side by side: a load spike from a neighbour hits the run and its references alike.
    timings = measure_side_by_side(
        {
            "run": lambda: flow.run(graph.inputs, **options),
            "reference_loop": lambda: reference_loop(graph.calls, graph.inputs),
            "direct_calls": lambda: graph.direct(x),
        },
        repetitions,
        max(1, repetitions // 5),
    )
    run, reference, direct = timings["run"], timings["reference_loop"], timings["direct_calls"]
    return {
        "vertices": graph.size,
        "edges": graph.edges,
        "layers": graph.layers,
        "compile": compile_time,
        "first_run": first_run,
        "run": run,
        "reference_loop": reference,
        "direct_calls": direct,
        "ratio_run_to_reference": run["median_s"] / reference["median_s"],
        "ratio_reference_to_direct": reference["median_s"] / direct["median_s"],
        "per_vertex_overhead_us": (run["median_s"] - direct["median_s"]) / graph.size * 1e6,
        "per_vertex_run_us": run["median_s"] / graph.size * 1e6,
    }


def loglog_slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of log(y) against log(x): 1.0 is linear growth."""
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def layered_sizes(quick: bool) -> dict[int, tuple[int, int]]:
    """The sizes a layered run measures, with (repetitions, compiles) for each."""
    return LAYERED_QUICK if quick else LAYERED_FULL


def layered(
    mode: Mode, quick: bool, directory: Path, sizes: Sequence[int] | None = None
) -> dict[str, Any]:
    """Random layered graphs from 100 vertices up: compile, first run, run, references.

    The slope of run time against size on a log-log scale, from 1,000
    vertices up (below that the fixed cost of a run dominates), says whether
    run time grows linearly; the reference loop's slope, measured side by
    side, says how much of any excess is the machine's (caches, memory) rather
    than flowdsl's.
    """
    plan = layered_sizes(quick)
    chosen = {size: plan.get(size, (3, 1)) for size in (sizes or plan)}
    figures: dict[str, Any] = {}
    for size, (repetitions, compiles) in chosen.items():
        graph = _graphs.layered(size, directory)
        figures[str(size)] = bench_graph(graph, repetitions, compiles, mode.options())
    slopes = {}
    for measure_name in ("run", "reference_loop"):
        points = [(int(s), f[measure_name]["median_s"]) for s, f in figures.items()]
        points = [(size, seconds) for size, seconds in points if size >= 1_000]
        slopes[measure_name] = loglog_slope(points) if len(points) >= 2 else None
    return {
        "sizes": figures,
        "loglog_slope": slopes["run"],
        "reference_loop_loglog_slope": slopes["reference_loop"],
    }
