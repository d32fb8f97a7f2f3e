"""``benchmarks/core.py --quick`` runs and writes a complete report (speed is never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Slow: benchmark scripts in subprocesses.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "core.py"
MEASURES = ("compile", "first_run", "run", "reference_loop", "direct_calls")
SIZES = {"chain-1000": 1_000, "layered-10000": 10_000}


def _run_quick(path: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "ratio run / reference loop" in completed.stdout
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    report = _run_quick(tmp_path / "x.json")

    assert report["benchmark"] == "core"
    assert report["quick"] is True
    assert {"platform", "python", "cpu_count"} <= report["machine"].keys()
    assert "gc" in report["method"]
    assert report["graphs"].keys() == SIZES.keys()
    for label, figures in report["graphs"].items():
        assert figures["vertices"] == SIZES[label]
        assert figures["edges"] >= figures["vertices"]
        for measure in MEASURES:
            timing = figures[measure]
            assert timing["repetitions"] >= 1
            assert 0 < timing["min_s"] <= timing["median_s"]
        assert figures["ratio_run_to_reference"] > 0
        assert figures["per_vertex_run_us"] > 0
        assert isinstance(figures["per_vertex_overhead_us"], float)
    assert {"chain_run_to_reference", "layered_compile"} == report["targets"].keys()
    assert all(isinstance(target["met"], bool) for target in report["targets"].values())
