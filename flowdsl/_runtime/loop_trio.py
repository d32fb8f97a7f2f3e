"""``EventLoop`` on trio: the steps' tasks go to a trio nursery inside an anyio task group.

The nursery holds the tasks (a plain ``start_soon``, about 70 us cheaper from
one step to the next than anyio's, measured between sleeps) and waits for
them; the task group around it keeps anyio's way of raising (a cancelled run
raises the loop's plain ``Cancelled``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import trio

from .loops import EventLoop, OnLoop, StepTasks, TaskFunction

__all__ = ["EVENT_LOOP"]

T = TypeVar("T")


class _TrioTasks(OnLoop):
    __slots__ = ("_start_soon",)

    def __init__(self, nursery: trio.Nursery) -> None:
        super().__init__(
            nursery.cancel_scope.cancel, trio.lowlevel.current_trio_token().run_sync_soon
        )
        self._start_soon = nursery.start_soon

    def start(self, run_task: TaskFunction, position: int) -> None:
        self._start_soon(run_task, position)

    def finished(self, position: int) -> None:
        return None  # the nursery keeps track of its tasks

    async def settle(self) -> None:
        return None  # leaving the nursery waited for every task


class TrioLoop(EventLoop):
    name = "trio"

    @classmethod
    def run(cls, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return trio.run(main)

    @classmethod
    @asynccontextmanager
    async def open_tasks(cls) -> AsyncIterator[StepTasks]:
        async with anyio.create_task_group(), trio.open_nursery() as nursery:
            yield _TrioTasks(nursery)


EVENT_LOOP = TrioLoop
