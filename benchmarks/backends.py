"""Backend benchmark: per-vertex overhead, fan-out, unbalanced branches, 10,000 coroutines.

Every backend mode (serial; thread and async, each on asyncio and on trio)
runs these scenarios of ``run.py``, each in a fresh process, beside minimal
hand-written references measured in the same process (sleep granularity and
thread start-up put even those above the ideal):

1. ``chain-overhead``: per-vertex overhead on a 1,000-vertex chain of trivial
   functions, against calling them directly in a loop, and the fixed cost of a
   one-vertex run of the same mode;
2. ``fan-out``: 200 independent vertices each sleeping 10 ms (threads:
   ``time.sleep`` with ``max_workers=50``, ideal 40 ms; async: ``anyio.sleep``,
   ideal 10 ms), against a ready-queue scheduler on a thread pool and one task
   per vertex;
3. ``unbalanced``: 100 ms then 1 ms, beside 1 ms then 100 ms: makespan as a
   ratio to the 101 ms critical path (a stage-barrier scheduler takes 200);
4. ``many-async``: 10,000 coroutine vertices each sleeping 50 ms: makespan
   (the first run builds the plan) and peak memory.

It is ``run.py`` with these scenarios and modes as defaults, writing
``benchmarks/results/backends-<date>.json`` and ``.md``.

    python benchmarks/backends.py [--quick] [--json PATH] [--scenario NAME] [--mode NAME]
"""

from __future__ import annotations

import sys

import run

SCENARIOS = ("chain-overhead", "fan-out", "unbalanced", "many-async")
MODES = ("serial", "thread", "thread-trio", "async-asyncio", "async-trio")

if __name__ == "__main__":
    sys.exit(run.main(name="backends", scenarios=SCENARIOS, modes=MODES, doc=__doc__))
