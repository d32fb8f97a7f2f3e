"""Checkpoints: a long run killed halfway resumes without redoing what completed.

The flow first runs in a child process that is killed (SIGKILL) in the
middle of ``load``, as a crash would; then this process resumes it from the
checkpoint file. Run it from a checkout: ``python examples/checkpoints.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import flowdsl
from flowdsl import vertex


def crash_here(step: str) -> None:
    # The child process dies in the step named by this variable (read at call
    # time, so that the code, and its checkpoint fingerprint, stay the same).
    if os.environ.get("CRASH_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)
    print(f"  {step} ran", flush=True)


@vertex
def download(day: str) -> list[int]:
    crash_here("download")
    return [3, 1, 4, 1, 5, 9, 2, 6]


@vertex
def clean(download: list[int]) -> list[int]:
    crash_here("clean")
    return [v for v in download if v > 1]


@vertex
def enrich(clean: list[int]) -> list[int]:
    crash_here("enrich")
    return [v * 10 for v in clean]


@vertex
def load(enrich: list[int]) -> int:
    crash_here("load")
    return sum(enrich)


@vertex
def report(load: int, day: str) -> str:
    crash_here("report")
    return f"{day}: loaded {load}"


flow = flowdsl.Flow.from_functions(download, clean, enrich, load, report)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "runs.db"
        print("first run, killed in load:", flush=True)
        child = subprocess.run(
            [sys.executable, __file__, str(database)],
            env={**os.environ, "CRASH_AT": "load"},
            check=False,
        )
        print("exit status:", child.returncode)
        store = flowdsl.CheckpointStore(database)
        print("recorded:", ", ".join(store.runs()[0].vertices))
        store.close()

        print("resumed:")
        result = flow.resume("nightly", checkpoint=database)
        print(result["report"])
        print("states:", {name: str(state) for name, state in result.states.items()})


if __name__ == "__main__":
    if len(sys.argv) > 1:  # the child process
        flow.run({"day": "2026-11-21"}, checkpoint=sys.argv[1], run_id="nightly")
    else:
        main()
