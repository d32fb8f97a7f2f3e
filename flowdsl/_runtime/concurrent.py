"""The thread and async backends: dependency-driven scheduling on an event loop.

A step starts the moment its last input exists; there is no barrier between
stages. Five things keep the per-vertex cost near the serial loop's:

- Ready steps that run inline (sync glue under the async backend) are called
  straight from the ready queue instead of becoming tasks.
- Sync steps on threads run on worker threads kept across runs
  (``workers.py``), not through one event-loop hop each; a worker that
  finishes a step goes on with the next ready one itself, so a chain of sync
  vertices never returns to the loop, and a fan-out is spread over the
  workers directly. A worker wakes the loop with the loop's own thread-safe
  callback, never by waiting on it.
- Coroutine steps are the loop's own tasks, started through the run's
  ``loops.StepTasks`` (one implementation per loop library, cheaper than
  anyio's ``start_soon``). A BaseException that escapes a step ends the run
  and is raised as it is, once the run's tasks are done
  (``_Scheduler._escaped``).
- A step whose only dependent waits for nothing else is followed by that
  dependent on the same thread, without the ready queue in between
  (``_Scheduler.run_steps``): along a chain, a step costs about what it
  costs in the serial loop.
- Bookkeeping (counts, queue, outcomes) is shared by the loop and the
  workers under one lock, never held while user code runs.

A thread run whose steps are all plain sync calls leaves a loop nothing to
do; from a synchronous caller it runs without one (``loops.CallerThread``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, NamedTuple

from .._lazy import lazy_module
from .calls import CallPlacement, call_step
from .control import StepRunners
from .loops import StepTasks, open_step_tasks
from .plan import CallMode
from .preconditions import Preconditions, StartDecision
from .state import MISSING, RunState
from .workers import RunWorkers

if TYPE_CHECKING:
    import anyio
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = ["DEFAULT_MAX_WORKERS", "run_concurrent"]

#: Worker threads per run when ``max_workers`` is not given (anyio's own default).
DEFAULT_MAX_WORKERS = 40


class _Outcome(NamedTuple):
    """How a step's call ended, to be recorded."""

    position: int
    output: Any
    duration: float
    error: Exception | None


