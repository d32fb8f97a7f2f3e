"""``EventLoop`` on asyncio: the steps' tasks are plain asyncio tasks the run settles itself.

anyio's ``start_soon`` wraps each task in a cancel scope and an event, which
costs more than the task. The run keeps its tasks by step position (each
drops itself as it ends), and cancels and awaits those still running when it
ends, so none outlives it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio

from .loops import EventLoop, OnLoop, StepTasks, TaskFunction

__all__ = ["EVENT_LOOP"]

T = TypeVar("T")


class _AsyncioTasks(OnLoop):
    __slots__ = ("_create_task", "_tasks")

    def __init__(self, cancel: Callable[[], object], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(cancel, loop.call_soon_threadsafe)
        self._create_task = loop.create_task
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, run_task: TaskFunction, position: int) -> None:
        self._tasks[position] = self._create_task(run_task(position))

    def finished(self, position: int) -> None:
        self._tasks.pop(position, None)

    async def settle(self) -> None:
        pending = [task for task in self._tasks.values() if not task.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.wait(pending)


class AsyncioLoop(EventLoop):
    name = "asyncio"

    @classmethod
    def run(cls, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        # The loop's own entry point, not anyio.run: anyio's calls work on a
        # loop started natively, and its wrapper costs about 40 us a run.
        return asyncio.run(main())

    @classmethod
    @asynccontextmanager
    async def open_tasks(cls) -> AsyncIterator[StepTasks]:
        # The task group's scope is what ``cancel`` stops: the run's wait.
        async with anyio.create_task_group() as group:
            yield _AsyncioTasks(group.cancel_scope.cancel, asyncio.get_running_loop())


EVENT_LOOP = AsyncioLoop
