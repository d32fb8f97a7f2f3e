"""The cold path: what a script that runs a graph once per process waits for.

For chains and random layered graphs of 1,000, 10,000 and 100,000 vertices
(1,000,000 with ``--large``), each measured in several fresh processes
(``_cold_process.py``; a cold path happens once per process):

- ``@vertex``: importing the flowdsl module of the graph minus importing the
  same functions undecorated (both from bytecode written beforehand, so
  neither pays Python's own compile);
- compile: ``Flow(flowdsl.compile(module))``;
- first run: the first ``flow.run`` (it builds and keeps the plan);
- warm run: later runs, timed in alternating rounds with the plain loop;
- plain loop: ``_references.reference_loop`` over the undecorated functions;
- peak memory: growth of the process's peak RSS over decorate, compile and
  the first run.

Per size, the median over the processes of every figure and of each
process's own ratios (cold total / plain loop, warm / plain loop); per shape,
the linear-scaling quotient: (per-vertex cost / per-vertex plain loop) at the
largest size over the same at 1,000.
"""

from __future__ import annotations

import py_compile
import statistics
import sys
from pathlib import Path
from typing import Any

import _graphs
from _markdown import table
from _modes import Mode
from _processes import run_child

__all__ = ["SHAPES", "cold_path", "cold_targets", "detail", "summary"]

SHAPES = ("chain", "layered")
#: Sizes, and fresh processes per size, by run kind.
SIZES = {
    "quick": {1_000: 1, 10_000: 1},
    "full": {1_000: 5, 10_000: 5, 100_000: 3},
    "large": {1_000: 5, 10_000: 5, 100_000: 3, 1_000_000: 1},
}
PROCESS = Path(__file__).resolve().parents[1] / "_cold_process.py"
#: The figures each process reports, in seconds (``peak_rss_growth`` in bytes).
FIGURES = ("vertex", "compile", "first_run", "cold_total", "warm_run", "plain_loop")
RATIOS = ("cold_to_plain", "warm_to_plain", "cold_to_plain_cpu", "warm_to_plain_cpu")
CPU = (
    "cold_total_cpu",
    "vertex_cpu",
    "compile_cpu",
    "first_run_cpu",
    "warm_run_cpu",
    "plain_loop_cpu",
)


def _spec(shape: str, size: int) -> _graphs.GraphSpec:
    return _graphs.chain_spec(size) if shape == "chain" else _graphs.layered_spec(size)


def write_modules(shape: str, size: int, directory: Path) -> None:
    """The graph's flowdsl and plain modules, with their bytecode, under ``directory``."""
    spec = _spec(shape, size)
    for dialect in ("flowdsl", "plain"):
        path = _graphs.write_source(spec, directory, dialect)
        py_compile.compile(str(path), doraise=True)


def _median_cell(samples: list[dict[str, Any]]) -> dict[str, Any]:
    cell: dict[str, Any] = {"vertices": samples[0]["vertices"], "processes": len(samples)}
    for name in (*FIGURES, *CPU, *RATIOS, "peak_rss_growth"):
        values = [sample[name] for sample in samples]
        cell[name] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    size = cell["vertices"]
    cell["per_vertex_us"] = {name: cell[name]["median"] / size * 1e6 for name in (*FIGURES, *CPU)}
    cell["peak_rss_per_vertex_bytes"] = cell["peak_rss_growth"]["median"] / size
    return cell


def _quotients(sizes: dict[str, Any]) -> dict[str, float] | None:
    # Per-vertex cost over the plain loop's, at the largest size over at 1,000.
    known = sorted(int(size) for size in sizes)
    if len(known) < 2 or known[0] != 1_000:
        return None
    small, large = sizes[str(known[0])], sizes[str(known[-1])]
    return {
        "to": known[-1],
        **{
            name: large[f"{name}_to_plain"]["median"] / small[f"{name}_to_plain"]["median"]
            for name in ("cold", "warm")
        },
        **{
            f"{name}_cpu": large[f"{name}_to_plain_cpu"]["median"]
            / small[f"{name}_to_plain_cpu"]["median"]
            for name in ("cold", "warm")
        },
    }


def cold_path(mode: Mode, quick: bool, directory: Path, large: bool = False) -> dict[str, Any]:
    """Every shape and size, each in fresh processes; medians and the scaling quotients."""
    plan = SIZES["quick" if quick else "large" if large else "full"]
    figures: dict[str, Any] = {"mode": mode.name, "shapes": {}}
    for shape in SHAPES:
        sizes: dict[str, Any] = {}
        for size, processes in plan.items():
            write_modules(shape, size, directory)
            arguments = [str(directory), shape, str(size), mode.name]
            samples = []
            for _ in range(processes):
                cell = run_child(PROCESS, arguments, timeout=3600)
                if cell["status"] != "ok":
                    raise RuntimeError(f"{shape} {size}: {cell['reason']}")
                samples.append(cell["figures"])
            sizes[str(size)] = _median_cell(samples)
            print(f"    cold-path {shape} {size:,} done", file=sys.stderr, flush=True)
        figures["shapes"][shape] = {"sizes": sizes, "quotients": _quotients(sizes)}
    return figures