class _Scheduler:
    """One concurrent run: the ready queue, the counts, and who runs what.

    ``tasks`` starts the steps' tasks on the run's loop, stops them, and
    carries a worker's wake-up call to the loop (``CallerThread`` when no
    loop runs).
    """

    def __init__(self, state: RunState, tasks: StepTasks) -> None:
        plan = state.plan
        options = state.options
        self.state = state
        self.steps = plan.steps
        self.values = state.values
        call_plan = state.call_plan
        self.modes = call_plan.modes
        self.workers = options.max_workers or DEFAULT_MAX_WORKERS
        shared = state.shared_workers
        self.thread_limiter = (
            anyio.CapacityLimiter(self.workers) if shared is None else shared.limiter
        )
        self.task_limiter = (
            anyio.CapacityLimiter(options.max_concurrency) if options.max_concurrency else None
        )
        self.placement = CallPlacement(
            state.waits, state.placed, self.thread_limiter, self.task_limiter
        )
        self.calls = StepRunners(state, self.placement)
        self.invokers = self.calls.invokers
        self.via_runner, self.off_fast_path = call_plan.via_runner, call_plan.off_fast_path
        tables = call_plan.tables
        assert tables is not None  # built for the thread and async backends
        self.chainable, self.awaited = tables.chainable, tables.awaited
        # Steps are fused only when nothing watches each one (events, checkpoints).
        self.fused = tables.fused if state.emitter is None and state.checkpoint is None else None
        self.waiting = list(tables.waiting)
        self.preconditions = Preconditions(state)
        # Ready steps to run through their runner with defaults for skipped producers.
        self.on_defaults: set[int] = set()
        self.readers_left = list(plan.reader_counts) if plan.reader_counts is not None else None
        self.ready = deque(tables.sources)
        self.lock = threading.Lock()
        # Inline steps never yield to the loop, whose timer enforces the run's
        # deadline, nor let a handle's cancel in: drain looks between them.
        timeout = options.timeout
        self.deadline = None if timeout is None else time.perf_counter() + timeout
        self.watched = self.deadline is not None or state.cancellable
        # Set when the run stops (failure, cancellation, deadline): workers still
        # finishing a call drop their result instead of recording it.
        self.stopped = False
        self.unsettled = len(self.steps)
        self.run_workers: RunWorkers | None = None
        # When each step went to the workers (its wait for a worker ends when one takes it).
        self.submitted = [0.0] * len(self.steps)
        # When each step began, for the run's timeline (where: ``state.lanes``).
        self.starts = state.starts = [0.0] * len(self.steps)
        # ``run_concurrent`` waits in ``tasks.woken()``: woken when the run is over, or by
        # a worker when the loop has something to do (at most one such
        # wake-up in flight, ``wake_pending``; none once ``closed``).
        self.tasks = tasks
        self.cancel = tasks.cancel
        self.wake_pending = False
        self.closed = False
        # What any step task raised that is not a vertex's failure (an Exception).
        self.crashed: list[BaseException] = []

    # Bookkeeping: call with the lock held.

    def _settle(self, position: int) -> None:
        self.unsettled -= 1
        waiting, ready = self.waiting, self.ready
        for child in self.steps[position].downstream:
            waiting[child] -= 1
            if not waiting[child]:
                ready.append(child)
        if self.readers_left is not None:
            self._read(position)

    def _read(self, position: int) -> None:
        # ``position`` has read its inputs: release those no step will read again.
        readers_left = self.readers_left
        assert readers_left is not None
        for parent in self.steps[position].upstream:
            readers_left[parent] -= 1
            if not readers_left[parent]:
                self.values[parent] = MISSING

    def _record_live(
        self, position: int, output: Any, duration: float, error: Exception | None
    ) -> bool:
        # ``position`` is done: store its outcome, wake its dependents and
        # release outputs nobody will read again; unless the run has stopped,
        # in which case a late result is dropped, never stored.
        if self.stopped:
            return False
        state = self.state
        state.running.discard(position)
        if state.step_ended(position, output, duration, error) is not None:
            if state.failed_fast:
                self.stopped = True
            else:
                self.preconditions.failed(position)
        self._settle(position)
        return True

    def run_steps(self, position: int, watch: bool) -> _Outcome | None:
        """Call ``position``, then the steps fused after it, here on this thread.

        A fused step is its producer's only dependent and waits for nothing
        else, so it is ready the moment the producer returns and nobody else
        could run it: it runs right away, and the producer is recorded
        without the ready queue (a chain of glue or of thread steps then costs
        about what the serial loop does). ``watch``: look at the deadline and
        cancel requests between steps, as the loop's thread must.

        Returns the last step's outcome, for the caller to record the usual
        way; None when the run stopped in between.
        """
        steps, invokers, values, clock = self.steps, self.invokers, self.values, time.perf_counter
        fused, state = self.fused, self.state
        running, preconditions = state.running, self.preconditions
        starts, lanes, here = self.starts, state.lanes, threading.get_ident()
        end = clock()
        while True:
            invoke = invokers[position] or steps[position].invoke
            starts[position] = end
            lanes[position] = here
            try:
                output = invoke(values)
            except Exception as exc:  # recorded as the vertex's failure
                return _Outcome(position, None, clock() - end, exc)
            now = clock()
            duration, end = now - end, now
            following = -1 if fused is None else fused[position]
            if following < 0:
                return _Outcome(position, output, duration, None)
            with self.lock:
                if self.stopped:
                    return None
                if preconditions.any_missing:  # a failure elsewhere: the general path decides
                    return _Outcome(position, output, duration, None)
                running.discard(position)
                if state.emitter is None:
                    # What ``state.step_completed`` writes, written here while
                    # nobody listens (as the serial loop does): a call per step
                    # would cost a chain of thread steps a twentieth of its time.
                    state.durations[position] = duration
                    values[position] = output
                    state.completed.append(position)
                else:
                    state.step_completed(position, output, duration)
                self.unsettled -= 1
                if self.readers_left is not None:
                    self._read(position)
            if watch and state.must_stop(self.deadline, end):
                with self.lock:
                    self.stopped = True
                return None
            position = following
            running.add(position)

    def _take_ready(self) -> list[int]:
        # Every ready step that is to run (see ``_admit``).
        taken: list[int] = []
        ready = self.ready
        while ready and not self.stopped:
            position = ready.popleft()
            if self._admit(position):
                taken.append(position)
        return taken

    def _take_one(self) -> int | None:
        # The next ready step that is to run, or None; the rest stay queued.
        ready = self.ready
        while ready and not self.stopped:
            position = ready.popleft()
            if self._admit(position):
                return position
        return None

    def _admit(self, position: int) -> bool:
        # Whether a ready step is to run. Those skipped (by a failure or a
        # condition upstream, or their own condition) are settled here, which
        # may make more steps ready; those whose condition cannot be read fail.
        preconditions = self.preconditions
        if not (preconditions.any_missing or self.steps[position].condition is not None):
            return True
        decision = preconditions.decide(self.steps[position])
        if decision is StartDecision.SKIP:
            self._settle(position)
            return False
        if decision is StartDecision.FAIL:
            assert preconditions.error is not None
            self.starts[position] = time.perf_counter()  # failed as it became ready
            self._record_live(position, None, 0.0, preconditions.error)  # type: ignore[arg-type]
            return False
        if decision is StartDecision.DEFAULTS:
            self.on_defaults.add(position)
        return True

    def _submit(self, position: int) -> None:
        if self.run_workers is None:
            shared = self.state.shared_workers
            budget = None if shared is None else shared.budget
            self.run_workers = RunWorkers(self.workers, self.chain, self.lock, budget)
        self.state.running.add(position)
        self.submitted[position] = time.perf_counter()
        self.run_workers.submit(position)

    def _wake(self) -> None:
        # A worker asks the loop to drain (lock held).
        if not (self.wake_pending or self.closed):
            self.wake_pending = True
            self.tasks.wake_from_thread()

    # The loop's side.

    def drain(self) -> None:
        """Start every ready step: sync thread steps on the workers, coroutines as
        tasks, inline ones here and now; then see whether the run is over."""
        if not (self.ready or self.stopped) and self.unsettled:
            # Nothing to do: the common case after a step of a wide layer ends.
            # Read without the lock: a worker that changes any of these wakes
            # the loop, which drains again.
            return
        steps, lock = self.steps, self.lock
        modes, inline, state, ready = self.modes, CallMode.INLINE, self.state, self.ready
        clock = time.perf_counter
        off_fast_path, preconditions = self.off_fast_path, self.preconditions
        with lock:
            position = self._next_inline()
        self._start_workers()
        while position is not None:
            if self.watched and state.must_stop(self.deadline, clock()):
                with lock:
                    self.stopped = True
                break
            if state.emitter is not None:
                state.emitter.vertex_started(steps[position].name, 1)
            outcome = self.run_steps(position, self.watched)
            with lock:
                if outcome is None or not self._record_live(*outcome):
                    break
                if (
                    len(ready) == 1
                    and modes[ready[0]] is inline
                    and not off_fast_path[ready[0]]
                    and not (preconditions.any_missing or self.stopped)
                ):
                    position = ready.popleft()  # glue after glue: no dispatch needed
                else:
                    position = self._next_inline()
            self._start_workers()
        if self.stopped:
            self.cancel()
        elif not self.unsettled:
            self.tasks.wake()

    def _start_workers(self) -> None:
        # Worker threads made under the lock start now, outside it.
        if self.run_workers is not None:
            self.run_workers.start_new()

    def _next_inline(self) -> int | None:
        # Dispatch ready steps (thread steps to the workers, coroutines as tasks)
        # until one must run inline here; return it, or None. Lock held.
        # One ready step at a time, so that a wide layer of inline steps costs
        # one queue operation each, not a pass over the layer.
        modes, inline = self.modes, CallMode.INLINE
        while True:
            position = self._take_one()
            if position is None:
                return None
            if not (self.via_runner[position] or position in self.on_defaults):
                if modes[position] is inline:
                    return position
                if self.chainable[position]:
                    self._submit(position)
                    continue
            self._start(position)

    def _start(self, position: int) -> None:
        # ``run_task(position)`` as a task of the run.
        self.state.running.add(position)
        self.tasks.start(self.run_task, position)

    def _escaped(self, error: BaseException) -> None:
        # What escaped a step's task: the loop's cancellation goes on up;
        # anything else (a step's Exceptions are recorded: this is more) ends
        # the run, which raises it once its tasks are done.
        if isinstance(error, anyio.get_cancelled_exc_class()):
            raise error
        self.crashed.append(error)
        if not self.closed:
            self.cancel()

    async def run_task(self, position: int) -> None:
        """A step's task: a step through its runner (retries, fallbacks, map,
        loop, limits, defaults), a coroutine step, or a thread step with its
        own deadline."""
        try:
            step, invoke, values = self.steps[position], self.invokers[position], self.values
            start = self.starts[position] = time.perf_counter()
            try:
                if self.via_runner[position] or position in self.on_defaults:
                    output = await self.calls.runner(position).run(
                        values, position in self.on_defaults
                    )
                    duration = time.perf_counter() - start
                else:
                    if self.state.emitter is not None:
                        self.state.emitter.vertex_started(step.name, 1)
                    if self.awaited[position]:
                        output = await (invoke or step.invoke)(values)
                    else:
                        output = await call_step(
                            step, self.modes[position], values, invoke, self.placement
                        )
                    # From the start the step's span shows: a worker thread
                    # began the call after it (``placed``), and ends before this.
                    duration = time.perf_counter() - start
            except Exception as exc:  # recorded as the vertex's failure
                with self.lock:
                    self._record_live(position, None, time.perf_counter() - start, exc)
            else:
                with self.lock:
                    self._record_live(position, output, duration, None)
            self.drain()
        except BaseException as error:
            self._escaped(error)
        finally:
            self.tasks.finished(position)

    # A worker thread's side.

    def chain(self, position: int) -> None:
        """Call ``position``, then each step it makes ready that a worker can run.

        The first such step continues on this thread; the others go to the
        workers; whatever the loop must run, or the end of the run, wakes it.
        """
        steps, lock = self.steps, self.lock
        chainable, running, emitter = self.chainable, self.state.running, self.state.emitter
        ready, preconditions, clock = self.ready, self.preconditions, time.perf_counter
        # Only the step handed to this worker waited for it; those it goes on with did not.
        self.state.waits[position] = clock() - self.submitted[position]
        following: int | None = position
        while following is not None:
            position = following
            if self.stopped:  # taken just as the run stopped: it never starts
                with lock:
                    running.discard(position)
                return
            if emitter is not None:
                emitter.vertex_started(steps[position].name, 1)
            outcome = self.run_steps(position, False)
            with lock:
                if outcome is None or not self._record_live(*outcome):
                    return
                if (
                    len(ready) == 1
                    and chainable[ready[0]]
                    and not (preconditions.any_missing or self.stopped)
                ):
                    # A chain: the one step it made ready goes on right here.
                    following = ready.popleft()
                    running.add(following)
                    continue
                following = None
                for candidate in self._take_ready():
                    if not chainable[candidate] or candidate in self.on_defaults:
                        ready.append(candidate)
                    elif following is None:
                        following = candidate
                        running.add(candidate)
                    else:
                        self._submit(candidate)
                if ready or not self.unsettled or self.stopped:
                    self._wake()
            self._start_workers()

    def close(self) -> None:
        """The run is over: workers drop what they finish, steps still waiting for a
        worker never start, and no worker wakes the loop any more."""
        with self.lock:
            self.stopped = self.closed = True
            if self.run_workers is not None:
                for position in self.run_workers.shutdown():
                    self.state.running.discard(position)


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
        async with open_step_tasks(state.on_loop) as tasks:
            scheduler = _Scheduler(state, tasks)
            # Start the run, then drain whenever a worker left the loop
            # something to do, until every step is settled (a stopped run is
            # cancelled from ``drain``). Here rather than in a method of its
            # own: every frame between ``flow.run`` and a vertex shows in its
            # tracebacks.
            scheduler.drain()
            while scheduler.unsettled and not scheduler.stopped:
                await tasks.woken()
                with scheduler.lock:
                    scheduler.wake_pending = False
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
            scheduler.close()
            await scheduler.tasks.settle()
            await scheduler.calls.abandon_open_groups()
    if scheduler is not None and scheduler.crashed:
        raise scheduler.crashed[0]
