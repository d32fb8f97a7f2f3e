"""Run every benchmark scenario on every execution mode, each in a fresh process.

Scenarios are listed in ``_scenarios``, modes in ``_modes``; a mode that
cannot run here (say, a backend flowdsl does not have yet) and a scenario that
does not apply to a mode are reported with the reason. Every cell repeats its
measure and keeps median, min and max. The report goes to
``benchmarks/results/<date>.json`` with a Markdown table beside it
(``<date>.md``), and the table is printed.

    python benchmarks/run.py [--quick | --large] [--scenario NAME[,NAME]]
                             [--mode NAME[,NAME]] [--json PATH]

``--large`` adds the largest sizes to the scenarios that have them
(``cold-path``: the 1,000,000-vertex graphs).
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _modes
import _scenarios
from _markdown import cell_text, table
from _processes import emit_figures, run_child
from _timing import command_line, machine, machine_line, write_report

SCRIPT = Path(__file__).resolve()
#: Seconds one cell may take before it is reported as failed.
TIMEOUT = {True: 300.0, False: 1800.0}


def _names(values: Sequence[str] | None) -> list[str]:
    return [name for value in values or () for name in value.split(",") if name]


def parser(doc: str | None = __doc__, name: str = "") -> argparse.ArgumentParser:
    """The command line: ``--quick``, ``--large``, ``--json``, ``--scenario``, ``--mode``."""
    parse = command_line(doc, name)
    parse.add_argument(
        "--large", action="store_true", help="also the largest sizes (cold-path: 1,000,000)"
    )
    scenarios = ", ".join(s.name for s in _scenarios.SCENARIOS)
    modes = ", ".join(m.name for m in _modes.MODES)
    parse.add_argument(
        "--scenario", action="append", metavar="NAME", help=f"only these ({scenarios})"
    )
    parse.add_argument("--mode", action="append", metavar="NAME", help=f"only these ({modes})")
    parse.add_argument("--child", nargs=2, metavar=("SCENARIO", "MODE"), help=argparse.SUPPRESS)
    return parse


def _child(scenario_name: str, mode_name: str, quick: bool, large: bool) -> None:
    (scenario,) = _scenarios.select([scenario_name])
    (mode,) = _modes.select([mode_name])
    extra = {"large": True} if large and scenario.has_large else {}
    emit_figures(lambda directory: scenario.run(mode, quick, directory, **extra))


def measure_cells(
    scenarios: Sequence[_scenarios.Scenario],
    modes: Sequence[_modes.Mode],
    quick: bool,
    large: bool = False,
) -> dict[str, dict[str, Any]]:
    """Every (scenario, mode) cell, each measured in its own process (or why it is not)."""
    reasons = {mode.name: _modes.unavailable(mode) for mode in modes}
    cells: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        row = cells[scenario.name] = {}
        for mode in modes:
            reason = reasons[mode.name] or scenario.skipped(mode)
            if reason:
                row[mode.name] = {"status": "skipped", "reason": reason}
                continue
            arguments = ["--child", scenario.name, mode.name]
            arguments += ["--quick"] if quick else ["--large"] if large else []
            row[mode.name] = run_child(SCRIPT, arguments, scenario.timeout or TIMEOUT[quick])
            print(
                f"  {scenario.name:<17} {mode.name:<14} {row[mode.name]['status']:<7}"
                f" {row[mode.name].get('seconds', 0):6.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return cells


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets each cell has, with the measured value and the verdict."""
    found = []
    for scenario in _scenarios.select(list(report["cells"])):
        for mode, cell in report["cells"][scenario.name].items():
            if cell["status"] == "ok":
                found += [
                    {"scenario": scenario.name, "mode": mode, **vars(target)}
                    for target in scenario.targets(cell["figures"])
                ]
    return found + _overhead_targets(report["cells"].get("chain-overhead", {}))


