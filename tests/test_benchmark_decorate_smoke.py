"""``benchmarks/decorate.py --quick`` runs and writes a complete report (never timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Slow: a benchmark script in a subprocess.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "decorate.py"


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    path = tmp_path / "decorate.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "@vertex(pure=True)" in completed.stdout
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert report["benchmark"] == "decorate"
    assert report["quick"] is True
    costs = report["results"]["per_function_cpu_us"]
    assert set(costs) == {
        "@vertex",
        "@vertex(pure=True)",
        "@vertex(pure=True, retries=2, timeout=1.0)",
    }
    for cost in costs.values():
        assert set(cost) == {"min_s", "median_s"}
    for timing in report["results"]["timings"].values():
        assert 0 < timing["min_s"] <= timing["median_s"]
