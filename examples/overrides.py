"""Testing a flow: give some vertices' outputs instead of running them, and check what ran.

Run it from a checkout: ``python examples/overrides.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import flowdsl
from flowdsl.testing import assert_not_ran, assert_ran, call_vertex, ran

sys.path.insert(0, str(Path(__file__).parent))
import pipeline


def main() -> None:
    flow = flowdsl.Flow.from_module(pipeline)

    # fetch_user would call a service: give its output instead.
    fake_user = {"id": 42, "name": "test-user"}
    result = flow.run({"name": " Alice "}, overrides={"fetch_user": fake_user})
    print("save =", result["save"])
    print("states:", {name: str(state) for name, state in result.states.items()})
    print("ran:", sorted(ran(result)))
    assert_ran(result, "save", "validate")
    assert_not_ran(result, "fetch_user")

    # Only what the requested output needs: normalize is not needed either.
    result = flow.run(overrides={"fetch_user": fake_user, "validate": True}, outputs=["save"])
    print("save alone =", result["save"], "- ran:", sorted(ran(result)))

    # One vertex on its own, under its contracts: every parameter given by name.
    print(
        "save(user_id=7, validate=False) =", call_vertex(pipeline.save, user_id=7, validate=False)
    )
    try:
        call_vertex(pipeline.save, user_id="7", validate=True)
    except flowdsl.ContractViolation as error:
        print("caught:", error.message)


if __name__ == "__main__":
    main()
