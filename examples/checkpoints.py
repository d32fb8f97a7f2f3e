"""Checkpoints: a run that stops halfway resumes without redoing what completed.

Run it from a checkout: ``python examples/checkpoints.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import flowdsl
from flowdsl import vertex

calls: list[str] = []
fail_once = {"report": True}


@vertex
def extract(day: str) -> list[int]:
    calls.append("extract")
    return [3, 1, 4, 1, 5]


@vertex
def transform(extract: list[int]) -> list[int]:
    calls.append("transform")
    return sorted(extract)


@vertex
def report(transform: list[int]) -> str:
    calls.append("report")
    if fail_once["report"]:
        fail_once["report"] = False
        raise ConnectionError("the report service is down")
    return f"{len(transform)} values, max {transform[-1]}"


def main() -> None:
    flow = flowdsl.Flow.from_functions(extract, transform, report)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "runs.db"
        try:
            flow.run({"day": "2026-11-21"}, checkpoint=database, run_id="nightly")
        except flowdsl.VertexFailed as error:
            print("first run failed in", error.vertex, "after", calls)

        calls.clear()
        result = flow.resume("nightly", checkpoint=database)
        print("resumed:", result["report"], "- called only", calls)
        print("states:", {name: str(state) for name, state in result.states.items()})


if __name__ == "__main__":
    main()
