"""Event loops: one interface for what a run does on a loop, one implementation per library.

The concurrent scheduler and the executor use a loop through ``EventLoop``
and a run's ``StepTasks`` only; ``loop_asyncio.py`` and ``loop_trio.py``
implement them (on ``OnLoop``), and ``CallerThread`` stands in when a run has
no loop at all. Each implementation is imported on first use, with its
library: a serial run loads neither asyncio nor trio (``tests/test_import.py``).
"""

from __future__ import annotations

import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, nullcontext
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .._lazy import lazy_module

if TYPE_CHECKING:
    import anyio
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = [
    "CallerThread",
    "EventLoop",
    "OnLoop",
    "StepTasks",
    "event_loop",
    "open_step_tasks",
    "running_loop",
]

T = TypeVar("T")

#: A step's task: the scheduler's ``run_task``, called with the step's position.
TaskFunction = Callable[[int], Coroutine[Any, Any, None]]


class StepTasks(ABC):
    """A run's step tasks on one loop, and the run's wait for its worker threads.

    ``cancel()`` stops the step tasks and the run's wait. The run waits in
    ``woken()``; a worker thread that leaves it something to do calls
    ``wake_from_thread()``, which never waits for the loop.
    """

    __slots__ = ("cancel",)

    def __init__(self, cancel: Callable[[], object]) -> None:
        self.cancel = cancel

    @abstractmethod
    def start(self, run_task: TaskFunction, position: int) -> None:
        """Start ``run_task(position)`` as a task of the run."""

    @abstractmethod
    def finished(self, position: int) -> None:
        """``position``'s task is ending (called from the task itself)."""

    @abstractmethod
    async def settle(self) -> None:
        """After the run: stop the step tasks still running and wait until they end."""

    @abstractmethod
    def wake_from_thread(self) -> None:
        """End the run's current wait in ``woken``, from a worker thread."""

    @abstractmethod
    def wake(self) -> None:
        """End the run's current wait in ``woken``, from the run's own thread."""

    @abstractmethod
    async def woken(self) -> None:
        """Wait until the run is woken (then the next wake-up ends the next wait)."""


class OnLoop(StepTasks):
    """The wake-ups of a run on a loop: an event the loop sets, soon, for a worker thread.

    ``call_soon(callback)`` has the loop call ``callback`` soon, from any thread.
    """

    __slots__ = ("_call_soon", "_event")

    def __init__(
        self, cancel: Callable[[], object], call_soon: Callable[[Callable[[], object]], object]
    ) -> None:
        super().__init__(cancel)
        self._call_soon = call_soon
        self._event = anyio.Event()

    def wake_from_thread(self) -> None:
        self._call_soon(self._event.set)

    def wake(self) -> None:
        self._event.set()

    async def woken(self) -> None:
        await self._event.wait()
        self._event = anyio.Event()  # an anyio event cannot be cleared


class EventLoop(ABC):
    """One event-loop library as the runtime uses it (the shape of anyio's ``AsyncBackend``)."""

    #: The library's name, as ``anyio_backend`` spells it.
    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def run(cls, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Start a loop on this thread, await ``main()`` on it, close it; return the result."""

    @classmethod
    @abstractmethod
    def open_tasks(cls) -> AbstractAsyncContextManager[StepTasks]:
        """A group for a run's step tasks on the loop running the caller.

        Leaving it ends the run's wait; ``StepTasks.settle`` then stops the
        tasks still running, if the group did not.
        """


class CallerThread(StepTasks):
    """No loop: the caller's thread runs the run and waits for its workers itself.

    Only a run whose steps are all plain sync calls for worker threads runs
    so: it starts no task, and its wait (``woken``) blocks the caller's
    thread, never suspending the run's coroutine (``executor.run_blocking``).
    """

    __slots__ = ("_arrived",)

    def __init__(self) -> None:
        super().__init__(cancel=_nothing)
        self._arrived = threading.Event()

    def start(self, run_task: TaskFunction, position: int) -> None:
        raise AssertionError("a run without an event loop has only steps for worker threads")

    def finished(self, position: int) -> None:
        raise AssertionError("a run without an event loop has no tasks")

    async def settle(self) -> None:
        return None  # no tasks to settle

    def wake_from_thread(self) -> None:
        self._arrived.set()

    def wake(self) -> None:
        self._arrived.set()

    async def woken(self) -> None:
        self._arrived.wait()
        self._arrived.clear()


def _nothing() -> None:
    # Stopping a run without a loop: the workers see ``stopped``, nothing to cancel.
    return None


def open_step_tasks(on_loop: bool) -> AbstractAsyncContextManager[StepTasks]:
    """A group for the step tasks of a run starting on this thread.

    On the loop running here (the one ``running_loop`` names); without a
    loop (``on_loop`` false), the caller's thread's ``CallerThread``.
    """
    if not on_loop:
        return nullcontext(CallerThread())
    name = running_loop()
    if name is None:
        raise RuntimeError("a run on an event loop started where no loop runs")
    return event_loop(name).open_tasks()


_IMPLEMENTATIONS = {"asyncio": "loop_asyncio", "trio": "loop_trio"}
_loaded: dict[str, type[EventLoop]] = {}


def event_loop(name: str) -> type[EventLoop]:
    """The implementation for the loop library ``name`` ("asyncio" or "trio"), imported once."""
    found = _loaded.get(name)
    if found is None:
        module = import_module(f"{__package__}.{_IMPLEMENTATIONS[name]}")
        found = _loaded[name] = module.EVENT_LOOP
    return found


def running_loop() -> str | None:
    """The name of the event loop running on this thread, if any.

    Neither library is imported to answer: another thread may be importing
    one at this moment, and a half-initialized module lacks what is looked
    up (which means that no loop of that library can have started yet).
    """
    get_running_loop = getattr(sys.modules.get("asyncio"), "get_running_loop", None)
    if get_running_loop is not None:
        try:
            get_running_loop()
        except RuntimeError:
            pass
        else:
            return "asyncio"
    # trio marks the thread its loop runs on in sniffio's thread-local, which
    # it imports before anything else.
    marker = getattr(sys.modules.get("sniffio"), "thread_local", None)
    return "trio" if getattr(marker, "name", None) == "trio" else None
