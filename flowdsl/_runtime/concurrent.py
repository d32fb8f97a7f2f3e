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

from .calls import call_step, gather
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
        # Set when the run stops (failure, cancellation, deadline): workers still
        # finishing a call drop their result instead of recording it.
        self.stopped = False
        self.thread_limiter = anyio.CapacityLimiter(options.max_workers or DEFAULT_MAX_WORKERS)
        self.task_limiter = (
            anyio.CapacityLimiter(options.max_concurrency) if options.max_concurrency else None
        )

    # Bookkeeping: call with the lock held.

    def _settle(self, position: int) -> None:
        # ``position`` is done (completed, failed or skipped): wake its
        # dependents and release outputs nobody will read again.
        waiting = self.waiting
        for child in self.steps[position].downstream:
            waiting[child] -= 1
            if waiting[child] == 0:
                self.ready.append(child)
        readers_left = self.readers_left
        if readers_left is not None:
            for parent in self.steps[position].upstream:
                readers_left[parent] -= 1
                if readers_left[parent] == 0:
                    self.values[parent] = MISSING

    def _record(self, position: int, output: Any, duration: float, error: Exception | None) -> None:
        state = self.state
        state.running.discard(position)
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

    def _next_ready(self) -> int | None:
        # Pop the next ready step to start, skipping (and settling) the dead.
        while self.ready and not self.stopped:
            position = self.ready.popleft()
            if self.any_dead and any(self.dead[u] for u in self.steps[position].upstream):
                self.dead[position] = True
                self.state.skipped.append(position)
                self._settle(position)
                continue
            return position
        return None

    # The loop's side.

    def drain(self) -> None:
        """Start every ready step: inline ones here and now, the rest as tasks."""
        steps = self.steps
        while True:
            with self.lock:
                position = self._next_ready()
                if position is None:
                    return
                mode = self.modes[position]
                if mode is not CallMode.INLINE:
                    self.state.running.add(position)
                    runner = self.run_chain if self.chainable[position] else self.run_task
                    self.group.start_soon(runner, position)
                    continue
            step = steps[position]
            start = time.perf_counter()
            try:
                args, kwargs = gather(step, self.values)
                output = step.function(*args, **kwargs)
            except Exception as exc:
                error: Exception | None = exc
                output = None
            else:
                error = None
            with self.lock:
                self._record(position, output, time.perf_counter() - start, error)

    async def run_task(self, position: int) -> None:
        """Await a coroutine step, or a thread step with its own deadline."""
        try:
            output, duration = await call_step(
                self.steps[position],
                self.modes[position],
                self.values,
                self.thread_limiter,
                self.task_limiter,
            )
        except Exception as exc:
            with self.lock:
                if not self.stopped:
                    self._record(position, None, 0.0, exc)
        else:
            with self.lock:
                if not self.stopped:
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

    def chain(self, position: int | None) -> None:
        """Call ``position``; while exactly one chainable step becomes ready, call it too."""
        steps = self.steps
        while position is not None:
            step = steps[position]
            start = time.perf_counter()
            try:
                args, kwargs = gather(step, self.values)
                output = step.function(*args, **kwargs)
            except Exception as exc:
                error: Exception | None = exc
                output = None
            else:
                error = None
            duration = time.perf_counter() - start
            with self.lock:
                if self.stopped:
                    return
                self._record(position, output, duration, error)
                position = None
                if len(self.ready) == 1 and self.chainable[self.ready[0]]:
                    position = self._next_ready()
                    if position is not None:
                        self.state.running.add(position)


async def run_concurrent(state: RunState) -> None:
    """Run ``state.plan`` with every step started as soon as its inputs exist."""
    scheduler: _Scheduler | None = None
    try:
        async with anyio.create_task_group() as group:
            scheduler = _Scheduler(state, group)
            scheduler.drain()
    finally:
        if scheduler is not None:
            with scheduler.lock:
                scheduler.stopped = True
