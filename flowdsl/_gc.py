"""Pausing the cyclic garbage collector while a graph or a plan is built.

Compiling or planning a large graph creates hundreds of thousands of
long-lived objects in one go; each full collection the allocations trigger
walks the whole heap and finds nothing to free (measured: half of the first
run of a 10,000-vertex graph). Run paths never pause it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable automatic collection inside the block, if it was enabled before it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
