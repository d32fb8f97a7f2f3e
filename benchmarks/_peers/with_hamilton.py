"""Apache Hamilton: functions in a module, a ``driver`` built once, ``execute`` per run.

Written from Hamilton's documentation: ``driver.Builder().with_modules(...)``
for the default (serial) executor, the ``h_threadpool.FutureAdapter`` for
threads, ``async_driver.Builder`` for coroutines (asyncio only), and
``.with_cache()`` for caching. Hamilton's default executor walks the graph
depth first by recursion, one Python frame per vertex on a path, so the
1,000-vertex chain needs the recursion limit raised (done here).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import _graphs
from _memory import memory_figures
from _scenarios import concurrency, graphs, memory
from _scenarios.services import CACHE_CHAIN
from _timing import measure
from hamilton import async_driver, driver
from hamilton.plugins import h_threadpool

__all__ = ["LABEL", "MODULE", "PACKAGE", "SCENARIOS"]

LABEL = "Apache Hamilton"
PACKAGE = "apache-hamilton"
MODULE = "hamilton"
NO_CONTRACTS = (
    "no run-time check of nested annotations (Hamilton checks the types of flow inputs; "
    "its data-quality validators target dataframes and arrays)"
)

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))


def _built(build: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = build()
    return result, time.perf_counter() - start


def _sync_driver(module: Any, *adapters: Any) -> driver.Driver:
    builder = driver.Builder().with_modules(module)
    if adapters:
        builder = builder.with_adapters(*adapters)
    return builder.build()


def chain_overhead(quick: bool, directory: Path) -> dict[str, Any]:
    """``dr.execute([last])`` on the 1,000-chain with the default executor."""
    graph = _graphs.build(_graphs.chain_spec(graphs.CHAIN), directory, "plain")
    dr, build_s = _built(lambda: _sync_driver(graph.module))
    last, inputs = graph.calls[-1].name, dict(graph.inputs)
    if dr.execute([last], inputs=inputs)[last] != graph.direct(1):
        raise RuntimeError("Hamilton computes the wrong chain value")
    figures = graphs.overhead_figures(
        lambda: dr.execute([last], inputs=inputs),
        lambda: graph.direct(1),
        graph.size,
        3 if quick else 15,
    )
    return {"build_s": build_s, **figures}


def layered(quick: bool, directory: Path) -> dict[str, Any]:
    """Every vertex of the 10,000-vertex layered graph as ``final_vars``."""
    graph = _graphs.build(_graphs.layered_spec(10_000), directory, "plain")
    dr, build_s = _built(lambda: _sync_driver(graph.module))
    names, inputs = [call.name for call in graph.calls], dict(graph.inputs)
    run = measure(lambda: dr.execute(names, inputs=inputs), 2 if quick else 5)
    return {"build_s": build_s, "sizes": {"10000": {"run": run}}}


def _threads(spec: _graphs.GraphSpec, directory: Path, workers: int) -> Any:
    graph = _graphs.build(spec, directory, "plain")
    dr = _sync_driver(graph.module, h_threadpool.FutureAdapter(max_workers=workers))
    return lambda: dr.execute(spec.names, inputs=dict(spec.inputs))


def _coroutines(spec: _graphs.GraphSpec, directory: Path) -> Any:
    graph = _graphs.build(spec, directory, "plain")

    async def build() -> Any:
        return await async_driver.Builder().with_modules(graph.module).build()

    dr = asyncio.run(build())
    return lambda: asyncio.run(dr.execute(spec.names, inputs=dict(spec.inputs)))


def fan_out_threads(quick: bool, directory: Path) -> dict[str, Any]:
    """The 200 sleepers through the ``FutureAdapter`` with 50 threads."""
    c = concurrency
    spec = _graphs.sleepers_spec(c.FAN_OUT, c.FAN_OUT_SLEEP, False)
    run = _threads(spec, directory, c.FAN_OUT_WORKERS)
    return c.makespan_figures(run, c.fan_out_ideal(False), {}, 3 if quick else 11)


def fan_out_async(quick: bool, directory: Path) -> dict[str, Any]:
    """The 200 coroutine sleepers through the async driver."""
    c = concurrency
    spec = _graphs.sleepers_spec(c.FAN_OUT, c.FAN_OUT_SLEEP, True)
    run = _coroutines(spec, directory)
    return c.makespan_figures(run, c.fan_out_ideal(True), {}, 3 if quick else 11)


def unbalanced_threads(quick: bool, directory: Path) -> dict[str, Any]:
    """The unbalanced branches through the ``FutureAdapter``."""
    c = concurrency
    spec = _graphs.unbalanced_spec(c.LONG, c.SHORT, False)
    run = _threads(spec, directory, c.UNBALANCED_WORKERS)
    return c.makespan_figures(run, c.CRITICAL_PATH, {}, 3 if quick else 11)


def unbalanced_async(quick: bool, directory: Path) -> dict[str, Any]:
    """The unbalanced branches through the async driver."""
    c = concurrency
    spec = _graphs.unbalanced_spec(c.LONG, c.SHORT, True)
    return c.makespan_figures(_coroutines(spec, directory), c.CRITICAL_PATH, {}, 3 if quick else 11)


def many_async(quick: bool, directory: Path) -> dict[str, Any]:
    """10,000 coroutine sleepers through the async driver."""
    c = concurrency
    run = _coroutines(_graphs.sleepers_spec(c.MANY, c.MANY_SLEEP, True), directory)
    return c.many_figures(run, 2 if quick else 5)


def cache_hit(quick: bool, directory: Path) -> dict[str, Any]:
    """The 1,000-chain with ``.with_cache()``: every run after the first is all hits."""
    graph = _graphs.build(_graphs.chain_spec(CACHE_CHAIN), directory, "plain")
    dr = driver.Builder().with_modules(graph.module).with_cache(path=str(directory / "cache"))
    built = dr.build()
    last, inputs = graph.calls[-1].name, dict(graph.inputs)
    built.execute([last], inputs=inputs)
    warm = measure(lambda: built.execute([last], inputs=inputs), 2 if quick else 9)
    return {
        "vertices": graph.size,
        "warm": warm,
        "per_vertex_us": warm["median_s"] / graph.size * 1e6,
    }


def memory_chain(quick: bool, directory: Path) -> dict[str, Any]:
    """100 vertices of 10 MB, ``final_vars`` the last."""
    spec = _graphs.memory_spec(memory.MEMORY_VERTICES, memory.MEMORY_OUTPUT_BYTES)
    dr = _sync_driver(_graphs.build(spec, directory, "plain").module)
    run = lambda: dr.execute([spec.last], inputs=dict(spec.inputs))  # noqa: E731
    figures = memory_figures(run, memory.MEMORY_OUTPUT_BYTES, 2 if quick else 5)
    return {"vertices": memory.MEMORY_VERTICES, **figures}


SCENARIOS: dict[str, Any] = {
    "chain-overhead": chain_overhead,
    "layered": layered,
    "fan-out-threads": fan_out_threads,
    "fan-out-async": fan_out_async,
    "unbalanced-threads": unbalanced_threads,
    "unbalanced-async": unbalanced_async,
    "many-async": many_async,
    "cache-hit": cache_hit,
    "contracts-nested": NO_CONTRACTS,
    "memory": memory_chain,
}
