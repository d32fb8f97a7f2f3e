"""Quickstart: compile the user pipeline of ``examples/pipeline.py`` and run it end to end.

Run it from a checkout: ``python examples/quickstart.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import flowdsl

sys.path.insert(0, str(Path(__file__).parent))
import pipeline


def main() -> None:
    flow = flowdsl.Flow.from_module(pipeline)
    print("stages:", flow.stages())

    result = flow.run({"name": " Alice "})
    print("save =", result["save"])
    print("fetch_user.name =", result["fetch_user.name"])
    print("completed in order:", ", ".join(result.order))

    only_save = flow.run({"name": "Bob!"}, outputs=["save"])
    print("outputs=['save'] with an invalid name ->", dict(only_save))

    print()
    print(result.lineage.trace("save"))
    print()
    print(result.metrics.table())
    print()
    print(flow.to_mermaid())


if __name__ == "__main__":
    main()
