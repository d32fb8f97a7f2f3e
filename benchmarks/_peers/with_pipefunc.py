"""pipefunc: ``@pipefunc(output_name=...)`` functions in a ``Pipeline``.

Written from pipefunc's documentation: ``pipeline(output_name, **inputs)``
(``Pipeline.run``, sequential, every intermediate kept in a dict) for serial
runs; ``pipeline.map(inputs, executor=ThreadPoolExecutor(...))`` for threads,
with ``scheduling_strategy="eager"`` (a function starts as soon as its inputs
exist, rather than generation by generation); ``cache=True`` functions in a
``Pipeline(cache_type="lru")`` for caching. pipefunc does not await coroutine
functions, so the async scenarios cannot be expressed. Like Hamilton's,
pipefunc's graph walks recurse once per vertex on a path, so the 1,000-vertex
chain needs the recursion limit raised (done here).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import _graphs
from _memory import memory_figures
from _scenarios import concurrency, graphs, memory
from _scenarios.services import CACHE_CHAIN
from _timing import measure
from pipefunc import Pipeline

__all__ = ["LABEL", "MODULE", "PACKAGE", "SCENARIOS"]

LABEL = "pipefunc"
PACKAGE = "pipefunc"
MODULE = "pipefunc"
NO_COROUTINES = "no coroutine vertices (pipefunc calls functions; it does not await coroutines)"
QUADRATIC = (
    "not run: building a Pipeline re-validates it on every added function, "
    "quadratic in size (see build_s of chain-overhead: 1,000 functions); "
    "10,000 would take about 100x that"
)
NO_CONTRACTS = (
    "no run-time check of values (pipefunc checks that annotations agree between "
    "functions when the pipeline is built)"
)

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))


def _pipeline(
    spec: _graphs.GraphSpec, directory: Path, *, pure: bool = False, **options: Any
) -> tuple[Pipeline, float]:
    graph = _graphs.build(spec, directory, "pipefunc", pure=pure)
    start = time.perf_counter()
    pipeline = Pipeline([call.function for call in graph.calls], **options)
    return pipeline, time.perf_counter() - start


def chain_overhead(quick: bool, directory: Path) -> dict[str, Any]:
    """``pipeline(last, x=1)`` on the 1,000-chain."""
    spec = _graphs.chain_spec(graphs.CHAIN)
    pipeline, build_s = _pipeline(spec, directory)
    direct = _graphs.build(spec, directory, "plain").direct
    if pipeline(spec.last, x=1) != direct(1):
        raise RuntimeError("pipefunc computes the wrong chain value")
    figures = graphs.overhead_figures(
        lambda: pipeline(spec.last, x=1), lambda: direct(1), graphs.CHAIN, 3 if quick else 15
    )
    return {"build_s": build_s, **figures}


def _mapped(spec: _graphs.GraphSpec, directory: Path, workers: int) -> Any:
    pipeline, _ = _pipeline(spec, directory)
    pool = ThreadPoolExecutor(max_workers=workers)
    return lambda: pipeline.map(
        dict(spec.inputs), executor=pool, scheduling_strategy="eager", show_progress=False
    )


def fan_out_threads(quick: bool, directory: Path) -> dict[str, Any]:
    """The 200 sleepers through ``pipeline.map`` on a 50-thread pool."""
    c = concurrency
    spec = _graphs.sleepers_spec(c.FAN_OUT, c.FAN_OUT_SLEEP, False)
    run = _mapped(spec, directory, c.FAN_OUT_WORKERS)
    return c.makespan_figures(run, c.fan_out_ideal(False), {}, 3 if quick else 11)


def unbalanced_threads(quick: bool, directory: Path) -> dict[str, Any]:
    """The unbalanced branches through ``pipeline.map``, eager scheduling."""
    c = concurrency
    spec = _graphs.unbalanced_spec(c.LONG, c.SHORT, False)
    run = _mapped(spec, directory, c.UNBALANCED_WORKERS)
    return c.makespan_figures(run, c.CRITICAL_PATH, {}, 3 if quick else 11)


def cache_hit(quick: bool, directory: Path) -> dict[str, Any]:
    """The 1,000-chain of ``cache=True`` functions, LRU cache: runs after the first hit."""
    spec = _graphs.chain_spec(CACHE_CHAIN)
    pipeline, _ = _pipeline(
        spec, directory, pure=True, cache_type="lru", cache_kwargs={"max_size": 2 * CACHE_CHAIN}
    )
    pipeline(spec.last, x=1)
    warm = measure(lambda: pipeline(spec.last, x=1), 2 if quick else 9)
    return {
        "vertices": CACHE_CHAIN,
        "warm": warm,
        "per_vertex_us": warm["median_s"] / CACHE_CHAIN * 1e6,
    }


def memory_chain(quick: bool, directory: Path) -> dict[str, Any]:
    """100 vertices of 10 MB, ``pipeline("m_99", x=1)``."""
    spec = _graphs.memory_spec(memory.MEMORY_VERTICES, memory.MEMORY_OUTPUT_BYTES)
    pipeline, _ = _pipeline(spec, directory)
    figures = memory_figures(
        lambda: pipeline(spec.last, x=1), memory.MEMORY_OUTPUT_BYTES, 2 if quick else 5
    )
    return {"vertices": memory.MEMORY_VERTICES, **figures}


SCENARIOS: dict[str, Any] = {
    "chain-overhead": chain_overhead,
    "layered": QUADRATIC,
    "fan-out-threads": fan_out_threads,
    "fan-out-async": NO_COROUTINES,
    "unbalanced-threads": unbalanced_threads,
    "unbalanced-async": NO_COROUTINES,
    "many-async": NO_COROUTINES,
    "cache-hit": cache_hit,
    "contracts-nested": NO_CONTRACTS,
    "memory": memory_chain,
}
