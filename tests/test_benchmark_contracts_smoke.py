"""``benchmarks/contracts.py --quick`` runs and writes a complete report (never timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Slow: benchmark scripts in subprocesses.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "contracts.py"


def _positive_timing(timing: dict[str, Any]) -> None:
    assert timing["repetitions"] >= 1
    assert 0 < timing["min_s"] <= timing["median_s"]


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    path = tmp_path / "contracts.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "ratio strict / off" in completed.stdout
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

    assert report["benchmark"] == "contracts"
    assert report["quick"] is True
    assert {"platform", "python", "cpu_count"} <= report["machine"].keys()
    assert "full check" in report["method"]["strategy"]

    checks = report["checks"]
    assert checks.keys() == {"int", "str", "list_of_dicts", "big_list"}
    for name in ("int", "str"):
        assert checks[name]["annotation"] == name
        assert checks[name]["calls_per_batch"] >= 1
        _positive_timing(checks[name]["per_check"])
    assert checks["list_of_dicts"]["elements"] == 10_000
    _positive_timing(checks["list_of_dicts"]["check"])
    assert checks["big_list"]["elements"] == 1_000_000
    _positive_timing(checks["big_list"]["check"])
    _positive_timing(checks["big_list"]["check_failing_last"])
    assert checks["big_list"]["per_element_s"] > 0

    chain = report["chain"]
    assert chain["vertices"] == 1_000
    _positive_timing(chain["strict"])
    _positive_timing(chain["off"])
    assert chain["ratio_strict_to_off"] > 0
    assert chain["per_vertex_strict_us"] > 0
    assert chain["per_vertex_off_us"] > 0
    assert isinstance(chain["per_vertex_contract_cost_us"], float)
    assert isinstance(report["targets"]["chain_strict_to_off"]["met"], bool)
