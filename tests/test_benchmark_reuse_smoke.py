"""``benchmarks/reuse.py --quick`` and ``benchmarks/decorate.py --quick`` run and write a
complete report (never timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Slow: a benchmark script in a subprocess.
pytestmark = pytest.mark.slow

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def quick_run(script: str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """What ``script --quick`` prints, and the report it writes."""
    path = tmp_path / "report.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert report["quick"] is True
    return completed.stdout, report


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    stdout, report = quick_run("reuse.py", tmp_path)
    assert "warm run, per vertex" in stdout
    assert report["benchmark"] == "reuse"
    for what in ("make", "compile", "warm_serial_run"):
        for variant in ("decorated", "expanded"):
            timing = report["results"]["figures"][what][variant]
            assert 0 < timing["min_s"] <= timing["median_s"]
        assert report["results"]["ratios"][what] > 0
    assert report["targets"]["compile"]["description"].startswith("compiling 1000 expanded")
    warm = report["targets"]["warm_serial_run"]
    assert warm["description"].startswith("a warm serial run of the expanded chain")
    assert isinstance(warm["met"], bool)
    assert "target: a warm serial run" in stdout


def test_the_decorating_benchmark_writes_every_figure(tmp_path: Path) -> None:
    stdout, report = quick_run("decorate.py", tmp_path)
    assert "@vertex(pure=True)" in stdout
    assert report["benchmark"] == "decorate"
    costs = report["results"]["per_function_cpu_us"]
    assert set(costs) == {
        "@vertex",
        "@vertex(pure=True)",
        "@vertex(pure=True, retries=2, timeout=1.0)",
        "vertex.expand(fn, {name: {bind}, ...})",
    }
    for cost in costs.values():
        assert set(cost) == {"min_s", "median_s"}
    for timing in report["results"]["timings"].values():
        assert 0 < timing["min_s"] <= timing["median_s"]
