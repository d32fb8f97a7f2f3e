"""Composition benchmark: a sweep against a hand-written thread pool, and a sub-flow's cost.

1. Sweep: 100 distinct input sets over a 20-vertex chain of sync vertices,
   not pure, each sleeping 10 ms. ``flow.map(sets, backend="thread",
   max_workers=50)`` against a hand-written ``ThreadPoolExecutor(50)`` that
   calls ``flow.run(inputs, backend="serial")`` once per set, in alternating
   rounds of the same process; makespan of each and their ratio (target:
   at most 1.1). The ideal is 2 rounds of 50 chains x 20 x 10 ms = 0.4 s.
2. Sub-flow cost: a parent flow holding ``inner.as_vertex(...)`` (an inner
   chain of 5 trivial vertices) against the same parent with the inner
   vertices written into it directly, serial backend, many runs each; the
   difference per run (target: at most 5 us more).

    python benchmarks/composition.py [--quick] [--json PATH]
"""

from __future__ import annotations

import datetime
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _timing import command_line, machine, machine_line, measure_side_by_side, write_report

import flowdsl
from flowdsl import vertex

SLEEP = 0.010


def _chain(length: int, body: Any) -> list[Any]:
    # Vertex k reads vertex k - 1 (the first reads the input "x").
    vertices = []
    for k in range(length):
        source = "x" if k == 0 else f"c{k - 1}"
        namespace: dict[str, Any] = {"body": body}
        exec(f"def c{k}({source}: int) -> int:\n    return body({source})", namespace)
        vertices.append(vertex(namespace[f"c{k}"]))
    return vertices


def _sleeper(value: int) -> int:
    time.sleep(SLEEP)
    return value + 1


def sweep(quick: bool) -> dict[str, Any]:
    """Scenario 1: ``flow.map`` on threads against a ``ThreadPoolExecutor`` of serial runs."""
    sets = 20 if quick else 100
    length = 20
    workers = 50
    flow = flowdsl.Flow.from_functions(*_chain(length, _sleeper))
    inputs = [{"x": i} for i in range(sets)]
    expected = [i + length for i in range(sets)]

    def mapped() -> None:
        results = flow.map(inputs, backend="thread", max_workers=workers)
        assert [r[f"c{length - 1}"] for r in results] == expected

    def pool() -> None:
        with ThreadPoolExecutor(workers) as executor:
            results = list(executor.map(lambda i: flow.run(i, backend="serial"), inputs))
        assert [r[f"c{length - 1}"] for r in results] == expected

    timings = measure_side_by_side(
        {"flow.map": mapped, "ThreadPoolExecutor": pool}, 3 if quick else 7
    )
    ratio = timings["flow.map"]["median_s"] / timings["ThreadPoolExecutor"]["median_s"]
    return {
        "input_sets": sets,
        "chain": length,
        "sleep_s": SLEEP,
        "max_workers": workers,
        # Whole chains at a time, ``workers`` of them at once.
        "ideal_s": -(-sets // workers) * length * SLEEP,
        **timings,
        "ratio": ratio,
        "target_ratio": 1.1,
    }


def _identity(value: int) -> int:
    return value


def subflow_cost(quick: bool) -> dict[str, Any]:
    """Scenario 2: a parent with a sub-flow vertex against the same vertices written in."""
    inner_length, runs = 5, (2_000 if quick else 20_000)
    inner = flowdsl.Flow.from_functions(*_chain(inner_length, _identity))
    last = f"c{inner_length - 1}"

    @vertex
    def start(seed: int) -> int:
        return seed

    @vertex
    def finish_sub(sub: dict[str, int]) -> int:
        return sub[last]

    nested = flowdsl.Flow.from_functions(
        start, finish_sub, inner.as_vertex("sub", bind={"x": flowdsl.From("start")})
    )

    written_in = _chain(inner_length, _identity)

    @vertex(name="finish_sub")
    def finish_flat(c4: int) -> int:
        return c4

    # The same chain, its first vertex reading "start" instead of an input.
    namespace: dict[str, Any] = {"body": _identity}
    exec("def c0(start: int) -> int:\n    return body(start)", namespace)
    flat = flowdsl.Flow.from_functions(start, vertex(namespace["c0"]), *written_in[1:], finish_flat)
    assert nested.run({"seed": 3})["finish_sub"] == flat.run({"seed": 3})["finish_sub"] == 3

    def many(flow: flowdsl.Flow) -> Any:
        def action() -> None:
            for _ in range(runs):
                flow.run({"seed": 1})

        return action

    timings = measure_side_by_side(
        {"sub-flow": many(nested), "written in": many(flat)}, 3 if quick else 9
    )
    per_run = {name: t["median_s"] / runs * 1e6 for name, t in timings.items()}
    return {
        "inner_vertices": inner_length,
        "runs_per_repetition": runs,
        **timings,
        "per_run_us": per_run,
        "extra_per_run_us": per_run["sub-flow"] - per_run["written in"],
        "target_extra_us": 5.0,
    }


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    s, c = report["sweep"], report["subflow_cost"]
    return "\n".join(
        [
            machine_line(report),
            f"1. sweep: {s['input_sets']} input sets x {s['chain']}-vertex chain sleeping "
            f"{s['sleep_s'] * 1e3:g} ms, max_workers={s['max_workers']} "
            f"(median of {s['flow.map']['repetitions']}, alternating)",
            f"   flow.map(backend='thread')        {s['flow.map']['median_s']:8.3f} s",
            f"   ThreadPoolExecutor + serial runs  {s['ThreadPoolExecutor']['median_s']:8.3f} s",
            f"   ideal                             {s['ideal_s']:8.3f} s",
            f"   ratio                             {s['ratio']:8.3f} x   (target <= "
            f"{s['target_ratio']})",
            f"2. sub-flow of {c['inner_vertices']} trivial vertices, serial, "
            f"{c['runs_per_repetition']:,} runs (median of {c['sub-flow']['repetitions']})",
            f"   parent with inner.as_vertex(...)  {c['per_run_us']['sub-flow']:8.2f} us/run",
            f"   inner vertices written in         {c['per_run_us']['written in']:8.2f} us/run",
            f"   extra                             {c['extra_per_run_us']:8.2f} us/run   "
            f"(target <= {c['target_extra_us']:g})",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run both scenarios, print the table, write the JSON."""
    args = command_line(__doc__, "composition").parse_args(argv)
    report = {
        "benchmark": "composition",
        "quick": args.quick,
        "machine": machine(),
        "date": datetime.date.today().isoformat(),
        "sweep": sweep(args.quick),
        "subflow_cost": subflow_cost(args.quick),
    }
    print(table(report))
    write_report(report, args.json, "composition")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
