"""The thread and async backends: dependency-driven scheduling on an anyio task group.

A step starts the moment its last input exists; there is no barrier between
stages. Three things keep the per-vertex cost near the serial loop's:

- Ready steps that run inline (sync glue under the async backend) are called
  straight from a ready queue instead of becoming tasks.
- A worker thread that finishes a step and finds exactly one newly ready
  thread step runs it too, instead of handing back to the event loop: a
  thread hop costs 100-400 us on a small machine, so a chain of sync vertices
  pays one hop, not one per vertex. Wherever more than one step becomes ready,
  the worker hands back and the loop starts them all at once.
- Bookkeeping (counts, queue, outcomes) is shared by the loop and the
  workers, under one lock that is never held while user code runs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

from .caching import run_invokers
from .calls import call_step
from .plan import CallMode
from .state import MISSING, RunState

__all__ = ["DEFAULT_MAX_WORKERS", "run_concurrent"]

#: Worker threads per run when ``max_workers`` is not given (anyio's own default).
DEFAULT_MAX_WORKERS = 40


class _Scheduler:
    """One concurrent run: the ready queue, the counts, and who runs what."""

    def __init__(self, state: RunState, group: anyio.abc.TaskGroup) -> None:
        plan = state.plan
        options = state.options
        self.state = state
        self.group = group
        self.steps = plan.steps
        self.values = state.values
        self.modes = plan.call_modes(options.backend)
        self.invokers = run_invokers(state)
        # A step may continue a worker's chain when it is a sync thread step
        # without its own deadline (a deadline needs the loop to stop waiting).
        self.chainable = [
            mode is CallMode.THREAD and step.node.timeout is None
            for mode, step in zip(self.modes, self.steps, strict=True)
        ]
        self.keep_going = options.on_error == "continue"
        self.waiting = [len(step.upstream) for step in self.steps]
        self.dead = [False] * len(self.steps)
        self.any_dead = False
        self.readers_left = list(plan.reader_counts) if plan.reader_counts is not None else None
        self.ready = deque(i for i, count in enumerate(self.waiting) if count == 0)
        self.lock = threading.Lock()
        # Inline steps never yield to the loop, whose timer enforces the run's
        # deadline, nor let a handle's cancel in: drain looks between them.
        timeout = options.timeout
        self.deadline = None if timeout is None else time.perf_counter() + timeout
        self.watched = self.deadline is not None or state.cancellable
        # Set when the run stops (failure, cancellation, deadline): workers still
        # finishing a call drop their result instead of recording it.
        self.stopped = False
        self.thread_limiter = anyio.CapacityLimiter(options.max_workers or DEFAULT_MAX_WORKERS)
        self.task_limiter = (
            anyio.CapacityLimiter(options.max_concurrency) if options.max_concurrency else None
        )

    # Bookkeeping: call with the lock held.

    def _record(self, position: int, output: Any, duration: float, error: Exception | None) -> None:
        # ``position`` is done: store its outcome, wake its dependents, and
        # release outputs nobody will read again.
        state = self.state
        state.durations[position] = duration
        if error is None:
            self.values[position] = output
            state.completed.append(position)
        else:
            state.errors[position] = error
            if self.keep_going:
                self.dead[position] = self.any_dead = True
            else:
                state.failed_fast = self.stopped = True
        self._settle(position)

    def _settle(self, position: int) -> None:
        waiting, ready = self.waiting, self.ready
        for child in self.steps[position].downstream:
            waiting[child] -= 1
            if not waiting[child]:
                ready.append(child)
        readers_left = self.readers_left
        if readers_left is not None:
            for parent in self.steps[position].upstream:
                readers_left[parent] -= 1
                if not readers_left[parent]:
                    self.values[parent] = MISSING

    def _start_ready(self) -> int | None:
        # Start every ready step that is not inline as a task, skip (and
        # settle) those downstream of a failure, and return the first inline
        # one for the caller to run, or None when nothing is ready.
        ready, modes, inline = self.ready, self.modes, CallMode.INLINE
        while ready and not self.stopped:
            position = ready.popleft()
            if self.any_dead and any(self.dead[u] for u in self.steps[position].upstream):
                self.dead[position] = True
                self.state.skipped.append(position)
                self._settle(position)
            elif modes[position] is inline:
                if self.watched and self.state.must_stop(self.deadline, time.perf_counter()):
                    self.stopped = True
                    self.group.cancel_scope.cancel()
                    return None
                return position
            else:
                self.state.running.add(position)
                runner = self.run_chain if self.chainable[position] else self.run_task
                self.group.start_soon(runner, position)
        return None

    # The loop's side.

    def drain(self) -> None:
        """Start every ready step: inline ones here and now, the rest as tasks."""
        steps, values, lock, invokers = self.steps, self.values, self.lock, self.invokers
        clock = time.perf_counter
        with lock:
            position = self._start_ready()
        while position is not None:
            start = clock()
            try:
                output = (invokers[position] or steps[position].invoke)(values)
            except Exception as exc:
                error: Exception | None = exc
                output = None
            else:
                error = None
            duration = clock() - start
            with lock:
                if self.stopped:
                    return
                self._record(position, output, duration, error)
                position = self._start_ready()

    async def run_task(self, position: int) -> None:
        """Await a coroutine step, or a thread step with its own deadline."""
        try:
            output, duration = await call_step(
                self.steps[position],
                self.modes[position],
                self.values,
                self.invokers[position],
                self.thread_limiter,
                self.task_limiter,
            )
        except Exception as exc:
            with self.lock:
                if not self.stopped:
                    self.state.running.discard(position)
                    self._record(position, None, 0.0, exc)
        else:
            with self.lock:
                if not self.stopped:
                    self.state.running.discard(position)
                    self._record(position, output, duration, None)
        self.after_step()

    async def run_chain(self, position: int) -> None:
        """Run a thread step, and the chain that follows it, on one worker thread."""
        await anyio.to_thread.run_sync(
            self.chain, position, limiter=self.thread_limiter, abandon_on_cancel=True
        )
        self.after_step()

    def after_step(self) -> None:
        """Back on the loop after a task: stop everything on failure, else go on."""
        if self.state.failed_fast:
            self.group.cancel_scope.cancel()
        else:
            self.drain()

    # A worker thread's side.

    def chain(self, position: int) -> None:
        """Call ``position``; while exactly one chainable step becomes ready, call it too."""
        steps, values, lock, invokers = self.steps, self.values, self.lock, self.invokers
        ready, chainable, running = self.ready, self.chainable, self.state.running
        clock = time.perf_counter
        while True:
            start = clock()
            try:
                output = (invokers[position] or steps[position].invoke)(values)
            except Exception as exc:
                error: Exception | None = exc
                output = None
            else:
                error = None
            duration = clock() - start
            with lock:
                if self.stopped:
                    return
                running.discard(position)
                self._record(position, output, duration, error)
                # Skipping is the loop's job, so a worker stops chaining once anything failed.
                if len(ready) != 1 or not chainable[ready[0]] or self.stopped or self.any_dead:
                    return
                position = ready.popleft()
                running.add(position)


def _interrupt_in(error: BaseException) -> KeyboardInterrupt | None:
    if isinstance(error, KeyboardInterrupt):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = _interrupt_in(inner)
        if found is not None:
            return found
    return None


async def run_concurrent(state: RunState) -> None:
    """Run ``state.plan`` with every step started as soon as its inputs exist."""
    scheduler: _Scheduler | None = None
    try:
        async with anyio.create_task_group() as group:
            scheduler = _Scheduler(state, group)
            scheduler.drain()
    except BaseException as error:
        # A task group (under trio) wraps Ctrl+C in an exception group;
        # callers expect the plain KeyboardInterrupt, as from a serial run.
        interrupt = _interrupt_in(error)
        if interrupt is not None and interrupt is not error:
            raise interrupt from None
        raise
    finally:
        if scheduler is not None:
            with scheduler.lock:
                scheduler.stopped = True
