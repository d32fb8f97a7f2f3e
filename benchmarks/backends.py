"""Backend benchmark: per-vertex overhead, fan-out, unbalanced branches, 10,000 coroutines.

Every mode (serial; thread and async, each on asyncio and on trio) runs the
same scenarios, beside minimal hand-written references measured in the same
run (sleep granularity and thread start-up put even those above the ideal):

1. per-vertex overhead on a 1,000-vertex chain of trivial functions, as a
   ratio to calling them directly in a loop, and as a ratio to the serial
   backend's own overhead;
2. 200 independent vertices each sleeping 10 ms (threads: ``time.sleep`` with
   ``max_workers=50``, ideal 40 ms; async: ``anyio.sleep``, ideal 10 ms), against
   a ready-queue scheduler on a thread pool and one asyncio task per vertex;
3. unbalanced branches (100 ms then 1 ms, beside 1 ms then 100 ms): makespan
   as a ratio to the critical path, 101 ms (a stage-barrier scheduler takes 200);
4. 10,000 coroutine vertices each sleeping 50 ms: makespan and peak memory,
   each mode in a fresh process.

    python benchmarks/backends.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import _graphs
import anyio
from _timing import command_line, machine, measure, summarize, write_report

import flowdsl

MODES = [
    ("serial", "asyncio"),
    ("thread", "asyncio"),
    ("thread", "trio"),
    ("async", "asyncio"),
    ("async", "trio"),
]
FAN_OUT = 200
FAN_OUT_SLEEP = 0.010
FAN_OUT_WORKERS = 50
LONG, SHORT = 0.100, 0.001
CRITICAL_PATH = LONG + SHORT
MANY = 10_000
MANY_SLEEP = 0.050


def _module(source: str, directory: Path, name: str) -> Any:
    header = "import time\nimport anyio\nfrom flowdsl import vertex\n\n"
    return _graphs.import_source(header + source, directory, name)


def _sleepers(count: int, seconds: float, asynchronous: bool) -> str:
    if asynchronous:
        body = (
            "@vertex\nasync def s_{i}(x: int) -> int:\n    await anyio.sleep({t})\n    return x\n"
        )
    else:
        body = "@vertex\ndef s_{i}(x: int) -> int:\n    time.sleep({t})\n    return x\n"
    return "\n".join(body.format(i=i, t=seconds) for i in range(count))


def _unbalanced(asynchronous: bool) -> str:
    prefix, wait = ("async ", "await anyio.sleep") if asynchronous else ("", "time.sleep")
    lines = []
    for name, parent, seconds in (
        ("a_1", "x", LONG),
        ("a_2", "a_1", SHORT),
        ("b_1", "x", SHORT),
        ("b_2", "b_1", LONG),
    ):
        lines.append(
            f"@vertex\n{prefix}def {name}({parent}: int) -> int:\n"
            f"    {wait}({seconds})\n    return {parent}\n"
        )
    return "\n".join(lines)


# The hand-written references.


def ready_queue_on_threads(
    calls: Sequence[tuple[Callable[..., Any], Sequence[int]]], inputs: Sequence[Any], workers: int
) -> list[Any]:
    """A minimal dependency-driven scheduler: a ready queue feeding a thread pool.

    ``calls[i]`` is a function and the indices of the calls it reads; a negative
    index ``-k`` reads ``inputs[k - 1]``.
    """
    results: list[Any] = [None] * len(calls)
    waiting = [sum(1 for p in parents if p >= 0) for _, parents in calls]
    children: list[list[int]] = [[] for _ in calls]
    for i, (_, parents) in enumerate(calls):
        for p in parents:
            if p >= 0:
                children[p].append(i)
    lock = threading.Lock()
    done = threading.Event()
    remaining = [len(calls)]

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:

        def submit(i: int) -> None:
            function, parents = calls[i]
            args = [results[p] if p >= 0 else inputs[-p - 1] for p in parents]
            pool.submit(function, *args).add_done_callback(lambda f, i=i: finished(i, f))

        def finished(i: int, future: concurrent.futures.Future[Any]) -> None:
            results[i] = future.result()
            with lock:
                remaining[0] -= 1
                ready = []
                for child in children[i]:
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        ready.append(child)
                if remaining[0] == 0:
                    done.set()
            for child in ready:
                submit(child)

        for i, count in enumerate(waiting):
            if count == 0:
                submit(i)
        done.wait()
    return results


def tasks_on_asyncio(
    calls: Sequence[tuple[Callable[..., Any], Sequence[int]]], inputs: Sequence[Any]
) -> list[Any]:
    """One asyncio task per vertex, each awaiting its parents' tasks."""

    async def main() -> list[Any]:
        tasks: list[asyncio.Task[Any]] = []

        async def node(i: int) -> Any:
            function, parents = calls[i]
            args = [await tasks[p] if p >= 0 else inputs[-p - 1] for p in parents]
            return await function(*args)

        tasks.extend(asyncio.ensure_future(node(i)) for i in range(len(calls)))
        return list(await asyncio.gather(*tasks))

    return asyncio.run(main())


