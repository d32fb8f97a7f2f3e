"""Report benchmark: writing a run's HTML report, its size, and opening it in Chromium.

For random layered graphs of 1,000 and 10,000 vertices run on worker threads
it measures ``result.report(path)`` (median of repetitions) and the file's
size, then opens each file in headless Chromium (Debian's ``chromium``,
driven by playwright) in a fresh page per repetition and takes the time
from navigation to the first frame drawn after the report's script ran (the
browser's own clock). Targets: at most 500 KB for 1,000 vertices, loaded
and drawn within 3 s for 10,000. Without playwright or a Chromium, the
browser column says why. It prints a table and writes every figure as JSON.

    python benchmarks/report.py [--quick] [--json PATH]
"""

from __future__ import annotations

import datetime
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import _graphs
from _timing import command_line, duration, machine, machine_line, measure, write_report

import flowdsl

SIZES = (1_000, 10_000)
MAX_BYTES_AT_1000 = 500_000
MAX_SECONDS_AT_10000 = 3.0
#: Repetitions of each measure: writing the report, and opening it.
FULL = {"write": 5, "open": 5}
QUICK = {"write": 2, "open": 2}
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRAWN = (
    "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame("
    "() => done(performance.now()))))"
)


def write_reports(directory: Path, repetitions: int) -> dict[int, dict[str, Any]]:
    """Per size: the report's size, the time ``result.report`` takes, and (not kept in
    the JSON: the folder is temporary) its path."""
    figures: dict[int, dict[str, Any]] = {}
    for size in SIZES:
        graph = _graphs.layered(size, directory)
        flow = flowdsl.Flow(flowdsl.compile(graph.module))
        result = flow.run(graph.inputs, backend="thread", max_workers=4)
        path = directory / f"layered-{size}.html"
        timing = measure(lambda path=path, result=result: result.report(path), repetitions)
        figures[size] = {"path": str(path), "bytes": path.stat().st_size, "write": timing}
    return figures


def open_in_chromium(paths: dict[int, str], repetitions: int) -> dict[int, Any] | str:
    """Per size: seconds from navigation to the first frame drawn, per repetition; or
    why no browser could be had."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    executable = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if executable is None:
        return "no Chromium on this machine (apt-get install chromium)"
    opened: dict[int, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        for size, path in paths.items():
            samples, errors = [], []
            for _ in range(repetitions):
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
                page.goto(Path(path).as_uri(), timeout=120_000)
                page.wait_for_selector("body[data-ready]", timeout=120_000)
                samples.append(page.evaluate(DRAWN) / 1000)
                page.close()
            opened[size] = {
                "median_s": statistics.median(samples),
                "min_s": min(samples),
                "max_s": max(samples),
                "samples_s": samples,
                "errors": errors,
            }
        browser.close()
    return opened


def main() -> None:
    args = command_line(__doc__, "report").parse_args()
    counts = QUICK if args.quick else FULL
    directory = Path(tempfile.mkdtemp(prefix="flowdsl-report-bench-"))
    written = write_reports(directory, counts["write"])
    opened = open_in_chromium({s: f["path"] for s, f in written.items()}, counts["open"])
    report = {
        "date": datetime.date.today().isoformat(),
        "quick": args.quick,
        "machine": machine(),
        "command": " ".join(["python", *sys.argv]),
        "written": {
            str(size): {k: v for k, v in figures.items() if k != "path"}
            for size, figures in written.items()
        },
        "opened": opened if isinstance(opened, str) else {str(s): o for s, o in opened.items()},
    }
    print(f"Measured {report['date']} on {machine_line(report)}.\n")
    print("| vertices | report written | file | loaded and drawn in Chromium |")
    print("| --- | --- | --- | --- |")
    for size, figures in written.items():
        browser = (
            opened
            if isinstance(opened, str)
            else f"{duration(opened[size]['median_s'])} [{duration(opened[size]['min_s'])}-"
            f"{duration(opened[size]['max_s'])}]"
        )
        print(
            f"| {size:,} | {duration(figures['write']['median_s'])} | "
            f"{figures['bytes'] / 1000:,.0f} KB | {browser} |"
        )
    size_met = written[1_000]["bytes"] <= MAX_BYTES_AT_1000
    print(f"\nTarget: at most 500 KB for 1,000 vertices: {'met' if size_met else 'NOT met'}")
    if not isinstance(opened, str):
        drawn_met = opened[10_000]["median_s"] <= MAX_SECONDS_AT_10000
        print(
            f"Target: 10,000 vertices loaded and drawn within 3 s: "
            f"{'met' if drawn_met else 'NOT met'} (median)"
        )
    write_report(report, args.json, "report")
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
