"""The memory scenario: intermediates no longer needed must be released.

A chain of 100 vertices, each returning a fresh 10 MB ``bytes``; only the last
output is requested (``outputs=``). Peak memory is reported as a multiple of
one output: a chain needs at least two alive at once (the last step's input
and its output).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _graphs
from _memory import memory_figures
from _modes import Mode

import flowdsl

__all__ = ["MEMORY_OUTPUT_BYTES", "MEMORY_VERTICES", "memory"]

MEMORY_VERTICES = 100
MEMORY_OUTPUT_BYTES = 10_000_000


def memory(mode: Mode, quick: bool, directory: Path) -> dict[str, Any]:
    """100 vertices of 10 MB each, ``outputs=`` the last: peak memory in outputs."""
    spec = _graphs.memory_spec(MEMORY_VERTICES, MEMORY_OUTPUT_BYTES)
    flow = flowdsl.Flow.from_module(_graphs.build(spec, directory).module)
    options = mode.options()
    figures = memory_figures(
        lambda: flow.run(spec.inputs, outputs=[spec.last], **options),
        MEMORY_OUTPUT_BYTES,
        2 if quick else 5,
    )
    return {"vertices": MEMORY_VERTICES, **figures}