def tasks_on_anyio(
    calls: Sequence[tuple[Callable[..., Any], Sequence[int]]],
    inputs: Sequence[Any],
    backend: str,
) -> list[Any]:
    """One anyio task per vertex in a task group, each waiting for its parents' events.

    The same scheduler as ``tasks_on_asyncio``, on anyio's task groups (which
    flowdsl is built on): the floor for any anyio-based scheduler.
    """
    results: list[Any] = [None] * len(calls)

    async def main() -> None:
        done = [anyio.Event() for _ in calls]

        async def node(i: int) -> None:
            function, parents = calls[i]
            for p in parents:
                if p >= 0:
                    await done[p].wait()
            args = [results[p] if p >= 0 else inputs[-p - 1] for p in parents]
            results[i] = await function(*args)
            done[i].set()

        async with anyio.create_task_group() as group:
            for i in range(len(calls)):
                group.start_soon(node, i)

    anyio.run(main, backend=backend)
    return results


def _as_calls(flow: flowdsl.Flow) -> list[tuple[Callable[..., Any], list[int]]]:
    """The flow's vertices as (function, parent indices) for the references; input = -1."""
    names = list(flow.vertices)
    position = {name: i for i, name in enumerate(names)}
    return [
        (node.function, [-1 if b.is_input else position[b.source] for b in node.bindings])
        for node in flow.vertices.values()
    ]


# The scenarios.


def overhead(directory: Path, repetitions: int) -> dict[str, Any]:
    """Scenario 1: per-vertex overhead on the 1,000-chain, per mode."""
    graph = _graphs.chain(1_000, directory)
    flow = flowdsl.Flow(flowdsl.compile(graph.module))
    # The same kind of vertex alone: what a run costs before any vertex-to-vertex work.
    single = flowdsl.Flow(flowdsl.compile(_graphs.chain(1, directory).module))
    direct = measure(lambda: graph.direct(1), repetitions * 4)["median_s"]
    rows: dict[str, Any] = {"direct_s": direct, "vertices": graph.size, "modes": {}}
    for backend, loop in MODES:
        run = measure(
            lambda b=backend, lp=loop: flow.run(graph.inputs, backend=b, anyio_backend=lp),
            repetitions,
        )
        fixed = measure(
            lambda b=backend, lp=loop: single.run(graph.inputs, backend=b, anyio_backend=lp),
            repetitions * 4,
        )["median_s"]
        per_vertex = (run["median_s"] - direct) / graph.size
        marginal = (run["median_s"] - fixed - direct) / (graph.size - 1)
        rows["modes"][f"{backend}/{loop}"] = {
            "run_s": run,
            "fixed_per_run_s": fixed,
            "per_vertex_overhead_us": per_vertex * 1e6,
            "marginal_per_vertex_us": marginal * 1e6,
            "ratio_to_direct": run["median_s"] / direct,
        }
    serial = rows["modes"]["serial/asyncio"]
    for row in rows["modes"].values():
        row["overhead_ratio_to_serial"] = (
            row["per_vertex_overhead_us"] / serial["per_vertex_overhead_us"]
        )
        row["marginal_ratio_to_serial"] = (
            row["marginal_per_vertex_us"] / serial["marginal_per_vertex_us"]
        )
    return rows


