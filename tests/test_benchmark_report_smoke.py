"""``benchmarks/report.py --quick`` runs and writes every figure (speed is never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Slow: a benchmark script in a subprocess, a report of 10,000 vertices and a browser.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "report.py"


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Target: at most 500 KB for 1,000 vertices" in completed.stdout
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["quick"] is True
    for size in ("1000", "10000"):
        figures = report["written"][size]
        assert figures["bytes"] > 0
        assert figures["write"]["repetitions"] == 2
    opened = report["opened"]
    if isinstance(opened, str):  # no browser here: the reason is the figure
        assert "playwright" in opened or "Chromium" in opened
    else:
        assert opened["10000"]["errors"] == []
        assert len(opened["10000"]["samples_s"]) == 2
