"""What every benchmark script shares: how it times, where it writes, what machine it ran on."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import flowdsl

__all__ = [
    "RESULTS",
    "command_line",
    "duration",
    "machine",
    "machine_line",
    "measure",
    "measure_side_by_side",
    "summarize",
    "write_report",
]

#: Where the scripts write their JSON (not committed).
RESULTS = Path(__file__).resolve().parent / "results"


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of timing samples, in seconds."""
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "repetitions": len(samples),
    }


def measure(action: Callable[[], object], repetitions: int, warmup: int = 1) -> dict[str, Any]:
    """Time ``action``: ``warmup`` untimed calls, then ``repetitions`` timed ones.

    The garbage collector stays enabled; ``gc.collect()`` runs before each
    timed call so that one call does not pay for the garbage of the last.
    """
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repetitions):
        gc.collect()
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return {**summarize(samples), "warmup": warmup}


def measure_side_by_side(
    actions: dict[str, Callable[[], object]], repetitions: int, warmup: int = 1
) -> dict[str, dict[str, Any]]:
    """Time several actions in alternating rounds, so that a noisy neighbour hits them alike.

    Each round calls every action once, in an order rotated by one from the
    last round; ``warmup`` untimed rounds first. Returns ``measure``'s summary
    per action name, with ``cpu``: the same summary of the process's CPU time
    per call (on a machine shared with other work, wall time also counts the
    time the process waited for a core, and longer calls wait more often).
    """
    names = list(actions)
    for _ in range(warmup):
        for name in names:
            actions[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repetitions):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            actions[name]()
            samples[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: {**summarize(samples[name]), "warmup": warmup, "cpu": summarize(cpu[name])}
        for name in names
    }


def machine() -> dict[str, Any]:
    """Where the figures come from."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": sys.version,
        "implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "flowdsl": flowdsl.__version__,
    }


def machine_line(report: dict[str, Any]) -> str:
    """One line naming the Python and machine a report was measured on."""
    info = report["machine"]
    quick = "  [--quick]" if report.get("quick") else ""
    return (
        f"Python {info['python'].split()[0]} ({info['implementation']}) on {info['platform']}, "
        f"{info['cpu_count']} CPUs{quick}"
    )


def duration(seconds: float) -> str:
    """A readable duration: ``1.234 s``, ``12.34 ms``, ``123.4 µs`` or ``64 ns``."""
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def command_line(doc: str | None, name: str) -> argparse.ArgumentParser:
    """The options every script takes (``--quick``, ``--json PATH``); scripts may add more."""
    parser = argparse.ArgumentParser(description=(doc or name).split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    parser.add_argument(
        "--json",
        type=Path,
        help=f"where to write the JSON (default: benchmarks/results/{name}-<date>.json)",
    )
    return parser


def write_report(report: dict[str, Any], path: Path | None, name: str) -> Path:
    """Write ``report`` as JSON to ``path``, or to ``results/<name>-<report date>.json``.

    An empty ``name`` writes ``results/<report date>.json``.
    """
    stem = f"{name}-{report['date']}" if name else report["date"]
    target = path or RESULTS / f"{stem}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nJSON written to {target}")
    return target
