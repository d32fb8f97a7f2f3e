"""Every benchmark scenario, in one table: what it runs, how a cell reads, its target.

A scenario is a function ``(mode, quick, directory) -> figures`` that runs in a
fresh process (``run.py`` starts one per scenario and mode). ``summary`` turns
its figures into a table cell and ``target`` checks the issue's target, when
the scenario has one. Scenarios that need concurrency say so, and the modes
without it get "n/a" with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from _modes import Mode

from . import cold, concurrency, graphs, memory, services

__all__ = ["SCENARIOS", "Scenario", "Target", "select"]

Figures = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One of the issue's targets, with the measured value and the verdict."""

    description: str
    value: str
    met: bool


@dataclass(frozen=True)
class Scenario:
    """A scenario: its function, its table cell, its target."""

    name: str
    description: str
    #: ``(mode, quick, directory)``, and ``large=True`` when ``has_large`` and asked for.
    run: Callable[..., Figures]
    summary: Callable[[Figures], str]
    target: Callable[[Figures], Target | Sequence[Target] | None] = lambda figures: None
    concurrent_only: bool = False
    #: The only modes the scenario runs in (``None``: every mode).
    only_modes: tuple[str, ...] | None = None
    #: A longer Markdown report of a cell, printed after the table.
    detail: Callable[[Figures], str] | None = None
    #: Whether ``run`` takes ``large=True`` (``run.py --large``).
    has_large: bool = False
    #: Seconds a cell may take, when more than ``run.py``'s default.
    timeout: float | None = None

    def skipped(self, mode: Mode) -> str | None:
        """Why this scenario does not run in ``mode`` (``None``: it does)."""
        if self.concurrent_only and not mode.concurrent:
            return "n/a: one vertex at a time (serial backend)"
        if self.only_modes is not None and mode.name not in self.only_modes:
            return f"n/a: measured in {', '.join(self.only_modes)} only"
        return None

    def targets(self, figures: Figures) -> list[Target]:
        """The targets a cell's figures have (none, one or several)."""
        found = self.target(figures)
        if found is None:
            return []
        return [found] if isinstance(found, Target) else list(found)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _overhead(f: Figures) -> str:
    low, high = f["per_vertex_overhead_us_range"]
    return (
        f"{f['per_vertex_overhead_us']:.2f} µs/vertex [{low:.2f}-{high:.2f}], "
        f"{f['ratio_to_direct']:.1f}x direct"
    )


def _headline_size(f: Figures) -> str:
    sizes = [int(size) for size in f["sizes"]]
    return str(max((s for s in sizes if s <= 10_000), default=max(sizes)))


def _layered(f: Figures) -> str:
    size = _headline_size(f)
    point = f["sizes"][size]
    slope = f["loglog_slope"]
    return (
        f"{int(size):,}: run {_ms(point['run']['median_s'])} "
        f"({point['per_vertex_run_us']:.2f} µs/vertex), compile "
        f"{_ms(point['compile']['median_s'])}"
        + ("" if slope is None else f"; log-log slope {slope:.2f}")
    )


def _layered_target(f: Figures) -> Target | None:
    slope = f["loglog_slope"]
    if slope is None:
        return None
    largest = max(int(size) for size in f["sizes"])
    reference = f.get("reference_loop_loglog_slope")
    beside = "" if reference is None else f" (reference loop {reference:.2f})"
    return Target(
        f"run time linear in graph size up to {largest:,} (log-log slope from 1,000 up ≤ 1.10)",
        f"{slope:.2f}{beside}",
        slope <= 1.10,
    )


def _fan_out(f: Figures) -> str:
    return f"{f['ratio_to_reference']:.3f}x reference, {f['ratio_to_ideal']:.2f}x ideal"


def _fan_out_target(f: Figures) -> Target:
    ratio = f["ratio_to_reference"]
    return Target(f"fan-out within 1.05x the {f['reference']}", f"{ratio:.3f}x", ratio <= 1.05)


def _unbalanced(f: Figures) -> str:
    reference = f["references"][f["reference"]]["ratio_to_ideal"]
    text = f"{f['ratio_to_ideal']:.3f}x critical path (reference {reference:.3f}x)"
    in_loop = f.get("in_loop")
    if in_loop is None:
        return text
    return (
        f"{text}; arun in a running loop {in_loop['ratio_to_ideal']:.3f}x "
        f"(reference {in_loop['reference']['ratio_to_ideal']:.3f}x)"
    )


def _unbalanced_target(f: Figures) -> Target:
    ratio = f["ratio_to_ideal"]
    return Target("unbalanced within 1.02x the critical path", f"{ratio:.4f}x", ratio <= 1.02)


