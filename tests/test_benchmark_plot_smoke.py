"""``benchmarks/plot.py`` turns a (tiny, hand-written) results file into PNG charts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Slow: benchmark scripts in subprocesses.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "plot.py"
PNG = b"\x89PNG\r\n\x1a\n"


def _timing(seconds: float) -> dict[str, Any]:
    return {"median_s": seconds, "min_s": seconds * 0.9, "max_s": seconds * 1.2, "repetitions": 3}


def _makespan(ratio: float, reference: str) -> dict[str, Any]:
    return {"ratio_to_ideal": ratio, "references": {reference: {"ratio_to_ideal": ratio * 0.98}}}


def _report() -> dict[str, Any]:
    def ok(figures: dict[str, Any]) -> dict[str, Any]:
        return {"status": "ok", "figures": figures}

    skipped = {"status": "skipped", "reason": "n/a: one vertex at a time (serial backend)"}
    overhead = {"per_vertex_overhead_us": 0.5, "per_vertex_overhead_us_range": [0.4, 0.7]}
    layered = {"sizes": {str(n): {"run": _timing(n * 1e-6)} for n in (100, 1_000, 10_000)}}
    return {
        "cells": {
            "chain-overhead": {"serial": ok(overhead), "thread": ok(overhead)},
            "layered": {"serial": ok(layered), "thread": ok(layered)},
            "fan-out": {"serial": skipped, "thread": ok(_makespan(1.6, "ready queue"))},
            "unbalanced": {"serial": skipped, "thread": ok(_makespan(1.05, "ready queue"))},
        }
    }


def test_every_chart_is_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="plot.py needs matplotlib (the bench extra)")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_report()), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), str(results), "--out", str(tmp_path / "png")],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    names = ("overhead.png", "makespan.png", "scaling.png")
    assert completed.stdout.split() == [str(tmp_path / "png" / name) for name in names]
    for name in names:
        assert (tmp_path / "png" / name).read_bytes().startswith(PNG)