def fan_out(directory: Path, repetitions: int) -> dict[str, Any]:
    """Scenario 2: 200 independent sleepers on threads and on the loop, against references."""
    thread_flow = flowdsl.Flow.from_module(
        _module(_sleepers(FAN_OUT, FAN_OUT_SLEEP, False), directory, "fan_threads")
    )
    async_flow = flowdsl.Flow.from_module(
        _module(_sleepers(FAN_OUT, FAN_OUT_SLEEP, True), directory, "fan_async")
    )
    ideal_threads = FAN_OUT * FAN_OUT_SLEEP / FAN_OUT_WORKERS
    ideal_async = FAN_OUT_SLEEP
    thread_ref = measure(
        lambda: ready_queue_on_threads(_as_calls(thread_flow), [1], FAN_OUT_WORKERS), repetitions
    )["median_s"]
    async_ref = measure(lambda: tasks_on_asyncio(_as_calls(async_flow), [1]), repetitions)[
        "median_s"
    ]
    anyio_refs = {
        loop: measure(lambda lp=loop: tasks_on_anyio(_as_calls(async_flow), [1], lp), repetitions)[
            "median_s"
        ]
        for loop in ("asyncio", "trio")
    }
    rows: dict[str, Any] = {
        "ideal_threads_s": ideal_threads,
        "ideal_async_s": ideal_async,
        "reference_threads_s": thread_ref,
        "reference_async_s": async_ref,
        "reference_anyio_s": anyio_refs,
        "modes": {},
    }
    for backend, loop in MODES:
        if backend == "serial":
            continue
        asynchronous = backend == "async"
        flow = async_flow if asynchronous else thread_flow
        run = measure(
            lambda f=flow, b=backend, lp=loop: f.run(
                {"x": 1}, backend=b, anyio_backend=lp, max_workers=FAN_OUT_WORKERS
            ),
            repetitions,
        )["median_s"]
        ideal, reference = (ideal_async, async_ref) if asynchronous else (ideal_threads, thread_ref)
        row = {
            "makespan_s": run,
            "ratio_to_ideal": run / ideal,
            "reference_ratio_to_ideal": reference / ideal,
            "ratio_to_reference": run / reference,
        }
        if asynchronous:
            row["ratio_to_anyio_reference"] = run / anyio_refs[loop]
        rows["modes"][f"{backend}/{loop}"] = row
    return rows


def unbalanced(directory: Path, repetitions: int) -> dict[str, Any]:
    """Scenario 3: two unbalanced two-step branches; the critical path is 101 ms."""
    flows = {
        False: flowdsl.Flow.from_module(_module(_unbalanced(False), directory, "unbalanced_sync")),
        True: flowdsl.Flow.from_module(_module(_unbalanced(True), directory, "unbalanced_async")),
    }
    references = {
        "threads": measure(
            lambda: ready_queue_on_threads(_as_calls(flows[False]), [1], 4), repetitions
        )["median_s"],
        "asyncio": measure(lambda: tasks_on_asyncio(_as_calls(flows[True]), [1]), repetitions)[
            "median_s"
        ],
    }
    rows: dict[str, Any] = {
        "critical_path_s": CRITICAL_PATH,
        "reference_s": references,
        "reference_ratio_to_critical_path": {
            name: value / CRITICAL_PATH for name, value in references.items()
        },
        "modes": {},
    }
    for backend, loop in MODES:
        if backend == "serial":
            continue
        flow = flows[backend == "async"]
        run = measure(
            lambda f=flow, b=backend, lp=loop: f.run({"x": 1}, backend=b, anyio_backend=lp),
            repetitions,
        )["median_s"]
        reference = references["asyncio" if backend == "async" else "threads"]
        rows["modes"][f"{backend}/{loop}"] = {
            "makespan_s": run,
            "ratio_to_critical_path": run / CRITICAL_PATH,
            "ratio_to_reference": run / reference,
        }
    return rows


def _many_child(loop: str, directory: Path) -> dict[str, float]:
    flow = flowdsl.Flow.from_module(
        _module(_sleepers(MANY, MANY_SLEEP, True), directory, "many_async")
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    flow.run({"x": 1}, backend="async", anyio_backend=loop)
    first = time.perf_counter() - start
    start = time.perf_counter()
    flow.run({"x": 1}, backend="async", anyio_backend=loop)
    makespan = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "first_run_s": first,
        "makespan_s": makespan,
        "peak_rss_mib": peak / 1024,
        "rss_growth_mib": (peak - before) / 1024,
    }


