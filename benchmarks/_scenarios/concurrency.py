"""Scenarios of sleeping vertices: fan-out, unbalanced branches, 10,000 coroutines.

Each concurrent mode runs beside the minimal hand-written scheduler for the
same backend (``_references``), timed in alternating rounds: a ready queue on
a thread pool for threads; one task per vertex for the event loop. Sleep
granularity and thread start-up put even those above the ideal.
"""

from __future__ import annotations

import concurrent.futures
import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _graphs
import _references
import anyio
from _memory import peak_rss_bytes
from _modes import Mode
from _timing import measure, measure_side_by_side, summarize

import flowdsl

__all__ = [
    "FAN_OUT",
    "FAN_OUT_SLEEP",
    "FAN_OUT_WORKERS",
    "LONG",
    "MANY",
    "MANY_SLEEP",
    "SHORT",
    "UNBALANCED_WORKERS",
    "CRITICAL_PATH",
    "fan_out",
    "fan_out_ideal",
    "in_loop_figures",
    "makespan_figures",
    "many_async",
    "many_figures",
    "unbalanced",
]

FAN_OUT = 200
FAN_OUT_SLEEP = 0.010
FAN_OUT_WORKERS = 50
LONG, SHORT = 0.100, 0.001
#: Two branches of two steps: ``LONG`` then ``SHORT`` beside ``SHORT`` then ``LONG``.
CRITICAL_PATH = LONG + SHORT
UNBALANCED_WORKERS = 4
MANY = 10_000
MANY_SLEEP = 0.050


def fan_out_ideal(asynchronous: bool) -> float:
    """The makespan of a perfect scheduler: one sleep on the loop, 200/50 sleeps on threads."""
    return FAN_OUT_SLEEP if asynchronous else FAN_OUT * FAN_OUT_SLEEP / FAN_OUT_WORKERS


def makespan_figures(
    run: Callable[[], object],
    ideal: float,
    references: dict[str, Callable[[], object]],
    repetitions: int,
    warmup: int = 1,
) -> dict[str, Any]:
    """Makespan of ``run`` against ``ideal`` and the references, timed side by side.

    The first reference is the one ``ratio_to_reference`` uses.
    """
    timings = measure_side_by_side({"run": run, **references}, repetitions, warmup)
    made = timings.pop("run")
    median = made["median_s"]
    figures: dict[str, Any] = {
        "makespan": made,
        "ideal_s": ideal,
        "ratio_to_ideal": median / ideal,
        "ratio_to_ideal_range": [made["min_s"] / ideal, made["max_s"] / ideal],
        "references": {
            name: {"makespan": timing, "ratio_to_ideal": timing["median_s"] / ideal}
            for name, timing in timings.items()
        },
    }
    if timings:
        reference, timing = next(iter(timings.items()))
        figures["reference"] = reference
        figures["ratio_to_reference"] = median / timing["median_s"]
    return figures


def _loop_references(flow: flowdsl.Flow, loop: str) -> dict[str, Callable[[], object]]:
    """One task per vertex: plain asyncio tasks and anyio tasks, this loop's own first."""
    calls = _references.as_calls(flow)
    anyio_tasks = {f"anyio tasks on {loop}": lambda: _references.tasks_on_anyio(calls, [1], loop)}
    if loop != "asyncio":
        return anyio_tasks
    return {"asyncio tasks": lambda: _references.tasks_on_asyncio(calls, [1]), **anyio_tasks}


def _thread_references(flow: flowdsl.Flow, workers: int) -> dict[str, Callable[[], object]]:
    """A ready queue on a pool started per run (as flowdsl's), then on a warm one."""
    calls = _references.as_calls(flow)
    warm = concurrent.futures.ThreadPoolExecutor(workers)
    return {
        "ready queue on a thread pool": lambda: _references.ready_queue_on_threads(
            calls, [1], workers
        ),
        "ready queue on a warm thread pool": lambda: _references.ready_queue_on_threads(
            calls, [1], workers, warm
        ),
    }


def _sleeping_flow(spec: _graphs.GraphSpec, directory: Path) -> flowdsl.Flow:
    return flowdsl.Flow.from_module(_graphs.build(spec, directory).module)


def fan_out(mode: Mode, quick: bool, directory: Path) -> dict[str, Any]:
    """200 independent sleepers: coroutines on the loop, else sync vertices on 50 threads."""
    asynchronous = mode.backend == "async"
    flow = _sleeping_flow(_graphs.sleepers_spec(FAN_OUT, FAN_OUT_SLEEP, asynchronous), directory)
    options = mode.options()
    if asynchronous:
        references = _loop_references(flow, mode.anyio_backend)
    else:
        references = _thread_references(flow, FAN_OUT_WORKERS)
    figures = makespan_figures(
        lambda: flow.run({"x": 1}, max_workers=FAN_OUT_WORKERS, **options),
        fan_out_ideal(asynchronous),
        references,
        3 if quick else 11,
    )
    return {"vertices": FAN_OUT, "sleep_s": FAN_OUT_SLEEP, "workers": FAN_OUT_WORKERS, **figures}


