"""Dask: ``dask.delayed(function)(*parents)`` graphs, computed by the local schedulers.

Written from Dask's delayed documentation and best practices: call
``delayed`` on the function, build the whole graph, then one
``dask.compute(...)``; ``scheduler="sync"`` (single-threaded) for serial
runs, ``scheduler="threads"`` with ``num_workers`` for threads. A delayed graph
holds its inputs, so it is built once outside the timed runs (like flowdsl's
compile; ``build_s`` reports it). Dask runs functions, not coroutines, so the
async scenarios cannot be expressed; it has no result cache across
``compute`` calls for delayed graphs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import _graphs
import dask
from _memory import memory_figures
from _scenarios import concurrency, graphs, memory
from _timing import measure

__all__ = ["LABEL", "MODULE", "PACKAGE", "SCENARIOS"]

LABEL = "Dask (delayed)"
PACKAGE = "dask"
MODULE = "dask"
NO_COROUTINES = "no coroutine vertices (dask.delayed calls functions; it does not await them)"
NO_CACHE = (
    "no result cache across compute() calls for delayed graphs (dask.cache's "
    "opportunistic cache needs the cachey package, not in the bench extra)"
)
NO_CONTRACTS = "no run-time checks of annotations"


def _delayed(spec: _graphs.GraphSpec, directory: Path) -> tuple[dict[str, Any], float]:
    """Every vertex as a ``Delayed``, built the documented way; and the seconds it took."""
    graph = _graphs.build(spec, directory, "plain")
    start = time.perf_counter()
    nodes: dict[str, Any] = dict(spec.inputs)
    for call in graph.calls:
        nodes[call.name] = dask.delayed(call.function)(*(nodes[p] for p in call.parents))
    return {name: nodes[name] for name in spec.names}, time.perf_counter() - start


def chain_overhead(quick: bool, directory: Path) -> dict[str, Any]:
    """``dask.compute(last, scheduler="sync")`` on the 1,000-chain."""
    spec = _graphs.chain_spec(graphs.CHAIN)
    nodes, build_s = _delayed(spec, directory)
    direct = _graphs.build(spec, directory, "plain").direct
    last = nodes[spec.last]
    if dask.compute(last, scheduler="sync")[0] != direct(1):
        raise RuntimeError("dask computes the wrong chain value")
    figures = graphs.overhead_figures(
        lambda: dask.compute(last, scheduler="sync"),
        lambda: direct(1),
        graphs.CHAIN,
        3 if quick else 15,
    )
    return {"build_s": build_s, **figures}


def layered(quick: bool, directory: Path) -> dict[str, Any]:
    """Every vertex of the 10,000-vertex layered graph, one synchronous compute."""
    nodes, build_s = _delayed(_graphs.layered_spec(10_000), directory)
    values = list(nodes.values())
    run = measure(lambda: dask.compute(*values, scheduler="sync"), 2 if quick else 5)
    return {"build_s": build_s, "sizes": {"10000": {"run": run}}}


def _threads(spec: _graphs.GraphSpec, directory: Path, workers: int) -> Any:
    values = list(_delayed(spec, directory)[0].values())
    return lambda: dask.compute(*values, scheduler="threads", num_workers=workers)


def fan_out_threads(quick: bool, directory: Path) -> dict[str, Any]:
    """The 200 sleepers on the threaded scheduler with 50 workers."""
    c = concurrency
    spec = _graphs.sleepers_spec(c.FAN_OUT, c.FAN_OUT_SLEEP, False)
    run = _threads(spec, directory, c.FAN_OUT_WORKERS)
    return c.makespan_figures(run, c.fan_out_ideal(False), {}, 3 if quick else 11)


def unbalanced_threads(quick: bool, directory: Path) -> dict[str, Any]:
    """The unbalanced branches on the threaded scheduler."""
    c = concurrency
    spec = _graphs.unbalanced_spec(c.LONG, c.SHORT, False)
    run = _threads(spec, directory, c.UNBALANCED_WORKERS)
    return c.makespan_figures(run, c.CRITICAL_PATH, {}, 3 if quick else 11)


def memory_chain(quick: bool, directory: Path) -> dict[str, Any]:
    """100 vertices of 10 MB, the last computed by the synchronous scheduler."""
    spec = _graphs.memory_spec(memory.MEMORY_VERTICES, memory.MEMORY_OUTPUT_BYTES)
    last = _delayed(spec, directory)[0][spec.last]
    figures = memory_figures(
        lambda: dask.compute(last, scheduler="sync"), memory.MEMORY_OUTPUT_BYTES, 2 if quick else 5
    )
    return {"vertices": memory.MEMORY_VERTICES, **figures}


SCENARIOS: dict[str, Any] = {
    "chain-overhead": chain_overhead,
    "layered": layered,
    "fan-out-threads": fan_out_threads,
    "fan-out-async": NO_COROUTINES,
    "unbalanced-threads": unbalanced_threads,
    "unbalanced-async": NO_COROUTINES,
    "many-async": NO_COROUTINES,
    "cache-hit": NO_CACHE,
    "contracts-nested": NO_CONTRACTS,
    "memory": memory_chain,
}
