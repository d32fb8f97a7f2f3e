"""Many runs of one flow at once, on threads, in a fresh process where trio is not imported yet.

Run as ``python -m tests.runtime._many_runs SCENARIO FOLDER``; it prints one
JSON line: the runs made, the failures (each as ``"mode: error"``) and
whether trio had been imported before the runs began.

- ``trio-import``: one trio run and seven asyncio runs start at the same
  moment, each on its own thread, then thread-backend runs; the trio run
  imports trio (and the first asyncio run asyncio: ``import flowdsl`` loads
  neither) while the others check which loop runs on their thread.
- ``stress``: 8 threads x 25 runs of one ``Flow``, every local backend on
  both loops in turn, all sharing one cache file and one checkpoint file
  (every run recorded under its own id; every fifth one resumed afterwards).
- ``dask-stress``: the same on ``backend="dask"``, through one client of a
  local cluster in the process.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import flowdsl
from tests.runtime._modes import MODES, diamond

THREADS = 8
RUNS = 25
FLOW = diamond(pure=True)


def expected(x: int) -> int:
    """``join`` for input ``x``."""
    return 50 * (x + 1)


def _on_threads(work: Callable[[int], list[str]]) -> list[str]:
    # ``work(thread)`` on each of THREADS threads, started together; their failures.
    failures: list[str] = []
    barrier = threading.Barrier(THREADS)

    def thread_main(index: int) -> None:
        barrier.wait()
        failures.extend(work(index))

    threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def _attempt(
    mode: str, x: int, call: Callable[..., flowdsl.RunResult], *args: Any, **kwargs: Any
) -> list[str]:
    # ``call(*args, **kwargs)`` (a run for input ``x``); its failure, if any.
    try:
        got = call(*args, **kwargs)["join"]
    except Exception as error:
        return [f"{mode}: {type(error).__name__}: {error}"]
    return [] if got == expected(x) else [f"{mode}: join == {got}, not {expected(x)}"]


def trio_import(folder: Path) -> tuple[int, list[str]]:
    """One trio run and seven asyncio runs at once, then thread runs; (runs, failures)."""

    def work(index: int) -> list[str]:
        loop = "trio" if index == 0 else "asyncio"
        failures = []
        for backend in ("async", "thread", "thread"):
            failures += _attempt(
                f"{backend}/{loop}",
                index,
                FLOW.run,
                {"x": index},
                backend=backend,
                anyio_backend=loop,
            )
        return failures

    return THREADS * 3, _on_threads(work)


def stress(folder: Path) -> tuple[int, list[str]]:
    """8 threads x 25 runs on every local backend, sharing a cache file and a checkpoint file."""
    return _stress(folder, MODES)


def dask_stress(folder: Path) -> tuple[int, list[str]]:
    """``stress`` on ``backend="dask"``, all runs through one client of a local cluster."""
    import distributed

    with distributed.Client(
        processes=False, n_workers=2, threads_per_worker=2, dashboard_address=None
    ) as client:
        return _stress(folder, [("dask", "asyncio")], dask_client=client)


def _stress(folder: Path, modes: list[tuple[str, str]], **options: Any) -> tuple[int, list[str]]:
    cache, checkpoint = folder / "cache.db", folder / "checkpoints.db"
    # The files exist before the threads start (their creation has a test of its own).
    FLOW.run({"x": -1}, cache=str(cache), checkpoint=checkpoint, run_id="first")
    recorded: list[tuple[str, str, int]] = []

    def work(index: int) -> list[str]:
        failures = []
        for run in range(RUNS):
            backend, loop = modes[(index + run) % len(modes)]
            x, run_id = run % 7, f"t{index}-r{run}"
            failures += _attempt(
                f"{backend}/{loop}",
                x,
                FLOW.run,
                {"x": x},
                backend=backend,
                anyio_backend=loop,
                cache=str(cache),
                checkpoint=checkpoint,
                run_id=run_id,
                **options,
            )
            if run % 5 == 0:
                recorded.append((run_id, loop, x))
        return failures

    failures = _on_threads(work)
    runs = THREADS * RUNS
    for run_id, loop, x in recorded:
        failures += _attempt(
            f"resume/{loop}", x, FLOW.resume, run_id, checkpoint=checkpoint, anyio_backend=loop
        )
        runs += 1
    with closing(sqlite3.connect(checkpoint)) as check, check:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            failures.append("the checkpoint file is damaged")
    return runs, failures


SCENARIOS: dict[str, Callable[[Path], tuple[int, list[str]]]] = {
    "trio-import": trio_import,
    "stress": stress,
    "dask-stress": dask_stress,
}


def main(scenario: str, folder: str) -> None:
    """Run ``scenario`` and print its JSON line."""
    trio_before = "trio" in sys.modules
    runs, failures = SCENARIOS[scenario](Path(folder))
    report: dict[str, Any] = {"runs": runs, "failures": failures, "trio_before": trio_before}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
