"""Every way to run a flow (each backend on each event loop, or a script in a fresh process),
a small flow to run, and a bounded wait for what a run leaves to finish after it returns."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest

import flowdsl
from flowdsl import vertex

MODES = [
    ("serial", "asyncio"),
    ("serial", "trio"),
    ("thread", "asyncio"),
    ("thread", "trio"),
    ("async", "asyncio"),
    ("async", "trio"),
]

#: ``@every_mode`` parametrizes a test with ``mode``: a (backend, loop) pair.
every_mode = pytest.mark.parametrize("mode", MODES, ids=[f"{b}-{loop}" for b, loop in MODES])


def run_in(
    mode: tuple[str, str],
    flow: flowdsl.Flow,
    inputs: Mapping[str, Any] | None = None,
    **options: Any,
) -> flowdsl.RunResult:
    """``flow.run`` under ``mode``."""
    backend, loop = mode
    return flow.run(inputs, backend=backend, anyio_backend=loop, **options)


def in_fresh_process(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m module *args`` from the repository's root (output as text): what must
    start in a process of its own, or may crash it."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )


def diamond(pure: bool = False) -> flowdsl.Flow:
    """base -> (left: a coroutine, right) -> join; ``{"x": 1}`` gives join == 100.

    ``pure``: ``base`` and ``left`` are pure (cached).
    """

    @vertex(pure=pure)
    def base(x: int) -> int:
        return x + 1

    @vertex(pure=pure)
    async def left(base: int) -> int:
        await anyio.sleep(0)
        return base * 2

    @vertex
    def right(base: int) -> int:
        return base * 3

    @vertex
    def join(left: int, right: int, scale: int = 10) -> int:
        return (left + right) * scale

    return flowdsl.Flow.from_functions(base, left, right, join)


def eventually(condition: Callable[[], bool], patience: float = 10.0) -> bool:
    """Whether ``condition()`` holds within ``patience`` seconds (polled, never a timing bound:
    for what finishes on another thread after a run returns)."""
    deadline = time.monotonic() + patience
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True