def _overhead_targets(row: dict[str, Any]) -> list[dict[str, Any]]:
    # A target across two cells of the chain: each concurrent mode's
    # per-vertex overhead within 5x the serial mode's, measured in the same run.
    serial = row.get("serial")
    if serial is None or serial["status"] != "ok":
        return []
    base = serial["figures"]["per_vertex_overhead_us"]
    if base <= 0:  # the run no slower than direct calls: noise, no ratio to take
        return []
    found = []
    for mode in _modes.select(list(row)):
        cell = row[mode.name]
        if not mode.concurrent or cell["status"] != "ok":
            continue
        overhead = cell["figures"]["per_vertex_overhead_us"]
        ratio = overhead / base
        found.append(
            {
                "scenario": "chain-overhead",
                "mode": mode.name,
                "description": "per-vertex overhead within 5x the serial backend's",
                "value": f"{ratio:.1f}x ({overhead:.2f} against {base:.2f} µs)",
                "met": ratio <= 5,
            }
        )
    return found


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the scenario x mode table, the targets, the legend."""
    modes = list(report["modes"])
    rows = [
        [name, *(cell_text(row[mode], scenario.summary) for mode in modes)]
        for scenario in _scenarios.select(list(report["cells"]))
        for name, row in [(scenario.name, report["cells"][scenario.name])]
    ]
    lines = [
        f"Measured {report['date']} on {machine_line(report)}.",
        "",
        f"`{report['command']}`",
        "",
        table(["scenario", *modes], rows),
    ]
    for scenario in _scenarios.select(list(report["cells"])):
        for mode, cell in report["cells"][scenario.name].items():
            if scenario.detail is not None and cell["status"] == "ok":
                lines += ["", f"{scenario.name} ({mode}):", "", scenario.detail(cell["figures"])]
    if report["targets"]:
        lines += ["", "Targets:", ""]
        lines.append(
            table(
                ["target", "mode", "measured", "met"],
                [
                    [t["description"], t["mode"], t["value"], "yes" if t["met"] else "**no**"]
                    for t in report["targets"]
                ],
            )
        )
    lines += ["", "Modes:", ""]
    lines += [f"- `{name}`: {info['description']}" for name, info in report["modes"].items()]
    lines += ["", "Scenarios:", ""]
    lines += [f"- `{s.name}`: {s.description}" for s in _scenarios.select(list(report["cells"]))]
    return "\n".join(lines) + "\n"


def main(
    argv: Sequence[str] | None = None,
    *,
    name: str = "",
    scenarios: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    doc: str | None = __doc__,
) -> int:
    """Measure the selected cells, print the Markdown, write the JSON and the Markdown.

    ``scenarios`` and ``modes`` are the defaults when the command line names none.
    """
    args = parser(doc, name).parse_args(argv)
    if args.child:
        _child(*args.child, args.quick, args.large)
        return 0
    chosen = _scenarios.select(_names(args.scenario) or scenarios)
    chosen_modes = _modes.select(_names(args.mode) or modes)
    script = Path(sys.argv[0]).name if argv is None else SCRIPT.name
    command = shlex.join(
        ["python", f"benchmarks/{script}", *(sys.argv[1:] if argv is None else argv)]
    )
    report: dict[str, Any] = {
        "benchmark": name or "run",
        "date": datetime.date.today().isoformat(),
        "quick": args.quick,
        "large": args.large,
        "command": command,
        "machine": machine(),
        "method": {
            "process": "each cell in a fresh Python process",
            "timer": "time.perf_counter; gc enabled, gc.collect() before each timed call",
            "statistics": "median, min and max over repetitions, after warm-up calls",
            "memory": "tracemalloc peak per run minus the allocations before it; "
            "peak RSS (VmHWM) growth of the cell's process",
        },
        "modes": {
            mode.name: {
                "description": mode.description,
                "options": mode.options(),
                "unavailable": _modes.unavailable(mode),
            }
            for mode in chosen_modes
        },
    }
    report["cells"] = measure_cells(chosen, chosen_modes, args.quick, args.large)
    report["targets"] = targets(report)
    text = markdown(report)
    print(text)
    path = write_report(report, args.json, name)
    path.with_suffix(".md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
