"""flowdsl beside Apache Hamilton, pipefunc and Dask on the same scenarios, one table.

Each (scenario, library) cell runs in a fresh process: flowdsl through the
scenario functions of ``run.py`` in the mode that matches, each peer the way
its documentation writes it (``_peers``). The table shows each library's
figure and the ratio flowdsl / peer (below 1: flowdsl is lower, so better);
where a peer cannot express a scenario, the cell says why. The peers come with
the ``bench`` extra: ``pip install -e '.[bench]'``.

    python benchmarks/compare.py [--quick] [--scenario NAME[,NAME]] [--peer NAME[,NAME]]
                                 [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime
import functools
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _modes
import _peers
from _markdown import table
from _processes import emit_figures, run_child
from _scenarios import concurrency, graphs, memory, services
from _timing import command_line, machine, machine_line, write_report

SCRIPT = Path(__file__).resolve()
TIMEOUT = {True: 300.0, False: 1800.0}
#: flowdsl's serial per-vertex overhead must be at least this many times lower than the
#: fastest peer's on the 1,000-chain.
OVERHEAD_FACTOR = 10.0

Figures = dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    """One row: flowdsl's scenario in one mode, and the figure every library is compared on."""

    name: str
    description: str
    scenario: Callable[..., Figures]
    mode: str
    metric: Callable[[Figures], float]
    unit: str

    def flowdsl(self, quick: bool, directory: Path) -> Figures:
        """flowdsl's figures for this row."""
        (mode,) = _modes.select([self.mode])
        return self.scenario(mode, quick, directory)


def _makespan_ms(f: Figures) -> float:
    return float(f["makespan"]["median_s"]) * 1e3


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "chain-overhead",
        "1,000-vertex chain, serial: per-vertex overhead (run - direct calls) / vertices "
        "(Dask: synchronous scheduler)",
        graphs.chain_overhead,
        "serial",
        lambda f: float(f["per_vertex_overhead_us"]),
        "µs/vertex",
    ),
    Comparison(
        "layered",
        "10,000-vertex random layered graph, serial: one run computing every vertex",
        functools.partial(graphs.layered, sizes=(10_000,)),
        "serial",
        lambda f: float(f["sizes"]["10000"]["run"]["median_s"]) * 1e3,
        "ms",
    ),
    Comparison(
        "fan-out-threads",
        "200 sync vertices sleeping 10 ms on 50 threads (ideal 40 ms): makespan",
        concurrency.fan_out,
        "thread",
        _makespan_ms,
        "ms",
    ),
    Comparison(
        "fan-out-async",
        "200 coroutine vertices sleeping 10 ms on asyncio (ideal 10 ms): makespan",
        concurrency.fan_out,
        "async-asyncio",
        _makespan_ms,
        "ms",
    ),
    Comparison(
        "unbalanced-threads",
        "100 ms then 1 ms beside 1 ms then 100 ms, threads (critical path 101 ms): makespan",
        concurrency.unbalanced,
        "thread",
        _makespan_ms,
        "ms",
    ),
    Comparison(
        "unbalanced-async",
        "the same branches as coroutines on asyncio: makespan",
        concurrency.unbalanced,
        "async-asyncio",
        _makespan_ms,
        "ms",
    ),
    Comparison(
        "many-async",
        "10,000 coroutine vertices sleeping 50 ms on asyncio: makespan of a second run",
        concurrency.many_async,
        "async-asyncio",
        _makespan_ms,
        "ms",
    ),
    Comparison(
        "cache-hit",
        "1,000-vertex chain of cacheable vertices, every vertex a hit: per-vertex time",
        services.cache_hit,
        "cache-on",
        lambda f: float(f["per_vertex_us"]),
        "µs/vertex",
    ),
    Comparison(
        "contracts-nested",
        "a list[dict[str, int]] of 10,000 dicts through two vertices, values checked",
        services.contracts_nested,
        "serial",
        lambda f: float(f["run"]["median_s"]) * 1e3,
        "ms",
    ),
    Comparison(
        "memory",
        "100 chained vertices of 10 MB, only the last requested: peak memory (tracemalloc)",
        memory.memory,
        "serial",
        lambda f: float(f["tracemalloc_peak_multiple"]["median"]),
        "x one output",
    ),
)
LIBRARIES = ("flowdsl", *_peers.PEERS)


def _names(values: Sequence[str] | None) -> list[str]:
    return [name for value in values or () for name in value.split(",") if name]


def _select(names: Sequence[str], known: Sequence[str], what: str) -> list[str]:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown {what} {', '.join(unknown)}; {what}s: {', '.join(known)}")
    return [name for name in known if name in names] if names else list(known)


def _by_name(name: str) -> Comparison:
    return next(c for c in COMPARISONS if c.name == name)


def _child(comparison: str, library: str, quick: bool) -> None:
    row = _by_name(comparison)
    if library == "flowdsl":
        emit_figures(lambda directory: row.flowdsl(quick, directory))
        return
    function = _peers.load(library).SCENARIOS[comparison]
    emit_figures(lambda directory: function(quick, directory))


