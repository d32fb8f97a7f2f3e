"""``benchmarks/composition.py --quick`` runs and writes every figure (speed is never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "composition.py"


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    path = tmp_path / "composition.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "ThreadPoolExecutor + serial runs" in completed.stdout
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["benchmark"] == "composition"
    sweep = report["sweep"]
    assert sweep["flow.map"]["median_s"] > 0
    assert sweep["ThreadPoolExecutor"]["median_s"] > 0
    assert sweep["ratio"] > 0
    cost = report["subflow_cost"]
    assert set(cost["per_run_us"]) == {"sub-flow", "written in"}
