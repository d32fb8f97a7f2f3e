"""Dask backend benchmark: flowdsl's ``backend="dask"`` beside hand-written ``dask.delayed``.

Both run on one ``distributed.LocalCluster`` of 2 worker processes x 8
threads, started once for the script (as a user would keep a cluster), with
the generated modules sent to the workers by value (cloudpickle), the same
way for both.

1. Per-vertex overhead on a 1,000-vertex chain of trivial functions: the
   time of a flowdsl run over the time of the same graph written with
   ``dask.delayed`` and computed with ``client.compute``, both computing
   every vertex's value (what a flowdsl run keeps by default) and both
   computing only the last (``outputs=[last]``). Target: within 1.3x.
   Each pair is measured alternately, so that load on the machine falls on both.
2. Makespan of 1,000 independent vertices each sleeping 100 ms, as a ratio
   to the ideal: 1,000 x 100 ms / 16 threads = 6.25 s.

    python benchmarks/dask_backend.py [--quick] [--json PATH]
"""

from __future__ import annotations

import datetime
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _graphs
from _timing import command_line, machine, write_report

import flowdsl

WORKERS = 2
THREADS = 8
CHAIN = 1_000
SLEEPERS = 1_000
SLEEP = 0.1


def _paired(
    first: Callable[[], object], second: Callable[[], object], repetitions: int
) -> tuple[list[float], list[float]]:
    # Alternate the two, after one untimed run of each.
    first()
    second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repetitions):
        for action, samples in ((first, a), (second, b)):
            start = time.perf_counter()
            action()
            samples.append(time.perf_counter() - start)
    return a, b


def _add_path(directory: str) -> None:
    # Run on each worker (a function sent by value: ``sys.path.insert`` would
    # carry the driver's list along).
    sys.path.insert(0, directory)


def _figures(samples: list[float]) -> dict[str, Any]:
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "samples_s": samples,
    }


def _modules(spec: _graphs.GraphSpec, directory: Path) -> tuple[Any, Any]:
    # The generated modules are importable here and on the workers (the
    # directory is on every sys.path): both libraries send functions by name.
    return _graphs.build(spec, directory, "flowdsl"), _graphs.build(spec, directory, "plain")


def _delayed(plain: Any, spec: _graphs.GraphSpec) -> dict[str, Any]:
    import dask

    nodes: dict[str, Any] = dict(spec.inputs)
    for call in plain.calls:
        nodes[call.name] = dask.delayed(call.function, pure=False)(
            *(nodes[p] for p in call.parents)
        )
    return {name: nodes[name] for name in spec.names}


def overhead(client: Any, directory: Path, repetitions: int) -> dict[str, Any]:
    """Scenario 1: the 1,000-chain, every value and the last one only."""
    spec = _graphs.chain_spec(CHAIN)
    flow_graph, plain_graph = _modules(spec, directory)
    flow = flowdsl.Flow.from_module(flow_graph.module)
    inputs = dict(spec.inputs)
    last = spec.last
    rows: dict[str, Any] = {}
    for label, outputs in (("every value", None), ("last value only", [last])):

        def with_flowdsl(outputs: list[str] | None = outputs) -> object:
            return flow.run(inputs, outputs=outputs, backend="dask", dask_client=client)

        def with_delayed(outputs: list[str] | None = outputs) -> object:
            # A fresh graph each time: computed delayed keys are not recomputed.
            nodes = _delayed(plain_graph, spec)
            wanted = list(nodes.values()) if outputs is None else [nodes[last]]
            return client.gather(client.compute(wanted))

        result: Any = with_flowdsl()
        values: Any = with_delayed()
        if not result[last] == values[-1] == flow_graph.direct(inputs[_graphs.INPUT]):
            raise RuntimeError("flowdsl and dask.delayed disagree on the chain's value")
        flowdsl_s, delayed_s = _paired(with_flowdsl, with_delayed, repetitions)
        rows[label] = {
            "flowdsl": _figures(flowdsl_s),
            "delayed": _figures(delayed_s),
            "flowdsl_per_vertex_ms": statistics.median(flowdsl_s) / CHAIN * 1e3,
            "delayed_per_vertex_ms": statistics.median(delayed_s) / CHAIN * 1e3,
            "ratio": statistics.median(flowdsl_s) / statistics.median(delayed_s),
        }
    return {"vertices": CHAIN, "rows": rows}


def makespan(client: Any, directory: Path, repetitions: int) -> dict[str, Any]:
    """Scenario 2: 1,000 independent 100 ms sleepers on 16 threads."""
    spec = _graphs.sleepers_spec(SLEEPERS, SLEEP, asynchronous=False)
    flow_graph, plain_graph = _modules(spec, directory)
    flow = flowdsl.Flow.from_module(flow_graph.module)
    inputs = dict(spec.inputs)

    def with_flowdsl() -> object:
        return flow.run(inputs, backend="dask", dask_client=client)

    def with_delayed() -> object:
        return client.gather(client.compute(list(_delayed(plain_graph, spec).values())))

    flowdsl_s, delayed_s = _paired(with_flowdsl, with_delayed, repetitions)
    ideal = SLEEPERS * SLEEP / (WORKERS * THREADS)
    return {
        "vertices": SLEEPERS,
        "sleep_s": SLEEP,
        "ideal_s": ideal,
        "flowdsl": _figures(flowdsl_s),
        "delayed": _figures(delayed_s),
        "flowdsl_ratio_to_ideal": statistics.median(flowdsl_s) / ideal,
        "delayed_ratio_to_ideal": statistics.median(delayed_s) / ideal,
    }


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    cluster = report["cluster"]
    first = report["overhead"]
    lines = [
        f"cluster: LocalCluster, {cluster['workers']} worker processes x {cluster['threads']} "
        f"threads (medians of {report['repetitions']} alternating runs)",
        f"1. {first['vertices']}-vertex chain of trivial vertices",
        "   computing            flowdsl (ms/vertex)   dask.delayed (ms/vertex)   ratio",
    ]
    for label, row in first["rows"].items():
        lines.append(
            f"   {label:<20} {row['flowdsl_per_vertex_ms']:19.3f}   "
            f"{row['delayed_per_vertex_ms']:24.3f}   {row['ratio']:5.2f}x"
        )
    second = report["makespan"]
    lines += [
        f"2. {second['vertices']} independent vertices sleeping {second['sleep_s'] * 1e3:g} ms "
        f"(ideal {second['ideal_s']:.2f} s)",
        f"   flowdsl        {second['flowdsl']['median_s']:7.2f} s   "
        f"{second['flowdsl_ratio_to_ideal']:5.2f}x ideal",
        f"   dask.delayed   {second['delayed']['median_s']:7.2f} s   "
        f"{second['delayed_ratio_to_ideal']:5.2f}x ideal",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Start the cluster, run both scenarios, print the table, write the JSON."""
    parser = command_line(__doc__, "dask")
    args = parser.parse_args(argv)
    import distributed

    repetitions = 1 if args.quick else 5
    with (
        tempfile.TemporaryDirectory() as tmp,
        distributed.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=THREADS,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        sys.path.insert(0, tmp)
        client.run(_add_path, tmp)
        report = {
            "machine": machine(),
            "date": datetime.date.today().isoformat(),
            "quick": args.quick,
            "repetitions": repetitions,
            "cluster": {"workers": WORKERS, "threads": THREADS},
            "versions": {"dask": distributed.__version__},
            "overhead": overhead(client, Path(tmp), repetitions),
            "makespan": makespan(client, Path(tmp), max(1, repetitions // 2)),
        }
    print(table(report))
    write_report(report, args.json, "dask")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