def _peer_cell(comparison: str, peer: str, quick: bool) -> dict[str, Any]:
    reason = _peers.unavailable(peer)
    if reason is not None:
        return {"status": "skipped", "reason": reason}
    entry = _peers.load(peer).SCENARIOS[comparison]
    if isinstance(entry, str):
        return {"status": "skipped", "reason": entry}
    return _run(comparison, peer, quick)


def _run(comparison: str, library: str, quick: bool) -> dict[str, Any]:
    arguments = ["--child", comparison, library, *(["--quick"] if quick else [])]
    cell = run_child(SCRIPT, arguments, TIMEOUT[quick])
    print(
        f"  {comparison:<19} {library:<9} {cell['status']:<7} {cell.get('seconds', 0):6.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return cell


def measure_cells(
    comparisons: Sequence[str], peers: Sequence[str], quick: bool
) -> dict[str, dict[str, Any]]:
    """Every (comparison, library) cell; each row's metric and ratios added to its cells."""
    cells: dict[str, dict[str, Any]] = {}
    for name in comparisons:
        row = _by_name(name)
        cells[name] = {"flowdsl": _run(name, "flowdsl", quick)}
        cells[name].update({peer: _peer_cell(name, peer, quick) for peer in peers})
        for cell in cells[name].values():
            if cell["status"] == "ok":
                cell["metric"] = row.metric(cell["figures"])
        ours = cells[name]["flowdsl"].get("metric")
        for peer in peers:
            theirs = cells[name][peer].get("metric")
            if ours is not None and theirs:
                cells[name][peer]["ratio_flowdsl_to_peer"] = ours / theirs
    return cells


def overhead_target(cells: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """flowdsl's per-vertex overhead against the fastest peer's, when the row ran."""
    row = cells.get("chain-overhead", {})
    peers = {name: c["metric"] for name, c in row.items() if name != "flowdsl" and "metric" in c}
    if "metric" not in row.get("flowdsl", {}) or not peers:
        return None
    fastest = min(peers, key=peers.__getitem__)
    factor = peers[fastest] / row["flowdsl"]["metric"]
    return {
        "description": f"serial per-vertex overhead at least {OVERHEAD_FACTOR:g}x lower than "
        "the fastest peer on the 1,000-chain",
        "fastest_peer": fastest,
        "factor": factor,
        "value": f"{factor:.1f}x lower than {fastest}",
        "met": factor >= OVERHEAD_FACTOR,
    }


def _value(cell: dict[str, Any], unit: str) -> str:
    if cell["status"] != "ok":
        return str(cell["reason"]) if cell["status"] == "skipped" else f"failed: {cell['reason']}"
    value = cell["metric"]
    text = f"{value:.3g} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    ratio = cell.get("ratio_flowdsl_to_peer")
    return text if ratio is None else f"{text} (flowdsl/this {ratio:.2g})"


def markdown(report: dict[str, Any]) -> str:
    """The comparison as Markdown: one row per scenario, one column per library."""
    libraries = ["flowdsl", *report["peers"]]
    header = [
        "scenario",
        *(f"{lib} {report['versions'][lib]}" for lib in libraries),
    ]
    rows = [
        [name, *(_value(report["cells"][name][lib], _by_name(name).unit) for lib in libraries)]
        for name in report["cells"]
    ]
    lines = [
        f"Measured {report['date']} on {machine_line(report)}.",
        "",
        f"`{report['command']}`",
        "",
        table(header, rows),
        "",
        "Scenarios:",
        "",
        *(f"- `{name}`: {_by_name(name).description}" for name in report["cells"]),
    ]
    target = report.get("target")
    if target is not None:
        verdict = "met" if target["met"] else "**not met**"
        lines += ["", f"Target: {target['description']}: {target['value']} ({verdict})."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the selected cells, print the Markdown, write the JSON and the Markdown."""
    parser = command_line(__doc__, "compare")
    names = ", ".join(c.name for c in COMPARISONS)
    parser.add_argument("--scenario", action="append", metavar="NAME", help=f"only ({names})")
    parser.add_argument("--peer", action="append", metavar="NAME", help="only these peers")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child, args.quick)
        return 0
    comparisons = _select(_names(args.scenario), [c.name for c in COMPARISONS], "scenario")
    peers = _select(_names(args.peer), list(_peers.PEERS), "peer")
    versions = {"flowdsl": machine()["flowdsl"]}
    versions.update(
        {peer: "" if _peers.unavailable(peer) else _peers.version(peer) for peer in peers}
    )
    report: dict[str, Any] = {
        "benchmark": "compare",
        "date": datetime.date.today().isoformat(),
        "quick": args.quick,
        "command": shlex.join(["python", "benchmarks/compare.py", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "peers": peers,
        "versions": versions,
        "cells": measure_cells(comparisons, peers, args.quick),
    }
    report["target"] = overhead_target(report["cells"])
    text = markdown(report)
    print(text)
    path = write_report(report, args.json, "compare")
    path.with_suffix(".md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
