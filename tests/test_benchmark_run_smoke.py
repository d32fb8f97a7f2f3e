"""``benchmarks/run.py --quick`` runs selected cells and writes JSON and Markdown (never timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Slow: benchmark scripts in subprocesses.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


def test_quick_cells_report_figures_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    completed = _run(
        "--quick",
        "--scenario",
        "chain-overhead,unbalanced",
        "--mode",
        "serial,thread",
        "--mode",
        "dask",
        "--json",
        str(path),
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

    assert report["quick"] is True
    assert list(report["modes"]) == ["serial", "thread", "dask"]
    assert list(report["cells"]) == ["chain-overhead", "unbalanced"]
    chain = report["cells"]["chain-overhead"]
    for mode in ("serial", "thread"):
        figures = chain[mode]["figures"]
        assert chain[mode]["status"] == "ok"
        assert figures["vertices"] == 1_000
        assert 0 < figures["run"]["min_s"] <= figures["run"]["median_s"] <= figures["run"]["max_s"]
        assert figures["ratio_to_direct"] > 0
    unbalanced = report["cells"]["unbalanced"]
    assert unbalanced["serial"]["status"] == "skipped"
    assert unbalanced["serial"]["reason"].startswith("n/a")
    assert unbalanced["thread"]["figures"]["ratio_to_ideal"] > 0
    # The dask mode is reported, never dropped: it ran, or it says why not.
    for row in report["cells"].values():
        assert row["dask"]["status"] == "ok" or row["dask"]["reason"].startswith("not available")
    assert report["targets"][0]["scenario"] == "unbalanced"
    assert report["targets"][0]["mode"] == "thread"
    assert all(isinstance(t["met"], bool) for t in report["targets"])
    # Across cells: thread's overhead against serial's (when serial's is above noise).
    base = chain["serial"]["figures"]["per_vertex_overhead_us"]
    if base > 0:
        ratio = chain["thread"]["figures"]["per_vertex_overhead_us"] / base
        assert [(t["scenario"], t["mode"]) for t in report["targets"][1:]] == [
            ("chain-overhead", "thread")
        ]
        assert report["targets"][1]["value"].startswith(f"{ratio:.1f}x")
        assert report["targets"][1]["met"] is (ratio <= 5)

    markdown = path.with_suffix(".md").read_text(encoding="utf-8")
    assert "| scenario | serial | thread | dask |" in markdown
    assert markdown in completed.stdout


def test_unknown_names_are_refused() -> None:
    completed = _run("--quick", "--scenario", "no-such-thing")
    assert completed.returncode != 0
    assert "unknown scenario no-such-thing" in completed.stderr
    completed = _run("--quick", "--mode", "threads")
    assert "unknown mode threads" in completed.stderr