def summary(f: dict[str, Any]) -> str:
    """The table cell: cold µs/vertex and ratio to the plain loop, chain 1k and layered 10k."""
    parts = []
    for shape, size in (("chain", "1000"), ("layered", "10000")):
        cell = f["shapes"][shape]["sizes"].get(size)
        if cell is not None:
            parts.append(
                f"{shape} {int(size):,}: cold {cell['per_vertex_us']['cold_total']:.1f} µs/vertex "
                f"({cell['cold_to_plain']['median']:.0f}x plain loop)"
            )
    return "; ".join(parts)


def detail(f: dict[str, Any]) -> str:
    """Every size of every shape: per-vertex figures, ratios, peak memory."""
    header = [
        "graph",
        "@vertex",
        "compile",
        "first run",
        "cold total",
        "warm run",
        "plain loop",
        "cold / plain",
        "warm / plain",
        "CPU: cold, / plain",
        "peak RSS growth",
    ]
    rows = []
    for shape, entry in f["shapes"].items():
        for size, cell in entry["sizes"].items():
            per = cell["per_vertex_us"]
            rows.append(
                [
                    f"{shape} {int(size):,} (x{cell['processes']})",
                    *(f"{per[name]:.2f} µs" for name in FIGURES),
                    f"{cell['cold_to_plain']['median']:.1f}x",
                    f"{cell['warm_to_plain']['median']:.2f}x",
                    f"{per['cold_total_cpu']:.2f} µs, {cell['cold_to_plain_cpu']['median']:.1f}x",
                    f"{cell['peak_rss_growth']['median'] / 2**20:,.0f} MiB "
                    f"({cell['peak_rss_per_vertex_bytes']:,.0f} B/vertex)",
                ]
            )
    cpu_rows = [
        [
            f"{shape} {int(size):,}",
            *(f"{cell['per_vertex_us'][name]:.2f} µs" for name in CPU),
        ]
        for shape, entry in f["shapes"].items()
        for size, cell in entry["sizes"].items()
    ]
    cpu_header = ["graph", "cold total", "@vertex", "compile", "first run", "warm", "plain loop"]
    lines = [
        "Per vertex, medians over fresh processes (wall time; CPU time of the cold path and "
        "its ratio to the plain loop's CPU time in the last column but one):",
        "",
        table(header, rows),
        "",
        "The same in CPU time (the process's own, which a shared machine inflates less):",
        "",
        table(cpu_header, cpu_rows),
    ]
    for shape, entry in f["shapes"].items():
        quotients = entry["quotients"]
        if quotients is not None:
            lines.append(
                f"\n{shape}: (per vertex / plain loop per vertex) at {quotients['to']:,} over "
                f"at 1,000: cold {quotients['cold']:.2f}x, warm {quotients['warm']:.2f}x "
                f"(CPU time: cold {quotients['cold_cpu']:.2f}x, warm {quotients['warm_cpu']:.2f}x)"
            )
    return "\n".join(lines)


def cold_targets(f: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The issue's cold-path targets: (description, measured value, met)."""
    found = []
    shapes = f["shapes"]
    layered = shapes["layered"]["sizes"].get("10000")
    if layered is not None:
        ratio = layered["cold_to_plain"]["median"]
        found.append(
            (
                "layered 10,000: @vertex + compile + first run within 15x the plain loop",
                f"{ratio:.1f}x ({layered['cold_total']['median']:.3f} s)",
                ratio <= 15,
            )
        )
    chain = shapes["chain"]["sizes"].get("1000")
    if chain is not None:
        per, ratio = chain["per_vertex_us"]["cold_total"], chain["cold_to_plain"]["median"]
        found.append(
            (
                "chain 1,000: cold at most 10 µs/vertex and within 25x the plain loop",
                f"{per:.1f} µs/vertex, {ratio:.1f}x",
                per <= 10 and ratio <= 25,
            )
        )
    for shape, entry in shapes.items():
        quotients = entry["quotients"]
        if quotients is not None:
            worst = max(quotients["cold"], quotients["warm"])
            found.append(
                (
                    f"{shape}: linear (quotient at {quotients['to']:,} at most 1.3x at 1,000)",
                    f"cold {quotients['cold']:.2f}x, warm {quotients['warm']:.2f}x",
                    worst <= 1.3,
                )
            )
    for shape, size in (("chain", "1000"), ("layered", "10000")):
        cell = shapes[shape]["sizes"].get(size)
        if cell is not None:
            ratio = cell["warm_to_plain"]["median"]
            found.append(
                (
                    f"{shape} {int(size):,}: warm run at most 2x the plain loop",
                    f"{ratio:.2f}x",
                    ratio <= 2,
                )
            )
    million = shapes["chain"]["sizes"].get("1000000")
    if million is not None:
        seconds = million["cold_total"]["median"]
        growth = million["peak_rss_growth"]["median"]
        found.append(
            (
                "chain 1,000,000: cold at most 30 s, peak memory growth at most 2 GB",
                f"{seconds:.1f} s, {growth / 1e9:.2f} GB",
                seconds <= 30 and growth <= 2e9,
            )
        )
    return found
