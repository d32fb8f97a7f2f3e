"""Each benchmark cell in a fresh process: the parent starts it, the child prints its figures.

A fresh interpreter per cell keeps one cell's imports, caches, threads and
memory peak out of the next one's figures. The child prints one line,
``FIGURES <json>``, last; anything a library prints before it is ignored.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["emit_figures", "run_child"]

_MARK = "FIGURES "


def emit_figures(measure: Callable[[Path], dict[str, Any]]) -> None:
    """In the child: run ``measure`` in a scratch directory and print its figures."""
    with tempfile.TemporaryDirectory(prefix="flowdsl-bench-") as tmp:
        figures = measure(Path(tmp))
    print(_MARK + json.dumps(figures), flush=True)


def run_child(script: Path, arguments: Sequence[str], timeout: float) -> dict[str, Any]:
    """In the parent: run ``script`` with ``arguments`` in a fresh Python; return its cell.

    A cell is ``{"status": "ok", "figures": ..., "seconds": wall time}``, or
    ``{"status": "failed", "reason": ...}`` when the child failed or timed out.
    """
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            [sys.executable, str(script), *arguments],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": f"timed out after {timeout:.0f} s"}
    seconds = time.perf_counter() - start
    lines = [line for line in completed.stdout.splitlines() if line.startswith(_MARK)]
    if completed.returncode != 0 or not lines:
        tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
        return {
            "status": "failed",
            "reason": f"exit status {completed.returncode}: {tail}",
            "seconds": seconds,
        }
    return {"status": "ok", "figures": json.loads(lines[-1][len(_MARK) :]), "seconds": seconds}
