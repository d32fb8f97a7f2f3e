"""Caching benchmark: what a cache hit costs, and what fingerprinting values costs.

1. A 1,000-vertex chain of trivial pure vertices, run serially: uncached
   (``cache=False``), cold (``cache=MemoryCache()`` freshly created: every
   vertex a miss, computed and stored) and warm (every vertex a hit); per-vertex
   cost of a hit and its ratio to the uncached run. The vertices are trivial
   on purpose: this measures flowdsl's bookkeeping, not the work a hit saves.
2. Fingerprinting a 10 MB ``bytes`` value, a 1,000,000-element list of ints,
   and a 1e7-element numpy array when numpy is installed.
3. Fingerprinting a 1,000,000-row, 10-column float64 pandas DataFrame, against
   pandas' own ``hash_pandas_object`` of the same frame in the same rounds
   (alternating, so a noisy neighbour hits both alike); the target is a ratio
   of at most 2. Skipped when pandas is not installed.
4. Hits against a dict memo: the warm 1,000-vertex pure chain with a
   ``MemoryCache`` and with a ``SQLiteCache`` file, timed in alternating
   rounds with the same chain computed by a plain loop that looks every
   vertex's value up in a dict keyed by (vertex, arguments), and with the
   uncached run; per vertex. Targets: a MemoryCache hit at most 3x the dict
   memo, a SQLite hit at most 20 us.
5. Two processes reading one warm SQLite cache file at once: the makespan of
   two concurrent readers over one reader's alone (each reader: its own
   process, the same runs; medians over alternating rounds). Target: at most
   1.3 (reads do not serialize). On a machine shared with other work, two
   processes may not get two cores: the same ratio for two processes that
   only compute for as long as one reader (no file) is measured in the same
   rounds, as the machine's own reference.

    python benchmarks/caching.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import _graphs
import _modes
from _scenarios.services import CACHE_CHAIN, cache_hit
from _timing import command_line, machine, measure, measure_side_by_side, write_report

import flowdsl
from flowdsl._services.fingerprint import fingerprint_value

SCRIPT = Path(__file__).resolve()
#: Runs of the warm chain each reader process makes.
READER_RUNS = {True: 5, False: 20}


def cache_hits(directory: Path, quick: bool) -> dict[str, Any]:
    """Scenario 1: uncached, cold and warm runs of a 1,000-vertex pure chain (``run.py``'s)."""
    serial, cache_on = _modes.select(["serial", "cache-on"])
    uncached = cache_hit(serial, quick, directory)
    cached = cache_hit(cache_on, quick, directory)
    size = cached["vertices"]
    return {
        "vertices": size,
        "uncached": uncached["uncached"],
        "cold": cached["cold"],
        "warm": cached["warm"],
        "uncached_per_vertex_us": uncached["per_vertex_us"],
        "miss_per_vertex_us": cached["miss_per_vertex_us"],
        "hit_per_vertex_us": cached["per_vertex_us"],
        "hit_ratio_to_uncached": cached["warm"]["median_s"] / uncached["uncached"]["median_s"],
    }


def fingerprints(repetitions: int) -> dict[str, Any]:
    """Scenario 2: fingerprint cost of large values."""
    values: dict[str, Any] = {
        "bytes_10MB": bytes(10_000_000),
        "list_1e6_ints": list(range(1_000_000)),
    }
    try:
        import numpy
    except ImportError:
        skipped = "numpy is not installed"
    else:
        values["numpy_1e7_float64"] = numpy.arange(10_000_000, dtype=numpy.float64)
        skipped = ""
    rows: dict[str, Any] = {
        name: measure(lambda v=value: fingerprint_value(v), repetitions, warmup=1)
        for name, value in values.items()
    }
    if skipped:
        rows["numpy_1e7_float64"] = {"skipped": skipped}
    return rows


def frame_fingerprint(repetitions: int, quick: bool) -> dict[str, Any]:
    """Scenario 3: a numeric DataFrame's fingerprint against ``hash_pandas_object``."""
    try:
        import numpy
        import pandas
    except ImportError:
        return {"skipped": "pandas is not installed"}
    rows = 100_000 if quick else 1_000_000
    frame = pandas.DataFrame(
        numpy.random.default_rng(0).random((rows, 10)), columns=[f"c{i}" for i in range(10)]
    )
    timings = measure_side_by_side(
        {
            "fingerprint_value": lambda: fingerprint_value(frame),
            "hash_pandas_object": lambda: pandas.util.hash_pandas_object(frame),
        },
        repetitions,
    )
    ratio = timings["fingerprint_value"]["median_s"] / timings["hash_pandas_object"]["median_s"]
    return {"rows": rows, "columns": 10, **timings, "ratio": ratio, "target_ratio": 2.0}


def _memo_loop(
    calls: tuple[_graphs.VertexCall, ...],
    inputs: Mapping[str, Any],
    memo: dict[tuple[str, tuple[Any, ...]], Any],
) -> dict[str, Any]:
    # ``reference_loop`` with a dict memo keyed by (vertex, arguments) in place of the calls.
    store = dict(inputs)
    for call in calls:
        store[call.name] = memo[(call.name, tuple(store[parent] for parent in call.parents))]
    return store


def hits_against_a_memo(directory: Path, quick: bool) -> dict[str, Any]:
    """Scenario 4: warm MemoryCache and SQLite runs beside a dict memo and the uncached run."""
    graph = _graphs.chain(CACHE_CHAIN, directory, pure=True)
    flow = flowdsl.Flow(flowdsl.compile(graph.module))
    memory = flowdsl.MemoryCache(maxsize=2 * graph.size)
    sqlite = flowdsl.SQLiteCache(directory / "hits.sqlite")
    last = graph.calls[-1].name
    for store in (memory, sqlite):
        flow.run(graph.inputs, cache=store)
        if flow.run(graph.inputs, cache=store).metrics.vertices[last].cache != "hit":
            raise RuntimeError("a warm cache did not hit")
    memo: dict[tuple[str, tuple[Any, ...]], Any] = {}
    store = dict(graph.inputs)
    for call in graph.calls:
        arguments = tuple(store[parent] for parent in call.parents)
        store[call.name] = memo[(call.name, arguments)] = call.function(*arguments)
    if _memo_loop(graph.calls, graph.inputs, memo)[last] != flow.run(graph.inputs)[last]:
        raise RuntimeError("the dict memo and the flow disagree")
    timings = measure_side_by_side(
        {
            "memory_hits": lambda: flow.run(graph.inputs, cache=memory),
            "sqlite_hits": lambda: flow.run(graph.inputs, cache=sqlite),
            "dict_memo": lambda: _memo_loop(graph.calls, graph.inputs, memo),
            "uncached": lambda: flow.run(graph.inputs),
        },
        3 if quick else 15,
        2,
    )
    sqlite.close()
    per_vertex = {name: t["median_s"] / graph.size * 1e6 for name, t in timings.items()}
    cpu = {name: t["cpu"]["median_s"] / graph.size * 1e6 for name, t in timings.items()}
    return {
        "vertices": graph.size,
        **timings,
        "per_vertex_us": per_vertex,
        "cpu_per_vertex_us": cpu,
        "memory_hit_to_dict_memo": per_vertex["memory_hits"] / per_vertex["dict_memo"],
        "cpu_memory_hit_to_dict_memo": cpu["memory_hits"] / cpu["dict_memo"],
        "targets": {"memory_hit_to_dict_memo": 3.0, "sqlite_hit_us": 20.0},
    }


def _reader(directory: Path, runs: int) -> None:
    # A reader process: open the warm file, say READY, wait for GO, run, report.
    spec = _graphs.chain_spec(CACHE_CHAIN)
    module = _graphs.import_path(_graphs.module_path(spec, directory, pure=True))
    flow = flowdsl.Flow(flowdsl.compile(module))
    with flowdsl.SQLiteCache(directory / "shared.sqlite") as store:
        flow.run(spec.inputs, cache=store)  # the plan built, the file opened
        print("READY", flush=True)
        sys.stdin.readline()
        cpu = time.process_time()
        for _ in range(runs):
            result = flow.run(spec.inputs, cache=store)
            if result.metrics.vertices[spec.last].cache != "hit":
                raise RuntimeError("a reader missed")
        print(json.dumps({"cpu_s": time.process_time() - cpu}), flush=True)


def _spinner(seconds: float) -> None:
    # The reference: compute (no file, no flowdsl) for ``seconds`` of CPU time.
    print("READY", flush=True)
    sys.stdin.readline()
    start = time.process_time()
    while time.process_time() - start < seconds:
        sum(range(1000))
    print(json.dumps({"cpu_s": time.process_time() - start}), flush=True)


def _makespan(arguments: list[str], processes_count: int) -> tuple[float, list[float]]:
    processes = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes_count)
    ]
    for process in processes:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "READY":
            raise RuntimeError("a reader process failed to start")
    start = time.perf_counter()
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("GO\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    makespan = time.perf_counter() - start
    if any(process.returncode for process in processes):
        raise RuntimeError("a reader process failed")
    return makespan, [json.loads(out.splitlines()[-1])["cpu_s"] for out in outputs]


def concurrent_readers(directory: Path, quick: bool) -> dict[str, Any]:
    """Scenario 5: two processes reading one warm SQLite file, against one alone."""
    graph = _graphs.chain(CACHE_CHAIN, directory, pure=True)
    flow = flowdsl.Flow(flowdsl.compile(graph.module))
    with flowdsl.SQLiteCache(directory / "shared.sqlite") as store:
        flow.run(graph.inputs, cache=store)
    runs = READER_RUNS[quick]
    reader = ["--reader", str(directory), str(runs)]
    seconds: dict[str, list[float]] = {"one": [], "two": [], "one_spin": [], "two_spin": []}
    cpu: list[float] = []
    for _ in range(2 if quick else 5):
        alone, used = _makespan(reader, 1)
        seconds["one"].append(alone)
        seconds["two"].append(_makespan(reader, 2)[0])
        cpu += used
        spinner = ["--spinner", str(used[0])]
        seconds["one_spin"].append(_makespan(spinner, 1)[0])
        seconds["two_spin"].append(_makespan(spinner, 2)[0])
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    return {
        "vertices": graph.size,
        "runs_per_reader": runs,
        "reader_cpu_s": statistics.median(cpu),
        **{f"{name}_s": value for name, value in medians.items()},
        "ratio": medians["two"] / medians["one"],
        "reference_ratio": medians["two_spin"] / medians["one_spin"],
        "target_ratio": 1.3,
    }


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    hits = report["cache_hits"]
    lines = [
        f"1. {hits['vertices']}-vertex pure chain, serial "
        f"(median of {hits['warm']['repetitions']})",
        f"   uncached run            {hits['uncached']['median_s'] * 1e3:9.2f} ms"
        f"   {hits['uncached_per_vertex_us']:7.2f} us/vertex",
        f"   cold cache (all miss)   {hits['cold']['median_s'] * 1e3:9.2f} ms"
        f"   {hits['miss_per_vertex_us']:7.2f} us/vertex",
        f"   warm cache (all hit)    {hits['warm']['median_s'] * 1e3:9.2f} ms"
        f"   {hits['hit_per_vertex_us']:7.2f} us/vertex",
        f"   hit / uncached          {hits['hit_ratio_to_uncached']:9.2f} x",
        "2. fingerprint_value",
    ]
    for name, row in report["fingerprints"].items():
        if "skipped" in row:
            lines.append(f"   {name:<20} skipped: {row['skipped']}")
        else:
            lines.append(f"   {name:<20} {row['median_s'] * 1e3:9.2f} ms")
    frame = report["frame_fingerprint"]
    if "skipped" in frame:
        lines.append(f"3. DataFrame fingerprint skipped: {frame['skipped']}")
    else:
        lines += _frame_lines(frame)
    memo = report["hits_against_a_memo"]
    per, cpu = memo["per_vertex_us"], memo["cpu_per_vertex_us"]
    lines += [
        f"4. warm {memo['vertices']}-vertex pure chain beside a dict memo "
        f"(median of {memo['dict_memo']['repetitions']}, alternating), per vertex: wall, CPU",
        f"   dict memo (vertex, args)  {per['dict_memo']:7.2f} us  {cpu['dict_memo']:7.2f} us",
        f"   uncached run              {per['uncached']:7.2f} us  {cpu['uncached']:7.2f} us",
        f"   MemoryCache hit           {per['memory_hits']:7.2f} us  {cpu['memory_hits']:7.2f} us"
        f"   {memo['memory_hit_to_dict_memo']:5.2f}x, {memo['cpu_memory_hit_to_dict_memo']:5.2f}x"
        " the dict memo (target <= 3)",
        f"   SQLiteCache hit           {per['sqlite_hits']:7.2f} us  {cpu['sqlite_hits']:7.2f} us"
        "   (target <= 20 us)",
    ]
    readers = report["concurrent_readers"]
    lines += [
        f"5. one warm SQLite file, {readers['runs_per_reader']} warm runs per reader process "
        f"(CPU {readers['reader_cpu_s'] * 1e3:.1f} ms each)",
        f"   one reader              {readers['one_s'] * 1e3:9.1f} ms",
        f"   two readers at once     {readers['two_s'] * 1e3:9.1f} ms",
        f"   ratio                   {readers['ratio']:9.2f} x   (target <= 1.3)",
        f"   reference: two processes computing as long, no file: "
        f"{readers['reference_ratio']:.2f} x",
    ]
    return "\n".join(lines)


def _frame_lines(frame: dict[str, Any]) -> list[str]:
    return [
        f"3. {frame['rows']:,}-row, {frame['columns']}-column float64 DataFrame "
        f"(median of {frame['fingerprint_value']['repetitions']}, alternating)",
        f"   fingerprint_value       {frame['fingerprint_value']['median_s'] * 1e3:9.2f} ms",
        f"   hash_pandas_object      {frame['hash_pandas_object']['median_s'] * 1e3:9.2f} ms",
        f"   ratio                   {frame['ratio']:9.2f} x   (target <= {frame['target_ratio']})",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run both scenarios, print the table, write the JSON."""
    parser = command_line(__doc__, "caching")
    parser.add_argument("--reader", nargs=2, metavar=("DIRECTORY", "RUNS"), help=argparse.SUPPRESS)
    parser.add_argument("--spinner", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reader:
        _reader(Path(args.reader[0]), int(args.reader[1]))
        return 0
    if args.spinner is not None:
        _spinner(args.spinner)
        return 0
    repetitions = 2 if args.quick else 9
    with tempfile.TemporaryDirectory() as tmp:
        report = {
            "machine": machine(),
            "date": datetime.date.today().isoformat(),
            "cache_hits": cache_hits(Path(tmp), args.quick),
            "fingerprints": fingerprints(repetitions),
            "frame_fingerprint": frame_fingerprint(repetitions, args.quick),
            "hits_against_a_memo": hits_against_a_memo(Path(tmp), args.quick),
            "concurrent_readers": concurrent_readers(Path(tmp), args.quick),
        }
    print(table(report))
    write_report(report, args.json, "caching")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
