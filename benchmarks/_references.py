"""Minimal hand-written references: what a graph costs without any framework.

- ``reference_loop``: the functions in topological order, arguments looked up by
  parent name in a dict store (what any interpreter of the graph must do);
- ``ready_queue_on_threads``: a dependency-driven ready queue feeding a
  ``ThreadPoolExecutor``, started per run or kept warm across runs (the floor
  for a thread backend);
- ``tasks_on_asyncio``: one asyncio task per vertex, each awaiting its parents;
- ``tasks_on_anyio``: the same on anyio task groups and events, on asyncio or
  trio (the floor for anything built on anyio, as flowdsl is).

The schedulers take ``calls``: per vertex, its function and the indices of the
calls it reads, where a negative index ``-k`` reads ``inputs[k - 1]``
(``as_calls`` turns a flowdsl flow into that form).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import _graphs
import anyio

import flowdsl

__all__ = [
    "Calls",
    "anyio_tasks",
    "as_calls",
    "ready_queue_on_threads",
    "reference_loop",
    "tasks_on_anyio",
    "tasks_on_asyncio",
]

Calls = Sequence[tuple[Callable[..., Any], Sequence[int]]]


def reference_loop(
    calls: tuple[_graphs.VertexCall, ...], inputs: Mapping[str, Any]
) -> dict[str, Any]:
    """Call every vertex in topological order, arguments by parent name from a dict store."""
    store = dict(inputs)
    for call in calls:
        store[call.name] = call.function(*[store[parent] for parent in call.parents])
    return store


def as_calls(flow: flowdsl.Flow) -> list[tuple[Callable[..., Any], list[int]]]:
    """The flow's vertices as (function, parent indices) for the schedulers; input = -1."""
    names = list(flow.vertices)
    position = {name: i for i, name in enumerate(names)}
    return [
        (node.function, [-1 if b.is_input else position[b.source] for b in node.bindings])
        for node in flow.vertices.values()
    ]


def ready_queue_on_threads(
    calls: Calls,
    inputs: Sequence[Any],
    workers: int,
    pool: concurrent.futures.ThreadPoolExecutor | None = None,
) -> list[Any]:
    """A minimal dependency-driven scheduler: a ready queue feeding a thread pool.

    The pool is started for the run (as flowdsl's thread backend does), unless
    a running ``pool`` is given to reuse (threads started once, kept warm).
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

    with (
        contextlib.nullcontext(pool)
        if pool
        else concurrent.futures.ThreadPoolExecutor(workers) as executor
    ):

        def submit(i: int) -> None:
            function, parents = calls[i]
            args = [results[p] if p >= 0 else inputs[-p - 1] for p in parents]
            executor.submit(function, *args).add_done_callback(lambda f, i=i: finished(i, f))

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


def tasks_on_asyncio(calls: Calls, inputs: Sequence[Any]) -> list[Any]:
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


def tasks_on_anyio(calls: Calls, inputs: Sequence[Any], backend: str) -> list[Any]:
    """One anyio task per vertex in a task group, each waiting for its parents' events."""
    return anyio.run(anyio_tasks, calls, inputs, backend=backend)


async def anyio_tasks(calls: Calls, inputs: Sequence[Any]) -> list[Any]:
    """``tasks_on_anyio`` inside a running loop."""
    results: list[Any] = [None] * len(calls)
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
    return results