def _many(f: Figures) -> str:
    reference = f.get("ratio_to_reference")
    beside = "" if reference is None else f", {reference:.2f}x reference"
    return (
        f"{_ms(f['makespan']['median_s'])} (first run {_ms(f['first_run']['median_s'])}), "
        f"+{f['rss_growth_mib']:.0f} MiB RSS{beside}"
    )


def _cache(f: Figures) -> str:
    if "warm" in f:
        return f"hit {f['per_vertex_us']:.1f} µs/vertex, miss {f['miss_per_vertex_us']:.1f}"
    return f"uncached {f['per_vertex_us']:.2f} µs/vertex"


def _contracts(f: Figures) -> str:
    return f"{_ms(f['run']['median_s'])}, {f['ratio_to_contracts_off']:.2f}x contracts off"


def _listeners(f: Figures) -> str:
    return (
        f"{f['per_vertex_us']:.2f} µs/vertex without; +{f['noop_extra_us']:.2f} with a "
        f"do-nothing Listener, +{f['counting_extra_us']:.2f} counting on_vertex_end"
    )


def _memory(f: Figures) -> str:
    peak = f["tracemalloc_peak_multiple"]
    return f"{peak['median']:.2f}x one output (RSS {f['rss_growth_multiple']:.2f}x)"


def _cold_targets(f: Figures) -> list[Target]:
    return [Target(*target) for target in cold.cold_targets(f)]


def _memory_target(f: Figures) -> Target:
    peak = f["tracemalloc_peak_multiple"]["median"]
    return Target("memory scenario peak under 3x one output", f"{peak:.2f}x", peak < 3)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "chain-overhead",
        f"per-vertex overhead on a {graphs.CHAIN:,}-vertex chain of trivial vertices "
        "(run - direct calls) / vertices, and run / direct calls",
        graphs.chain_overhead,
        _overhead,
    ),
    Scenario(
        "layered",
        "random layered graphs (100 vertices up; 10,000 in the cell): compile and run",
        graphs.layered,
        _layered,
        _layered_target,
    ),
    Scenario(
        "fan-out",
        f"{concurrency.FAN_OUT} independent vertices sleeping "
        f"{concurrency.FAN_OUT_SLEEP * 1e3:.0f} ms (threads: {concurrency.FAN_OUT_WORKERS} "
        "workers), against a minimal hand-written scheduler on the same backend",
        concurrency.fan_out,
        _fan_out,
        _fan_out_target,
        concurrent_only=True,
    ),
    Scenario(
        "unbalanced",
        "two branches, 100 ms then 1 ms beside 1 ms then 100 ms: makespan / critical path",
        concurrency.unbalanced,
        _unbalanced,
        _unbalanced_target,
        concurrent_only=True,
    ),
    Scenario(
        "many-async",
        f"{concurrency.MANY:,} coroutine vertices sleeping {concurrency.MANY_SLEEP * 1e3:.0f} ms: "
        "makespan and peak RSS growth",
        concurrency.many_async,
        _many,
        concurrent_only=True,
    ),
    Scenario(
        "cache-hit",
        f"a {services.CACHE_CHAIN:,}-vertex chain of pure vertices: per-vertex time of a run",
        services.cache_hit,
        _cache,
    ),
    Scenario(
        "contracts-nested",
        f"a list[dict[str, int]] of {services.NESTED_ELEMENTS:,} dicts through two vertices",
        services.contracts_nested,
        _contracts,
    ),
    Scenario(
        "listeners",
        f"the {services.CACHE_CHAIN:,}-vertex chain without listeners, with a Listener that "
        "overrides nothing, and with one counting on_vertex_end: extra µs per vertex",
        services.listeners,
        _listeners,
    ),
    Scenario(
        "cold-path",
        "chains and random layered graphs of 1,000, 10,000 and 100,000 vertices (1,000,000 "
        "with --large), each in fresh processes: per vertex @vertex, compile, first run, warm "
        "run, the plain loop, peak RSS growth, and the scaling from 1,000 up",
        cold.cold_path,
        cold.summary,
        _cold_targets,
        only_modes=("serial",),
        detail=cold.detail,
        has_large=True,
        timeout=4 * 3600,
    ),
    Scenario(
        "memory",
        f"{memory.MEMORY_VERTICES} chained vertices of {memory.MEMORY_OUTPUT_BYTES // 10**6} MB, "
        "only the last requested: peak memory (tracemalloc) in outputs",
        memory.memory,
        _memory,
        _memory_target,
    ),
)


def select(names: Sequence[str] | None) -> tuple[Scenario, ...]:
    """The scenarios named (all for ``None``), in table order; unknown names are an error."""
    if not names:
        return SCENARIOS
    known = {scenario.name: scenario for scenario in SCENARIOS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown scenario {', '.join(unknown)}; scenarios: {', '.join(known)}")
    return tuple(scenario for scenario in SCENARIOS if scenario.name in names)