def unbalanced(mode: Mode, quick: bool, directory: Path) -> dict[str, Any]:
    """Two unbalanced branches: the critical path is 101 ms, a stage barrier makes it 200."""
    asynchronous = mode.backend == "async"
    flow = _sleeping_flow(_graphs.unbalanced_spec(LONG, SHORT, asynchronous), directory)
    options = mode.options()
    if asynchronous:
        references = _loop_references(flow, mode.anyio_backend)
    else:
        references = _thread_references(flow, UNBALANCED_WORKERS)
    repetitions = 3 if quick else 11
    figures = makespan_figures(
        lambda: flow.run({"x": 1}, max_workers=UNBALANCED_WORKERS, **options),
        CRITICAL_PATH,
        references,
        repetitions,
    )
    if asynchronous:
        figures["in_loop"] = in_loop_figures(flow, mode, CRITICAL_PATH, repetitions)
    return {"critical_path_s": CRITICAL_PATH, **figures}


def in_loop_figures(
    flow: flowdsl.Flow, mode: Mode, ideal: float, repetitions: int
) -> dict[str, Any]:
    """The makespan of ``await flow.arun`` inside one running loop, beside one anyio task
    per vertex in that loop, in alternating rounds: ``flow.run`` from synchronous code
    also pays for starting and closing the loop (about 1 ms for trio), which this
    leaves out."""
    calls = _references.as_calls(flow)
    options = {k: v for k, v in mode.options().items() if k != "anyio_backend"}
    actions: dict[str, Callable[[], Any]] = {
        "arun": lambda: flow.arun({"x": 1}, max_workers=UNBALANCED_WORKERS, **options),
        "anyio tasks": lambda: _references.anyio_tasks(calls, [1]),
    }

    async def rounds() -> dict[str, list[float]]:
        samples: dict[str, list[float]] = {name: [] for name in actions}
        names = list(actions)
        for round_number in range(repetitions + 1):  # the first round warms up
            for name in names[round_number % 2 :] + names[: round_number % 2]:
                gc.collect()
                start = time.perf_counter()
                await actions[name]()
                if round_number:
                    samples[name].append(time.perf_counter() - start)
        return samples

    samples = anyio.run(rounds, backend=mode.anyio_backend)
    made, reference = summarize(samples["arun"]), summarize(samples["anyio tasks"])
    return {
        "makespan": made,
        "ratio_to_ideal": made["median_s"] / ideal,
        "reference": {"makespan": reference, "ratio_to_ideal": reference["median_s"] / ideal},
    }


def many_figures(
    run: Callable[[], object],
    repetitions: int,
    references: dict[str, Callable[[], object]] | None = None,
) -> dict[str, Any]:
    """The first run, the steady runs and the peak RSS growth of 10,000 coroutines.

    Call it in a fresh process right after building the graph: the RSS peak
    before it is the baseline. The references run after the RSS is read, then
    side by side with ``run``.
    """
    before = peak_rss_bytes()
    start = time.perf_counter()
    run()
    first_run = time.perf_counter() - start
    steady = measure(run, repetitions, warmup=0)
    growth = peak_rss_bytes() - before
    figures = {
        "vertices": MANY,
        "sleep_s": MANY_SLEEP,
        "first_run": summarize([first_run]),
        "makespan": steady,
        "ratio_to_ideal": steady["median_s"] / MANY_SLEEP,
        "rss_growth_mib": growth / 2**20,
        "rss_growth_per_vertex_kib": growth / MANY / 1024,
    }
    if references:
        side = makespan_figures(run, MANY_SLEEP, references, repetitions, warmup=0)
        figures["references"] = side["references"]
        figures["reference"] = side["reference"]
        figures["ratio_to_reference"] = side["ratio_to_reference"]
    return figures


def many_async(mode: Mode, quick: bool, directory: Path) -> dict[str, Any]:
    """10,000 coroutine vertices sleeping 50 ms: makespan and peak memory."""
    flow = _sleeping_flow(_graphs.sleepers_spec(MANY, MANY_SLEEP, True), directory)
    options = mode.options()
    # Coroutines run on the event loop under every backend: one task per vertex is the floor.
    references = _loop_references(flow, mode.anyio_backend)
    return many_figures(lambda: flow.run({"x": 1}, **options), 1 if quick else 5, references)
