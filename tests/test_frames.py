"""How deep a vertex runs: flowdsl's frames between ``flow.run`` and the vertex's function.

Every one of them shows in a vertex's traceback and costs time on each call,
so the path stays short: at most 5 on the serial backend with the defaults,
at most 8 through a retry policy (which needs the event loop to wait between
attempts; the loop's own frames are not flowdsl's and are not counted).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import pytest

import flowdsl
from flowdsl import Flow, RetryPolicy, vertex

PACKAGE = Path(flowdsl.__file__).resolve().parent

#: The flowdsl frames on the stack when the last vertex below was called.
seen: list[list[str]] = []


def _flowdsl_frames() -> list[str]:
    return [
        f"{Path(frame.filename).name}:{frame.name}"
        for frame in traceback.extract_stack()
        if Path(frame.filename).resolve().is_relative_to(PACKAGE)
    ]


@vertex
def plain(x: int) -> int:
    seen.append(_flowdsl_frames())
    return x + 1


@vertex(retry=RetryPolicy(max_retries=2))
def retried(x: int) -> int:
    seen.append(_flowdsl_frames())
    return x + 1


@pytest.mark.parametrize(
    ("function", "most"),
    [(plain, 5), (retried, 8)],
    ids=["serial backend, defaults", "with a retry policy"],
)
def test_a_vertex_is_called_within_a_few_flowdsl_frames(function: Any, most: int) -> None:
    flow = Flow.from_functions(function)
    seen.clear()

    assert flow.run({"x": 1})[function.__name__] == 2

    (frames,) = seen
    assert frames[0] == "_flow.py:run"
    assert len(frames) <= most, frames
