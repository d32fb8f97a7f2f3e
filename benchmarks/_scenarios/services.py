"""Scenarios of the run services: cache hits and contracts on a large nested value.

- cache-hit: a 1,000-vertex chain of trivial pure vertices; in a mode with
  the cache on, every run after the first is all hits (and a fresh store per
  run, all misses); otherwise every run computes everything.
- contracts-nested: one vertex returns a ``list[dict[str, int]]`` of 10,000
  dicts, another reads it; each mode beside the same mode with contracts off.
- listeners: the 1,000-vertex chain with no listener, a ``Listener`` that
  overrides nothing, and one that counts ``on_vertex_end`` events, side by side:
  what listening costs, and that not listening costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _graphs
from _modes import Mode
from _timing import measure, measure_side_by_side

import flowdsl

__all__ = [
    "NESTED_ELEMENTS",
    "NESTED_KEYS",
    "cache_hit",
    "contracts_nested",
    "listeners",
]

CACHE_CHAIN = 1_000
NESTED_ELEMENTS = 10_000
NESTED_KEYS = 5


def cache_hit(mode: Mode, quick: bool, directory: Path) -> dict[str, Any]:
    """A pure chain: all hits and all misses with the cache on, computed without it."""
    graph = _graphs.chain(CACHE_CHAIN, directory, pure=True)
    flow = flowdsl.Flow(flowdsl.compile(graph.module))
    options = mode.options()
    repetitions = 2 if quick else 9
    size = graph.size
    last = graph.calls[-1].name
    if not mode.cache:
        uncached = measure(lambda: flow.run(graph.inputs, **options), repetitions, warmup=2)
        return {
            "vertices": size,
            "uncached": uncached,
            "per_vertex_us": uncached["median_s"] / size * 1e6,
        }
    warm = flowdsl.MemoryCache(maxsize=2 * size)
    flow.run(graph.inputs, **{**options, "cache": warm})
    if flow.run(graph.inputs, **{**options, "cache": warm}).metrics.vertices[last].cache != "hit":
        raise RuntimeError("a warm cache did not hit")
    hit = measure(lambda: flow.run(graph.inputs, **{**options, "cache": warm}), repetitions)
    cold = measure(
        lambda: flow.run(
            graph.inputs, **{**options, "cache": flowdsl.MemoryCache(maxsize=2 * size)}
        ),
        repetitions,
    )
    return {
        "vertices": size,
        "warm": hit,
        "cold": cold,
        "per_vertex_us": hit["median_s"] / size * 1e6,
        "miss_per_vertex_us": cold["median_s"] / size * 1e6,
    }


def contracts_nested(mode: Mode, quick: bool, directory: Path) -> dict[str, Any]:
    """The nested value through two vertices, in ``mode`` and in ``mode`` with contracts off."""
    spec = _graphs.nested_spec(NESTED_ELEMENTS, NESTED_KEYS)
    flow = flowdsl.Flow.from_module(_graphs.build(spec, directory).module)
    options = mode.options()
    off = {**options, "contracts": "off"}
    if flow.run(spec.inputs, **options)["consume"] != NESTED_ELEMENTS:
        raise RuntimeError("the nested-value flow computes the wrong value")
    timings = measure_side_by_side(
        {
            "run": lambda: flow.run(spec.inputs, **options),
            "contracts_off": lambda: flow.run(spec.inputs, **off),
        },
        3 if quick else 15,
    )
    run, baseline = timings["run"], timings["contracts_off"]
    return {
        "annotation": "list[dict[str, int]]",
        "elements": NESTED_ELEMENTS,
        "keys_per_element": NESTED_KEYS,
        "contracts": mode.contracts,
        "run": run,
        "run_contracts_off": baseline,
        "ratio_to_contracts_off": run["median_s"] / baseline["median_s"],
        "check_cost_per_element_ns": (run["median_s"] - baseline["median_s"])
        / NESTED_ELEMENTS
        * 1e9,
    }


class _Counting:
    """A listener of one event kind."""

    def __init__(self) -> None:
        self.ended = 0

    def on_vertex_end(self, event: flowdsl.VertexEnded) -> None:
        self.ended += 1


def listeners(mode: Mode, quick: bool, directory: Path) -> dict[str, Any]:
    """The chain with no listener, a do-nothing ``Listener``, and a counting one."""
    graph = _graphs.chain(CACHE_CHAIN, directory)
    flow = flowdsl.Flow.from_module(graph.module)
    options = mode.options()
    counting = _Counting()
    timings = measure_side_by_side(
        {
            "none": lambda: flow.run(graph.inputs, **options),
            "noop_listener": lambda: flow.run(
                graph.inputs, **options, listeners=[flowdsl.Listener()]
            ),
            "counting_listener": lambda: flow.run(graph.inputs, **options, listeners=[counting]),
        },
        5 if quick else 30,
        warmup=2,
    )
    if counting.ended % graph.size:
        raise RuntimeError("the counting listener missed events")
    size = graph.size
    none = timings["none"]["median_s"]
    return {
        "vertices": size,
        **timings,
        "per_vertex_us": none / size * 1e6,
        "noop_extra_us": (timings["noop_listener"]["median_s"] - none) / size * 1e6,
        "counting_extra_us": (timings["counting_listener"]["median_s"] - none) / size * 1e6,
    }
