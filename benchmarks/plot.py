"""Turn a ``run.py`` results file into PNG charts (matplotlib, in the ``bench`` extra).

- ``overhead.png``: per-vertex overhead on the 1,000-vertex chain, per mode
  (bars: median; whiskers: from the fastest to the slowest repetition);
- ``makespan.png``: fan-out and unbalanced makespans as ratios, per mode, with
  the hand-written references beside flowdsl;
- ``scaling.png``: run time against graph size (random layered graphs), per
  mode, log-log, with a line of slope 1 (linear growth) for comparison.

A chart whose scenario is not in the file is left out.

    python benchmarks/plot.py RESULTS.json [--out DIRECTORY]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["main", "plot_makespan", "plot_overhead", "plot_scaling"]

SIZE = (6.4, 3.6)
DPI = 90


def _ran(report: dict[str, Any], scenario: str) -> dict[str, dict[str, Any]]:
    """The figures of every mode in which ``scenario`` ran."""
    row = report.get("cells", {}).get(scenario, {})
    return {mode: cell["figures"] for mode, cell in row.items() if cell["status"] == "ok"}


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def plot_overhead(report: dict[str, Any], directory: Path) -> Path | None:
    """Bars of per-vertex overhead per mode (whiskers beyond the axis are clipped)."""
    cells = _ran(report, "chain-overhead")
    if not cells:
        return None
    modes = list(cells)
    medians = [cells[m]["per_vertex_overhead_us"] for m in modes]
    ranges = [cells[m]["per_vertex_overhead_us_range"] for m in modes]
    low = [max(0.0, med - lo) for med, (lo, _) in zip(medians, ranges, strict=True)]
    high = [max(0.0, hi - med) for med, (_, hi) in zip(medians, ranges, strict=True)]
    figure, axes = plt.subplots(figsize=SIZE)
    axes.bar(modes, medians, yerr=[low, high], capsize=3, color="tab:blue")
    for x, value in enumerate(medians):
        axes.annotate(
            f"{value:.2f}", (x, value), xytext=(9, 2), textcoords="offset points", fontsize=8
        )
    axes.set_ylim(0, max(medians) * 2.2)
    axes.set_ylabel("µs per vertex (run - direct calls)")
    axes.set_title("Per-vertex overhead, 1,000-vertex chain (median; whiskers: min-max)")
    axes.tick_params(axis="x", labelrotation=20, labelsize=8)
    return _save(figure, directory / "overhead.png")


def plot_makespan(report: dict[str, Any], directory: Path) -> Path | None:
    """Fan-out (ratio to ideal) and unbalanced (ratio to the critical path), per mode."""
    panels = [(name, cells) for name in ("fan-out", "unbalanced") if (cells := _ran(report, name))]
    if not panels:
        return None
    references = sorted({r for _, cells in panels for f in cells.values() for r in f["references"]})
    labels = ["flowdsl", *references]
    colours = {label: f"C{index}" for index, label in enumerate(labels)}
    figure, axes_list = plt.subplots(
        1, len(panels), figsize=(SIZE[0] * 1.5, SIZE[1] * 1.2), squeeze=False
    )
    for axes, (name, cells) in zip(axes_list[0], panels, strict=True):
        modes = list(cells)
        width = 0.8 / len(labels)
        for index, label in enumerate(labels):
            values = [
                cells[m]["ratio_to_ideal"]
                if label == "flowdsl"
                else cells[m]["references"].get(label, {}).get("ratio_to_ideal", 0.0)
                for m in modes
            ]
            offsets = [x + (index - len(labels) / 2 + 0.5) * width for x in range(len(modes))]
            axes.bar(offsets, values, width, color=colours[label], label=label)
        axes.axhline(1.0, color="black", linewidth=0.8)
        axes.set_xticks(range(len(modes)), modes, rotation=20, fontsize=8)
        ideal = "critical path" if name == "unbalanced" else "ideal"
        axes.set_ylabel(f"makespan / {ideal}")
        axes.set_title(name)
    handles, names = axes_list[0][0].get_legend_handles_labels()
    figure.legend(handles, names, loc="lower center", ncol=3, fontsize=7)
    figure.tight_layout(rect=(0, 0.16, 1, 1))
    figure.savefig(directory / "makespan.png", dpi=DPI)
    plt.close(figure)
    return directory / "makespan.png"


def plot_scaling(report: dict[str, Any], directory: Path) -> Path | None:
    """Run time against graph size, per mode, log-log."""
    cells = _ran(report, "layered")
    if not cells:
        return None
    figure, axes = plt.subplots(figsize=SIZE)
    for mode, figures in cells.items():
        sizes = sorted(int(size) for size in figures["sizes"])
        times = [figures["sizes"][str(size)]["run"]["median_s"] for size in sizes]
        axes.plot(sizes, times, marker="o", label=mode)
    every = [int(s) for f in cells.values() for s in f["sizes"]]
    smallest, largest = min(every), max(every)
    serial = cells.get("serial") or next(iter(cells.values()))
    anchor = serial["sizes"][str(largest)]["run"]["median_s"]
    axes.plot(
        [smallest, largest],
        [anchor * smallest / largest, anchor],
        linestyle="--",
        color="grey",
        label="slope 1 (linear)",
    )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("vertices (random layered graph)")
    axes.set_ylabel("run time (s)")
    axes.set_title("Run time against graph size")
    axes.legend(fontsize=7)
    return _save(figure, directory / "scaling.png")


def main(argv: Sequence[str] | None = None) -> int:
    """Write every chart the results file has data for; print their paths."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a JSON file written by run.py")
    parser.add_argument("--out", type=Path, help="where to write the PNGs (default: beside it)")
    args = parser.parse_args(argv)
    report = json.loads(args.results.read_text(encoding="utf-8"))
    directory = args.out or args.results.parent
    directory.mkdir(parents=True, exist_ok=True)
    for chart in (plot_overhead, plot_makespan, plot_scaling):
        path = chart(report, directory)
        if path is not None:
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
