"""Every way to run a flow: each backend on each event loop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

import flowdsl

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
