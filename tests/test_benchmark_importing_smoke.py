"""``benchmarks/importing.py`` runs and writes a complete report (speed is never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Slow: a benchmark script starting interpreters.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "importing.py"


def test_one_round_against_this_checkout_writes_every_figure(tmp_path: Path) -> None:
    path = tmp_path / "importing.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--rounds", "1", "--against", str(ROOT), "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "CPU over bare" in completed.stdout
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["rounds"] == 1
    assert report["figures"].keys() == {"against", "this"}
    for side in report["figures"].values():
        programs = side["programs"]
        assert programs.keys() == {"bare", "import", "script", "public API"}
        assert programs["bare"]["modules_over_bare"] == 0
        # What the package itself loads, not a time: only flowdsl's __init__.
        assert programs["import"]["flowdsl_modules"] == 1
        assert programs["script"]["flowdsl_modules"] < programs["public API"]["flowdsl_modules"]
        assert all(cell["cpu_s"] > 0 for cell in programs.values())
