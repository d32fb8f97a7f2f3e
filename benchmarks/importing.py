"""Importing benchmark: the CPU time a fresh process spends on flowdsl, over a bare interpreter.

Three programs, each run as ``python -c PROGRAM`` in a fresh process, in
alternating rounds with ``python -c pass`` (the bare interpreter):

- ``import``: ``import flowdsl``;
- ``script``: what a script that runs a small flow once loads and does:
  ``import flowdsl``, three ``@flowdsl.vertex`` functions, ``flowdsl.compile``,
  ``flowdsl.Flow`` and a serial run;
- ``public API``: ``import flowdsl`` and a read of every name of ``__all__``.

A program's cost is its process's CPU time (user + system, from the
children's resource usage) minus the bare interpreter's in the same round;
the table gives medians over the rounds, and how many modules each program
leaves in ``sys.modules`` beyond the bare interpreter's. ``--against PATH``
runs the same programs, in the same rounds, with the flowdsl of another
checkout first on ``sys.path`` (say, ``main`` before a change)::

    python benchmarks/importing.py [--quick] [--rounds N] [--against PATH] [--json PATH]

Every program runs once untimed first, so that both checkouts' bytecode is
written before the timed rounds (``PYTHONDONTWRITEBYTECODE`` is dropped from
the children's environment).
"""

from __future__ import annotations

import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from _markdown import table
from _timing import command_line, machine, machine_line, write_report

CHECKOUT = Path(__file__).resolve().parents[1]

SCRIPT = """\
import flowdsl

@flowdsl.vertex
def load(x: int) -> int:
    return x + 1

@flowdsl.vertex
def double(load: int) -> int:
    return 2 * load

@flowdsl.vertex
def total(load: int, double: int) -> int:
    return load + double

flow = flowdsl.Flow(flowdsl.compile(load, double, total))
assert flow.run({"x": 1})["total"] == 6
"""

#: The programs, by name; ``bare`` is the reference every other one is measured against.
PROGRAMS = {
    "bare": "pass",
    "import": "import flowdsl",
    "script": SCRIPT,
    "public API": "import flowdsl\nfor name in flowdsl.__all__:\n    getattr(flowdsl, name)",
}
#: Rounds by run kind (each round runs every program once per checkout).
ROUNDS = {True: 7, False: 31}


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _environment(checkout: Path) -> dict[str, str]:
    """This environment, with ``checkout`` first on the path and bytecode written and read
    (a measure of compiling the sources at every start would say little about a user's)."""
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def _run(program: str, checkout: Path) -> float:
    """Run ``program`` in a fresh interpreter with ``checkout`` first on the path; its CPU time."""
    before = _cpu_of_children()
    subprocess.run(
        [sys.executable, "-c", program], env=_environment(checkout), check=True, cwd=checkout
    )
    return _cpu_of_children() - before


def _modules(program: str, checkout: Path) -> dict[str, Any]:
    """The modules ``program`` leaves loaded, and the flowdsl it imported (a check of the path)."""
    report = (
        "\nimport json, sys\n"
        "origin = getattr(sys.modules.get('flowdsl'), '__file__', None)\n"
        "print(json.dumps([sorted(sys.modules), origin]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program + report],
        env=_environment(checkout),
        capture_output=True,
        text=True,
        check=True,
        cwd=checkout,
    )
    modules, origin = json.loads(completed.stdout.splitlines()[-1])
    return {"modules": modules, "origin": origin}


def measure(checkouts: dict[str, Path], rounds: int) -> dict[str, Any]:
    """Every program of every checkout, in ``rounds`` alternating rounds; medians over them."""
    cells = [(side, name) for side in checkouts for name in PROGRAMS]
    loaded = {}
    for side, name in cells:
        found = _modules(PROGRAMS[name], checkouts[side])
        if name != "bare" and Path(found["origin"]).parents[1] != checkouts[side]:
            raise RuntimeError(f"{side}: imported {found['origin']}, not {checkouts[side]}")
        loaded[side, name] = set(found["modules"])
    samples: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}
    for round_ in range(rounds):
        shift = round_ % len(cells)
        for side, name in cells[shift:] + cells[:shift]:
            samples[side, name].append(_run(PROGRAMS[name], checkouts[side]))
    figures: dict[str, Any] = {}
    for side in checkouts:
        bare = samples[side, "bare"]
        figures[side] = {"checkout": str(checkouts[side]), "programs": {}}
        for name in PROGRAMS:
            over = [
                cpu - reference for cpu, reference in zip(samples[side, name], bare, strict=True)
            ]
            new = loaded[side, name] - loaded[side, "bare"]
            figures[side]["programs"][name] = {
                "cpu_s": statistics.median(samples[side, name]),
                "over_bare_cpu_s": statistics.median(over),
                "over_bare_min_s": min(over),
                "over_bare_max_s": max(over),
                "modules_over_bare": len(new),
                "flowdsl_modules": sum(m == "flowdsl" or m.startswith("flowdsl.") for m in new),
                "modules": sorted(new),
            }
    return figures


def _table(figures: dict[str, Any]) -> str:
    rows = []
    for side, found in figures.items():
        for name, cell in found["programs"].items():
            if name == "bare":
                rows.append([side, name, f"{cell['cpu_s'] * 1e3:.1f} ms (itself)", "", ""])
                continue
            rows.append(
                [
                    side,
                    name,
                    f"{cell['over_bare_cpu_s'] * 1e3:.1f} ms",
                    f"{cell['over_bare_min_s'] * 1e3:.1f}-{cell['over_bare_max_s'] * 1e3:.1f} ms",
                    f"{cell['modules_over_bare']} ({cell['flowdsl_modules']} of flowdsl)",
                ]
            )
    header = ["checkout", "program", "CPU over bare (median)", "range", "modules over bare"]
    return table(header, rows)


def main() -> None:
    parse = command_line(__doc__, "importing")
    parse.add_argument("--rounds", type=int, help="alternating rounds (default 31; --quick 7)")
    parse.add_argument("--against", type=Path, help="another checkout, measured in the same rounds")
    options = parse.parse_args()
    checkouts = {"this": CHECKOUT}
    if options.against:
        checkouts = {"against": options.against.resolve(), "this": CHECKOUT}
    rounds = options.rounds or ROUNDS[options.quick]
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "quick": options.quick,
        "rounds": rounds,
        "programs": PROGRAMS,
        "figures": measure(checkouts, rounds),
    }
    print(machine_line(report))
    print(f"CPU time of each program over `python -c pass`, medians of {rounds} rounds\n")
    print(_table(report["figures"]))
    write_report(report, options.json, "importing")


if __name__ == "__main__":
    main()
