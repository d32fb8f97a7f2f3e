"""The per-loop interface (``flowdsl._runtime.loops``): one implementation per loop library.

The scheduler and the executor reach asyncio and trio only through it; each
implementation is checked here on its own loop, and the rest of the package
is checked to import neither library.
"""

from __future__ import annotations

import ast
import threading
import traceback
from pathlib import Path
from typing import Any

import anyio
import pytest

import flowdsl
from flowdsl import Flow, vertex
from flowdsl._options import ANYIO_BACKENDS
from flowdsl._runtime.loops import (
    CallerThread,
    StepTasks,
    event_loop,
    open_step_tasks,
    running_loop,
)

PACKAGE = Path(flowdsl.__file__).resolve().parent
#: Every loop a run may name (``anyio_backend``) has an implementation.
LOOPS = list(ANYIO_BACKENDS)
#: The modules that implement the interface: the only ones that import a loop library.
IMPLEMENTATIONS = {"asyncio": "loop_asyncio.py", "trio": "loop_trio.py"}


def _imported_loop_libraries(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in LOOPS)
    return found


def test_only_the_loop_implementations_import_asyncio_or_trio() -> None:
    importers = {
        str(path.relative_to(PACKAGE)): libraries
        for path in sorted(PACKAGE.rglob("*.py"))
        if (libraries := _imported_loop_libraries(path))
    }
    assert importers == {
        f"_runtime/{module}": {library} for library, module in IMPLEMENTATIONS.items()
    }


@pytest.mark.parametrize("library", LOOPS)
def test_an_event_loop_runs_a_coroutine_on_its_own_library(library: str) -> None:
    loop = event_loop(library)
    assert loop.name == library
    assert event_loop(library) is loop  # imported once

    async def main() -> str | None:
        return running_loop()

    assert running_loop() is None
    assert loop.run(main) == library
    assert running_loop() is None


@pytest.mark.anyio
async def test_step_tasks_run_and_the_run_is_woken_from_a_thread(anyio_backend: str) -> None:
    ran: list[int] = []

    async def step(position: int) -> None:
        await anyio.sleep(0)
        ran.append(position)
        tasks.finished(position)

    async with open_step_tasks(on_loop=True) as tasks:
        assert isinstance(tasks, StepTasks)
        for position in range(3):
            tasks.start(step, position)
        thread = threading.Thread(target=tasks.wake_from_thread)
        with anyio.fail_after(10):
            thread.start()
            await tasks.woken()
            tasks.wake()  # a wake-up from the loop's own thread ends the next wait
            await tasks.woken()
        thread.join()
        with anyio.fail_after(10):
            while len(ran) < 3:
                await anyio.sleep(0.001)
    await tasks.settle()
    assert sorted(ran) == [0, 1, 2]


@pytest.mark.anyio
async def test_cancel_stops_the_step_tasks_and_settle_waits_for_them(anyio_backend: str) -> None:
    ended: list[str] = []

    async def step(position: int) -> None:
        try:
            await anyio.sleep(30)
        finally:
            ended.append(f"step {position}")
            tasks.finished(position)

    with anyio.fail_after(10):
        async with open_step_tasks(on_loop=True) as tasks:
            tasks.start(step, 0)
            tasks.start(step, 1)
            await anyio.sleep(0.01)
            tasks.cancel()
            await tasks.woken()  # cancelled: the run's wait ends too
        await tasks.settle()
    assert sorted(ended) == ["step 0", "step 1"]


def test_without_a_loop_the_callers_thread_waits_for_a_worker() -> None:
    tasks = CallerThread()
    worker = threading.Timer(0.01, tasks.wake_from_thread)
    worker.start()
    waiting = tasks.woken()
    with pytest.raises(StopIteration):  # it blocks this thread, never suspends
        waiting.send(None)
    worker.join()

    async def step(position: int) -> None:
        return None

    with pytest.raises(AssertionError, match="only steps for worker threads"):
        tasks.start(step, 0)


@pytest.mark.anyio
async def test_a_run_on_a_loop_needs_a_running_loop() -> None:
    # Inside a loop the group is on that loop; a thread without one is refused.
    def outside() -> object:
        return open_step_tasks(on_loop=True)

    with pytest.raises(RuntimeError, match="no loop runs"):
        await anyio.to_thread.run_sync(outside)


# The path from ``flow.run`` to a vertex on the concurrent backends (the serial
# backend's is counted in tests/test_frames.py).

#: The flowdsl frames on the stack when each vertex below was called.
seen: dict[str, list[str]] = {}


def _flowdsl_frames() -> list[str]:
    return [
        f"{Path(frame.filename).name}:{frame.name}"
        for frame in traceback.extract_stack()[:-1]
        if Path(frame.filename).resolve().is_relative_to(PACKAGE)
    ]


@vertex
def glue(x: int) -> int:
    seen["glue"] = _flowdsl_frames()
    return x + 1


@vertex
async def awaited(glue: int) -> int:
    seen["awaited"] = _flowdsl_frames()
    return glue + 1


@vertex
def on_a_worker(x: int) -> int:
    seen["on_a_worker"] = _flowdsl_frames()
    return x + 1


@pytest.mark.parametrize("library", LOOPS)
def test_the_async_backend_calls_a_vertex_within_9_flowdsl_frames(library: str) -> None:
    seen.clear()
    result: Any = Flow.from_functions(glue, awaited).run(
        {"x": 1}, backend="async", anyio_backend=library
    )
    assert result["awaited"] == 3
    # Sync glue runs inline on the loop's thread; a coroutine is a task of the loop.
    assert seen["glue"][0] == seen["awaited"][0] == "_flow.py:run"
    assert len(seen["glue"]) <= 9, seen["glue"]
    assert len(seen["awaited"]) <= 6, seen["awaited"]


@pytest.mark.parametrize("library", LOOPS)
def test_a_worker_thread_calls_a_vertex_within_5_flowdsl_frames(library: str) -> None:
    seen.clear()
    result: Any = Flow.from_functions(on_a_worker).run(
        {"x": 1}, backend="thread", anyio_backend=library
    )
    assert result["on_a_worker"] == 2
    assert "_flow.py:run" not in seen["on_a_worker"]  # a thread of its own
    assert len(seen["on_a_worker"]) <= 5, seen["on_a_worker"]
