"""Pausing the cyclic garbage collector while a graph, a plan or its call plan is built.

(The checked invokers that the thread, async and Dask backends call are built
one at a time, when a run first asks for them, outside any pause: a serial run
makes its contract checks' type tests itself and needs none.)

Compiling or planning a large graph creates hundreds of thousands of
long-lived objects in one go; each collection the allocations trigger walks
them and finds nothing to free. So the collector is paused inside the block.

When the block has made enough objects that a collection is due, it ends by
moving every tracked object to the oldest generation (``gc.freeze()`` then
``gc.unfreeze()``, two list splices) instead of letting the collector walk
them all at the first allocation after it: the block's objects are the
graph or plan just built, alive, and a successful compile or plan makes no
reference cycles to free (tested). The young objects other code made just
before the block move with them, and wait for the next full collection,
which the collector schedules as it always does. Measured on the
10,000-vertex layered graph of ``benchmarks/run.py --scenario cold-path``
(CPU time of decorate, compile and first run, five processes each): 11.6
us/vertex with the pass, 10.0 moved (and 0.85-0.96 s without any pause,
0.59 s with it, when the pauses came in).

Moving is skipped, and the collector left to make its pass, when:
- the block raised: an error's traceback holds cycles that a young
  collection frees;
- something in the process has frozen objects (``gc.get_freeze_count()``):
  ``gc.unfreeze()`` would release them too. CPython 3.12.1 freezes a few
  hundred objects of its own at startup, so there the pause always ends
  with the collector's pass;
- the block made too few objects for a collection to be due.

The collector is enabled again however the block ends: an error, Ctrl+C, a
cancellation; a collector the caller had disabled stays disabled. The
blocks never await, so no other task runs while one is paused. Two threads
that compile at once may overlap their blocks: the collector is enabled
again when the one that disabled it ends (the other's pause is then
shorter), never left disabled. ``docs/compiling-and-errors.md`` tells users.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable automatic collection inside the block, if it was enabled before it."""
    enabled = gc.isenabled()
    # Disabled inside the ``try``: an interrupt between the two still restores it.
    try:
        gc.disable()
        yield
    except BaseException:
        if enabled:
            gc.enable()
        raise
    if enabled:
        _age_new_objects()
        gc.enable()


def _age_new_objects() -> None:
    # Only when the pass would come (gen-0 count past its threshold) and no one
    # else's objects are frozen; ``gc.freeze()`` also zeroes the young count.
    threshold = gc.get_threshold()[0]
    if threshold and gc.get_count()[0] > threshold and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