def many(repetitions: int) -> dict[str, Any]:
    """Scenario 4: 10,000 coroutine vertices, each mode in a fresh process."""
    rows: dict[str, Any] = {"vertices": MANY, "sleep_s": MANY_SLEEP, "modes": {}}
    for loop in ("asyncio", "trio"):
        samples = []
        for _ in range(repetitions):
            output = subprocess.run(
                [sys.executable, __file__, "--child-many", loop],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            samples.append(json.loads(output))
        best = min(samples, key=lambda s: s["makespan_s"])
        rows["modes"][f"async/{loop}"] = {
            "first_run_s": summarize([s["first_run_s"] for s in samples]),
            "makespan_s": summarize([s["makespan_s"] for s in samples]),
            "ratio_to_ideal": statistics.median(s["makespan_s"] for s in samples) / MANY_SLEEP,
            "peak_rss_mib": best["peak_rss_mib"],
            "rss_growth_mib": best["rss_growth_mib"],
        }
    return rows


def _table(results: Mapping[str, Any]) -> str:
    lines = []
    o = results["overhead"]
    lines.append(
        f"1. per-vertex overhead, {o['vertices']}-vertex chain "
        f"(direct loop {o['direct_s'] * 1e3:.2f} ms)"
    )
    lines.append(
        f"   {'mode':<16}{'run ms':>9}{'fixed ms':>10}{'us/vertex':>11}{'x serial':>10}"
        f"{'marginal us':>13}{'x serial':>10}"
    )
    for mode, row in o["modes"].items():
        lines.append(
            f"   {mode:<16}{row['run_s']['median_s'] * 1e3:>9.2f}"
            f"{row['fixed_per_run_s'] * 1e3:>10.2f}"
            f"{row['per_vertex_overhead_us']:>11.2f}{row['overhead_ratio_to_serial']:>10.2f}"
            f"{row['marginal_per_vertex_us']:>13.2f}{row['marginal_ratio_to_serial']:>10.2f}"
        )
    f = results["fan_out"]
    lines.append(
        f"2. {FAN_OUT} sleepers of {FAN_OUT_SLEEP * 1e3:.0f} ms "
        f"(ideal: threads {f['ideal_threads_s'] * 1e3:.0f} ms"
        f" with {FAN_OUT_WORKERS} workers, async {f['ideal_async_s'] * 1e3:.0f} ms)"
    )
    lines.append(
        f"   {'mode':<16}{'ms':>10}{'x ideal':>10}{'ref x ideal':>13}{'x ref':>8}"
        f"{'x anyio ref':>13}"
    )
    for mode, row in f["modes"].items():
        lines.append(
            f"   {mode:<16}{row['makespan_s'] * 1e3:>10.1f}{row['ratio_to_ideal']:>10.3f}"
            f"{row['reference_ratio_to_ideal']:>13.3f}{row['ratio_to_reference']:>8.3f}"
            + (
                f"{row['ratio_to_anyio_reference']:>13.3f}"
                if "ratio_to_anyio_reference" in row
                else f"{'-':>13}"
            )
        )
    u = results["unbalanced"]
    refs = u["reference_ratio_to_critical_path"]
    lines.append(
        f"3. unbalanced branches (critical path {u['critical_path_s'] * 1e3:.0f} ms; "
        f"references: threads {refs['threads']:.3f}x, asyncio tasks {refs['asyncio']:.3f}x)"
    )
    for mode, row in u["modes"].items():
        lines.append(
            f"   {mode:<16}{row['makespan_s'] * 1e3:>10.1f} ms"
            f"{row['ratio_to_critical_path']:>10.3f} x critical path"
            f"{row['ratio_to_reference']:>8.3f} x ref"
        )
    m = results["many"]
    lines.append(
        f"4. {m['vertices']} coroutines sleeping {m['sleep_s'] * 1e3:.0f} ms "
        "(fresh process each; first run builds the plan)"
    )
    for mode, row in m["modes"].items():
        lines.append(
            f"   {mode:<16}first {row['first_run_s']['median_s'] * 1e3:8.1f} ms"
            f"   then {row['makespan_s']['median_s'] * 1e3:8.1f} ms"
            f" ({row['ratio_to_ideal']:.1f} x ideal)"
            f"   peak RSS {row['peak_rss_mib']:.0f} MiB"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = command_line(__doc__, "backends")
    parser.add_argument("--child-many", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        if args.child_many:
            print(json.dumps(_many_child(args.child_many, directory)))
            return
        repetitions = 2 if args.quick else 9
        results = {
            "machine": machine(),
            "date": datetime.date.today().isoformat(),
            "repetitions": repetitions,
            "overhead": overhead(directory, repetitions),
            "fan_out": fan_out(directory, repetitions),
            "unbalanced": unbalanced(directory, repetitions),
            "many": many(1 if args.quick else 3),
        }
    print(_table(results))
    write_report(results, args.json, "backends")


if __name__ == "__main__":
    main()
