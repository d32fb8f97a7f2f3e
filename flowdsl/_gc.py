"""Pausing the cyclic garbage collector while a graph, a plan or its call plan is built.

(The checked invokers that the thread, async and Dask backends call are built
one at a time, when a run first asks for them, outside any pause: a serial run
makes its contract checks' type tests itself and needs none.)

Compiling or planning a large graph creates hundreds of thousands of
long-lived objects in one go; each collection the allocations trigger walks
them and finds nothing to free. Paused, the collector makes one pass over the
new objects after the block instead (at the first allocation once it is
enabled again). Measured on the 10,000-vertex layered graph of
``benchmarks/run.py --scenario cold-path`` (CPU time of decorate, compile and
first run, three processes each): 0.59 s paused, 0.85-0.96 s without the
pauses; moving the new objects to the oldest generation without that pass
(``gc.freeze()`` then ``gc.unfreeze()``) saved another 5% only, not worth
touching a user's frozen objects for, so it is not done. Run paths never
pause it.

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
    finally:
        if enabled:
            gc.enable()
