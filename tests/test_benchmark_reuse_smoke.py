"""``benchmarks/reuse.py --quick`` runs and writes a complete report (never timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Slow: a benchmark script in a subprocess.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reuse.py"


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    path = tmp_path / "reuse.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "warm run, per vertex" in completed.stdout
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert report["benchmark"] == "reuse"
    assert report["quick"] is True
    for what in ("make", "compile", "warm_serial_run"):
        for variant in ("decorated", "expanded"):
            timing = report["results"]["figures"][what][variant]
            assert 0 < timing["min_s"] <= timing["median_s"]
        assert report["results"]["ratios"][what] > 0
    assert report["targets"]["compile"]["description"].startswith("compiling 1000 expanded")
    warm = report["targets"]["warm_serial_run"]
    assert warm["description"].startswith("a warm serial run of the expanded chain")
    assert isinstance(warm["met"], bool)
    assert "target: a warm serial run" in completed.stdout
