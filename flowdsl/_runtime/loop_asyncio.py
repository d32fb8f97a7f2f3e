"""``EventLoop`` on asyncio: the steps' tasks are plain asyncio tasks the run settles itself.

anyio's ``start_soon`` wraps each task in a cancel scope and an event, which
costs more than the task. The run keeps its tasks by step position (each
drops itself as it ends), and cancels and awaits those still running when it
ends, so none outlives it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
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


def _ctrl_c_is_ours() -> bool:
    # Only the main thread receives signals, and a handler the program set is its own.
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )


def _run_with_ctrl_c_as_cancel(
    cls: type[EventLoop], main: Callable[[], Coroutine[Any, Any, T]]
) -> T:
    """``asyncio.run(main())`` where Ctrl+C cancels the main task (Python 3.10).

    Python 3.10's ``asyncio.run`` lets Ctrl+C raise wherever the loop's thread
    happens to be, even between an atomic group's steps, which can leave the
    group neither rolled back nor committed. From 3.11, ``asyncio.Runner``
    cancels the main task instead, so the run unwinds through its ``finally``
    blocks, and then raises ``KeyboardInterrupt``; this does the same. It is
    ``AsyncioLoop.run`` itself there, so that it adds no frame to a run's stack.
    """
    if not _ctrl_c_is_ours():
        return asyncio.run(main())
    loop = asyncio.new_event_loop()
    interrupts = 0

    def on_ctrl_c(signum: int, frame: object) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1 and not task.done():
            task.cancel()
            loop.call_soon_threadsafe(lambda: None)  # wake a loop waiting in select()
            return
        raise KeyboardInterrupt  # a second Ctrl+C: stop now, as Python does

    try:
        asyncio.set_event_loop(loop)
        task = loop.create_task(main())
        signal.signal(signal.SIGINT, on_ctrl_c)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if interrupts:
                raise KeyboardInterrupt from None
            raise
        finally:
            if signal.getsignal(signal.SIGINT) is on_ctrl_c:
                signal.signal(signal.SIGINT, signal.default_int_handler)
    finally:
        try:
            _cancel_what_is_left(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_what_is_left(loop: asyncio.AbstractEventLoop) -> None:
    # As asyncio.run does when its main coroutine returns: no task outlives the loop.
    left = asyncio.all_tasks(loop)
    for task in left:
        task.cancel()
    if left:
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))


class AsyncioLoop(EventLoop):
    name = "asyncio"

    if sys.version_info >= (3, 11):

        @classmethod
        def run(cls, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
            # The loop's own entry point, not anyio.run: anyio's calls work on a
            # loop started natively, and its wrapper costs about 40 us a run.
            return asyncio.run(main())

    else:
        run = classmethod(_run_with_ctrl_c_as_cancel)

    @classmethod
    @asynccontextmanager
    async def open_tasks(cls) -> AsyncIterator[StepTasks]:
        # The task group's scope is what ``cancel`` stops: the run's wait.
        async with anyio.create_task_group() as group:
            yield _AsyncioTasks(group.cancel_scope.cancel, asyncio.get_running_loop())


EVENT_LOOP = AsyncioLoop
