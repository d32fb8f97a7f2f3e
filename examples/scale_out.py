"""The same flow on a Dask cluster: each vertex a task, the data moving between workers.

Starts a local cluster of two worker processes (on a real cluster, connect
with dask_address="tcp://scheduler:8786" instead), runs a flow with a mapped
vertex, a retried one and a condition on it, and shows where each vertex ran.

    pip install "flowdsl[dask]"
    python examples/scale_out.py
"""

from __future__ import annotations

import logging
import os

import distributed

import flowdsl
from flowdsl import vertex


@vertex
def chunks(count: int) -> list[range]:
    return [range(i * 1000, (i + 1) * 1000) for i in range(count)]


@vertex(map_over="chunks", retries=2)
def partial_sum(chunks: range) -> int:  # one Dask task per chunk
    return sum(chunks)


@vertex
def total(partial_sum: list[int]) -> int:
    return sum(partial_sum)


@vertex(when="big")
def report(total: int) -> str:
    return f"total {total} computed in process {os.getpid()}"


@vertex
def big(total: int) -> bool:
    return total > 1_000_000


if __name__ == "__main__":
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        flow = flowdsl.Flow.from_module(__import__(__name__))
        result = flow.run({"count": 8}, backend="dask", dask_client=client)
        print("total:", result["total"])
        print("report ran on a worker:", str(os.getpid()) not in result["report"])
        print("partial_sum elements:", result.metrics.vertices["partial_sum"].elements)
        print("states:", {name: str(state) for name, state in result.states.items()})
