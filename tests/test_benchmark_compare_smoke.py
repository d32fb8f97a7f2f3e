"""``benchmarks/compare.py --quick`` runs flowdsl beside its peers (skipped without them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Slow: benchmark scripts in subprocesses.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"
REASON = "the peers come with the bench extra: pip install -e '.[bench]'"


def test_quick_comparison_has_ratios_and_reasons(tmp_path: Path) -> None:
    for peer in ("hamilton", "pipefunc", "dask"):
        pytest.importorskip(peer, reason=REASON)
    path = tmp_path / "compare.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--scenario",
            "unbalanced-threads,unbalanced-async",
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

    assert report["peers"] == ["hamilton", "pipefunc", "dask"]
    threads = report["cells"]["unbalanced-threads"]
    assert all(threads[lib]["status"] == "ok" for lib in ("flowdsl", *report["peers"]))
    for peer in report["peers"]:
        assert threads[peer]["ratio_flowdsl_to_peer"] > 0
    coroutines = report["cells"]["unbalanced-async"]
    assert coroutines["hamilton"]["status"] == "ok"
    for peer in ("pipefunc", "dask"):
        assert coroutines[peer]["status"] == "skipped"
        assert "coroutine" in coroutines[peer]["reason"]
    assert report["target"] is None  # the chain-overhead row did not run
    assert "no coroutine vertices" in path.with_suffix(".md").read_text(encoding="utf-8")
