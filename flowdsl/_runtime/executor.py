"""The executor core: hand a prepared run to its backend, under the run's deadline."""

from __future__ import annotations

import contextvars
import functools
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from .._lazy import lazy_module
from .check_log import current_checks
from .logs import current_run
from .serial import run_serial
from .state import RunState

if TYPE_CHECKING:
    import anyio

    from .. import _events as events
    from .._events import RunEnded
    from .._services.cache import CacheStore
    from . import caching, loops
    from .emitter import Emitter
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")
    # What only some runs use: the event classes (a run with listeners), the
    # stores (a run with a cache), the event loops (a run that needs one).
    events = lazy_module("flowdsl._events")
    caching = lazy_module("flowdsl._runtime.caching")
    loops = lazy_module("flowdsl._runtime.loops")

__all__ = ["alone_in", "execute", "run_blocking", "run_on_a_loop"]

T = TypeVar("T")

Scheduler = Callable[[RunState], Awaitable[None]]


async def _run_dask(state: RunState) -> None:
    # Imported on first use: Dask is an optional extra, and slow to import.
    from .dask_backend import run_dask

    await run_dask(state)


def _open_store(option: Any) -> tuple[CacheStore | None, Callable[[], None]]:
    """``caching.open_store``; a run without a cache does not import the cache's modules."""
    if option is False:
        return None, _no_store
    return caching.open_store(option)


def _no_store() -> None:
    return None


def _scheduler(backend: str) -> Scheduler:
    """The scheduler of ``backend`` (the concurrent one is imported when a run needs it)."""
    if backend == "serial":
        return run_serial
    if backend == "dask":
        return _run_dask
    from .concurrent import run_concurrent

    return run_concurrent


async def execute(state: RunState, *, announced: bool = False) -> RunState:
    """Run a prepared ``state`` on the backend its options name; return it, finished.

    Vertex failures and a passed run deadline are recorded in the state, not
    raised: the caller decides how to report them. Cancellation from outside
    propagates (the state then holds what completed before it). ``announced``:
    the run's listeners heard ``RunStarted`` already (``_between_run_events``).
    """
    token = current_run.set(state.run_id)
    checks = current_checks.set(state)
    try:
        emitter = state.emitter
        if emitter is not None and not announced:
            return await _between_run_events(state, emitter)
        # The run itself, here rather than in a function of its own: every
        # frame between ``flow.run`` and a vertex shows in its tracebacks.
        scheduler = _scheduler(state.options.backend)
        state.cache_store, close_store = _open_store(state.options.cache)
        state.home = threading.get_ident()
        start = state.began = time.perf_counter()
        try:
            if state.options.timeout is None:
                await scheduler(state)
            else:
                with anyio.move_on_after(state.options.timeout) as deadline:
                    await scheduler(state)
                state.timed_out = state.timed_out or deadline.cancelled_caught
        finally:
            state.total = time.perf_counter() - start
            close_store()
            if state.checkpoint is not None:
                state.checkpoint.close()
        return state
    finally:
        current_checks.reset(checks)
        current_run.reset(token)


async def _between_run_events(state: RunState, emitter: Emitter) -> RunState:
    # The run, between its RunStarted and RunEnded events.
    emitter.emit(
        events.RunStarted(
            run_id=state.run_id,
            time=time.time(),
            backend=state.options.backend,
            vertices=tuple(node.name for node in state.plan.nodes),
        )
    )
    if not emitter.has_async:
        try:
            return await execute(state, announced=True)
        finally:
            emitter.emit(_run_ended(state))
    # Coroutine listeners are awaited by a delivery task beside the run,
    # which finishes their queue before the run returns.
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(emitter.deliver)
            try:
                await execute(state, announced=True)
            finally:
                emitter.emit(_run_ended(state))
                emitter.close()
    except BaseException as error:
        # The task group wraps what the run raised (an error opening the
        # cache, Ctrl+C) in an exception group: callers expect it plain.
        alone = alone_in(error)
        if alone is error:
            raise
        raise alone  # noqa: B904 - the group is noise; the error keeps its own cause
    return state


def alone_in(error: BaseException) -> BaseException:
    """The one exception inside (nested) exception groups of one each, else ``error``."""
    inner = getattr(error, "exceptions", None)
    if inner is not None and len(inner) == 1:
        return alone_in(inner[0])
    return error


def _run_ended(state: RunState) -> RunEnded:
    if state.failed_fast or state.errors:
        outcome = "failed"
    elif state.timed_out:
        outcome = "timed out"
    elif state.cancelled or len(state.completed) + len(state.skipped) < len(state.plan.nodes):
        outcome = "cancelled"
    else:
        outcome = "completed"
    return events.RunEnded(
        run_id=state.run_id,
        time=time.time(),
        duration=state.total,
        outcome=outcome,
        completed=len(state.completed),
        failed=len(state.errors),
        skipped=len(state.skipped),
    )


def run_blocking(state: RunState) -> RunState:
    """``execute`` for a synchronous caller, starting an event loop only when needed."""
    # A deadline and coroutine listeners need the loop's timer and tasks; for the
    # rest, the run's call plan says.
    if (
        state.options.timeout is None
        and not state.call_plan.needs_event_loop
        and (state.emitter is None or not state.emitter.has_async)
    ):
        state.on_loop = False
        # Such a run never suspends (inline sync calls, or sync calls on workers
        # that this thread waits for: ``CallPlan.workers_alone``), so one send()
        # finishes it, and no event loop is needed.
        run = execute(state)
        try:
            run.send(None)
        except StopIteration as finished:
            done: RunState = finished.value
            return done
        run.close()
        raise RuntimeError("a run without an event loop suspended")
    return run_on_a_loop(functools.partial(execute, state), state.options.anyio_backend)


def run_on_a_loop(main: Callable[[], Coroutine[Any, Any, T]], anyio_backend: str) -> T:
    """``await main()`` on an event loop started for it (``anyio_backend``: which one).

    Inside a vertex whose thread runs a loop already, the loop is started on
    a thread of its own; elsewhere on such a thread it is a ``RuntimeError``
    pointing to ``arun``.
    """
    running = loops.running_loop()
    if running is None:
        return loops.event_loop(anyio_backend).run(main)
    if current_run.get() is None:
        raise RuntimeError(
            f"this run needs an event loop of its own, and {running} is running on this "
            "thread: inside a running loop, use `await flow.arun(...)`"
        )
    # A vertex body (a sync vertex inline on its run's loop, or a coroutine)
    # runs a flow of its own: the vertex blocks its loop's thread for its
    # whole call anyway, so the inner run gets a loop on a thread of its own.
    return _on_a_thread_of_its_own(main, anyio_backend)


def _on_a_thread_of_its_own(main: Callable[[], Coroutine[Any, Any, T]], anyio_backend: str) -> T:
    outcome: list[T | BaseException] = []

    def start() -> None:
        try:
            outcome.append(loops.event_loop(anyio_backend).run(main))
        except BaseException as error:  # handed to the caller's thread
            outcome.append(error)

    # The caller's context goes along (its context variables, the log records' run id).
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(start,), name="flowdsl-nested-run"
    )
    thread.start()
    thread.join()
    (finished,) = outcome
    if isinstance(finished, BaseException):
        raise finished
    return finished
