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
- Coroutine steps are the loop's own tasks: anyio's ``start_soon`` wraps
  each task in a cancel scope and an event, which costs more than the task
  (on trio, about 70 us more from one step to the next, measured between
  sleeps). On asyncio they are plain asyncio tasks, which the run cancels
  and awaits itself (``_Scheduler.settle_tasks``), so none outlives it; on
  trio they go to a trio nursery inside an anyio task group, which keeps
  anyio's way of raising (a cancelled run raises the loop's plain
  ``Cancelled``). On both, a BaseException that escapes a step ends the run
  and is raised as it is, once the run's tasks are done
  (``_Scheduler._escaped``).
- A step whose only dependent waits for nothing else is followed by that
  dependent on the same thread, without the ready queue in between
  (``_Scheduler.run_steps``): along a chain, a step costs about what it
  costs in the serial loop.
- Bookkeeping (counts, queue, outcomes) is shared by the loop and the
  workers under one lock, never held while user code runs.

A thread run whose steps are all plain sync calls leaves a loop nothing to
do; from a synchronous caller it runs without one (``run_without_loop``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NamedTuple

from .._lazy import lazy_module
from .._policies import RetryPolicy
from .calls import Places, awaited_directly, call_step
from .control import RunCalls, gated_steps
from .gates import Gates, Verdict
from .plan import CallMode, Plan
from .state import MISSING, RunState
from .workers import Crew

if TYPE_CHECKING:
    import asyncio

    import anyio
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = ["DEFAULT_MAX_WORKERS", "asyncio_loop", "run_concurrent", "runs_on_workers_alone"]

#: Worker threads per run when ``max_workers`` is not given (anyio's own default).
DEFAULT_MAX_WORKERS = 40


class _Outcome(NamedTuple):
    """How a step's call ended, to be recorded."""

    position: int
    output: Any
    duration: float
    error: Exception | None


class _Tables(NamedTuple):
    """Per step, how the scheduler dispatches it: kept per plan, backend, retry default
    and whether coroutines are limited, so that a run does not rebuild them."""

    #: Goes straight to its call once ready: no runner, no condition to look at first.
    direct: tuple[bool, ...]
    #: May continue a worker's chain: a direct sync thread step without its own
    #: deadline (a deadline needs the loop to stop waiting).
    chainable: tuple[bool, ...]
    #: A coroutine step ``run_task`` awaits itself, one coroutine frame fewer.
    awaited: tuple[bool, ...]
    #: The step fused after it, or -1 (see ``_Scheduler.run_fused``).
    fused: tuple[int, ...]
    #: How many steps it waits for, and the steps that wait for none.
    waiting: tuple[int, ...]
    sources: tuple[int, ...]


def _tables(
    plan: Plan, modes: tuple[CallMode, ...], gated: tuple[bool, ...], key: Any, places: Places
) -> _Tables:
    found: _Tables | None = plan.memo.get(key)
    if found is None:
        direct = tuple(not off for off in gated)
        chainable = tuple(
            mode is CallMode.THREAD and step.node.options.timeout is None and fast
            for mode, step, fast in zip(modes, plan.steps, direct, strict=True)
        )
        found = plan.memo[key] = _Tables(
            direct=direct,
            chainable=chainable,
            awaited=tuple(
                awaited_directly(step, mode, places)
                for step, mode in zip(plan.steps, modes, strict=True)
            ),
            fused=_fused(plan, modes, direct, chainable),
            waiting=tuple(len(step.after) for step in plan.steps),
            sources=tuple(step.position for step in plan.steps if not step.after),
        )
    return found


def _fused(
    plan: Plan, modes: tuple[CallMode, ...], direct: tuple[bool, ...], chainable: tuple[bool, ...]
) -> tuple[int, ...]:
    # Step s is fused after step p when s is p's only dependent, waits for
    # nothing but p, and runs where p runs: inline on the loop, or on a worker.
    inline = tuple(
        mode is CallMode.INLINE and fast for mode, fast in zip(modes, direct, strict=True)
    )
    fused = [-1] * len(plan.steps)
    for step in plan.steps:
        if len(step.downstream) != 1:
            continue
        (child,) = step.downstream
        if plan.steps[child].after != (step.position,):
            continue
        p = step.position
        if (inline[p] and inline[child]) or (chainable[p] and chainable[child]):
            fused[p] = child
    return tuple(fused)


def runs_on_workers_alone(plan: Plan, backend: str, run_retry: RetryPolicy | None) -> bool:
    """Whether every step is a plain sync call for a worker thread (kept per plan).

    Such a run has nothing for an event loop to do: no coroutine, no timer,
    no runner. A synchronous caller's thread then waits for the workers
    itself, without starting a loop (``run_without_loop``).
    """
    key = ("workers alone", backend, run_retry)
    alone: bool | None = plan.memo.get(key)
    if alone is None:
        gated = gated_steps(plan, run_retry)
        alone = plan.memo[key] = backend == "thread" and all(
            mode is CallMode.THREAD and step.node.options.timeout is None and not off
            for mode, step, off in zip(plan.call_modes(backend), plan.steps, gated, strict=True)
        )
    return alone


def _setter(event: threading.Event) -> Callable[[Callable[[], object]], object]:
    # A worker's wake-up call, when no loop runs: set the caller's event.
    return lambda _callback: event.set()


def asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running on this thread, or None (no loop, or trio)."""
    # asyncio not imported, or being imported by another thread at this
    # moment (a half-initialized module may lack the function): no asyncio
    # loop can have started yet.
    get_running_loop = getattr(sys.modules.get("asyncio"), "get_running_loop", None)
    if get_running_loop is None:
        return None
    try:
        loop: asyncio.AbstractEventLoop = get_running_loop()
        return loop
    except RuntimeError:
        return None


def _trio_call_soon() -> Callable[[Callable[[], object]], object]:
    import trio

    return trio.lowlevel.current_trio_token().run_sync_soon


class _Scheduler:
    """One concurrent run: the ready queue, the counts, and who runs what.

    ``cancel`` stops the run's tasks and its wait (None when no loop runs);
    the steps' tasks are asyncio tasks on ``loop``, or go to ``spawn``, a
    trio nursery's ``start_soon``.
    """

    def __init__(
        self,
        state: RunState,
        cancel: Callable[[], object] | None,
        loop: asyncio.AbstractEventLoop | None = None,
        spawn: Callable[[Callable[[int], Coroutine[Any, Any, None]], int], object] | None = None,
    ) -> None:
        plan = state.plan
        options = state.options
        self.state = state
        self.cancel = cancel
        self.steps = plan.steps
        self.values = state.values
        self.modes = plan.call_modes(options.backend)
        self.workers = options.max_workers or DEFAULT_MAX_WORKERS
        shared = state.shared_workers
        self.thread_limiter = (
            anyio.CapacityLimiter(self.workers) if shared is None else shared.limiter
        )
        self.task_limiter = (
            anyio.CapacityLimiter(options.max_concurrency) if options.max_concurrency else None
        )
        self.places = Places(state.waits, state.placed, self.thread_limiter, self.task_limiter)
        self.calls = RunCalls(state, self.places)
        self.invokers = self.calls.invokers
        self.controlled = self.calls.controlled
        key = ("concurrent", options.backend, options.retry, self.task_limiter is None)
        tables = _tables(plan, self.modes, self.calls.gated, key, self.places)
        self.direct, self.chainable, self.awaited = tables.direct, tables.chainable, tables.awaited
        # Steps are fused only when nothing watches each one (events, checkpoints).
        self.fused = tables.fused if state.emitter is None and state.checkpoint is None else None
        self.keep_going = options.on_error == "continue"
        self.waiting = list(tables.waiting)
        self.gates = Gates(state)
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
        self.crew: Crew | None = None
        # When each step went to the crew (its wait for a worker ends when one takes it).
        self.submitted = [0.0] * len(self.steps)
        # When each step began, for the run's timeline (where: ``state.lanes``).
        self.starts = state.starts = [0.0] * len(self.steps)
        # ``run`` waits for ``woken``: set when the run is over, or by a worker
        # through ``call_soon`` when the loop has something to do (at most one
        # such call in flight, ``wake_pending``; none once ``closed``).
        # Without a loop (``run_without_loop``) workers set ``arrived``, which
        # the caller's thread waits for, instead.
        self.arrived = threading.Event()
        self.loop = loop
        self.spawn = spawn
        # How a worker thread has the loop call something soon, without waiting.
        self.call_soon: Callable[[Callable[[], object]], object]
        if cancel is None:
            self.call_soon = _setter(self.arrived)
        elif self.loop is None:
            self.call_soon = _trio_call_soon()
        else:
            self.call_soon = self.loop.call_soon_threadsafe
        self.woken = anyio.Event()
        self.wake_pending = False
        self.closed = False
        # Step tasks started on asyncio (see the module's docstring), and what
        # any of them raised that is not a vertex's failure (an Exception).
        self.tasks: dict[int, asyncio.Task[None]] = {}
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
        if error is None and state.checkpoint is not None:
            try:
                state.checkpoint.record(self.steps[position].node, output)
            except Exception as exc:  # the output could not be kept: the vertex failed
                error = exc
        state.running.discard(position)
        state.durations[position] = duration
        if state.emitter is not None:
            state.emitter.vertex_done(
                self.steps[position].name, state.attempts.get(position, 1), duration, error
            )
        if error is None:
            self.values[position] = output
            state.completed.append(position)
        else:
            state.errors[position] = error
            if self.keep_going:
                self.gates.failed(position)
            else:
                state.failed_fast = self.stopped = True
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
        running, gates = state.running, self.gates
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
                if gates.active:  # a failure elsewhere: the general path decides
                    return _Outcome(position, output, duration, None)
                running.discard(position)
                state.durations[position] = duration
                values[position] = output
                state.completed.append(position)
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
        gates = self.gates
        if not (gates.active or self.steps[position].condition is not None):
            return True
        verdict = gates.verdict(self.steps[position])
        if verdict is Verdict.SKIP:
            self._settle(position)
            return False
        if verdict is Verdict.FAIL:
            assert gates.error is not None
            self.starts[position] = time.perf_counter()  # failed as it became ready
            self._record_live(position, None, 0.0, gates.error)  # type: ignore[arg-type]
            return False
        if verdict is Verdict.DEFAULTS:
            self.on_defaults.add(position)
        return True

    def _submit(self, position: int) -> None:
        if self.crew is None:
            shared = self.state.shared_workers
            budget = None if shared is None else shared.budget
            self.crew = Crew(self.workers, self.chain, self.lock, budget)
        self.state.running.add(position)
        self.submitted[position] = time.perf_counter()
        self.crew.submit(position)

    def _wake(self) -> None:
        # A worker asks the loop to drain (lock held).
        if not (self.wake_pending or self.closed):
            self.wake_pending = True
            self.call_soon(self.woken.set)

    # The loop's side.

    def drain(self) -> None:
        """Start every ready step: sync thread steps on the crew, coroutines as
        tasks, inline ones here and now; then see whether the run is over."""
        if not (self.ready or self.stopped) and self.unsettled:
            # Nothing to do: the common case after a step of a wide layer ends.
            # Read without the lock: a worker that changes any of these wakes
            # the loop, which drains again.
            return
        steps, lock = self.steps, self.lock
        modes, inline, state, ready = self.modes, CallMode.INLINE, self.state, self.ready
        clock = time.perf_counter
        direct, gates = self.direct, self.gates
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
                    and direct[ready[0]]
                    and not (gates.active or self.stopped)
                ):
                    position = ready.popleft()  # glue after glue: no dispatch needed
                else:
                    position = self._next_inline()
            self._start_workers()
        if self.stopped:
            if self.cancel is not None:
                self.cancel()
        elif not self.unsettled:
            self.woken.set()

    def _start_workers(self) -> None:
        # Threads the crew made under the lock start now, outside it.
        if self.crew is not None:
            self.crew.start_new()

    def _next_inline(self) -> int | None:
        # Dispatch ready steps (thread steps to the crew, coroutines as tasks)
        # until one must run inline here; return it, or None. Lock held.
        # One ready step at a time, so that a wide layer of inline steps costs
        # one queue operation each, not a pass over the layer.
        modes, inline = self.modes, CallMode.INLINE
        while True:
            position = self._take_one()
            if position is None:
                return None
            if not (self.controlled[position] or position in self.on_defaults):
                if modes[position] is inline:
                    return position
                if self.chainable[position]:
                    self._submit(position)
                    continue
            self._start(position)

    def _start(self, position: int) -> None:
        # ``run_task(position)`` as a task of the run.
        self.state.running.add(position)
        if self.spawn is not None:
            self.spawn(self.run_task, position)
        else:
            # Never without a loop: such a run has only steps for workers.
            assert self.loop is not None
            self.tasks[position] = self.loop.create_task(self.run_task(position))

    def _escaped(self, error: BaseException) -> None:
        # What escaped a step's task: the loop's cancellation goes on up;
        # anything else (a step's Exceptions are recorded: this is more) ends
        # the run, which raises it once its tasks are done.
        if isinstance(error, anyio.get_cancelled_exc_class()):
            raise error
        self.crashed.append(error)
        if not self.closed and self.cancel is not None:
            self.cancel()

    async def settle_tasks(self) -> None:
        """Cancel the step tasks still running on asyncio and wait until they end."""
        pending = [task for task in self.tasks.values() if not task.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        with anyio.CancelScope(shield=True):
            await sys.modules["asyncio"].wait(pending)  # tasks on asyncio: it is imported

    async def run_task(self, position: int) -> None:
        """A step's task: a step through its runner (retries, fallbacks, map,
        loop, limits, defaults), a coroutine step, or a thread step with its
        own deadline."""
        try:
            step, invoke, values = self.steps[position], self.invokers[position], self.values
            start = self.starts[position] = time.perf_counter()
            try:
                if self.controlled[position] or position in self.on_defaults:
                    output = await self.calls.runner(position).run(
                        values, position in self.on_defaults
                    )
                    duration = time.perf_counter() - start
                else:
                    if self.state.emitter is not None:
                        self.state.emitter.vertex_started(step.name, 1)
                    if self.awaited[position]:
                        output = await (invoke or step.invoke)(values)
                        duration = time.perf_counter() - start
                    else:
                        output, duration = await call_step(
                            step, self.modes[position], values, invoke, self.places
                        )
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
            self.tasks.pop(position, None)

    async def run(self) -> None:
        """Start the run, then drain whenever a worker left the loop something to do,
        until every step is settled (a stopped run is cancelled from ``drain``)."""
        self.drain()
        while self.unsettled:
            await self.woken.wait()
            self.woken = anyio.Event()
            with self.lock:
                self.wake_pending = False
            self.drain()

    # A worker thread's side.

    def chain(self, position: int) -> None:
        """Call ``position``, then each step it makes ready that a worker can run.

        The first such step continues on this thread; the others go to the
        crew; whatever the loop must run, or the end of the run, wakes it.
        """
        steps, lock = self.steps, self.lock
        chainable, running, emitter = self.chainable, self.state.running, self.state.emitter
        ready, gates, clock = self.ready, self.gates, time.perf_counter
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
                if len(ready) == 1 and chainable[ready[0]] and not (gates.active or self.stopped):
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
            if self.crew is not None:
                for position in self.crew.shutdown():
                    self.state.running.discard(position)


def _interrupt_in(error: BaseException) -> KeyboardInterrupt | None:
    if isinstance(error, KeyboardInterrupt):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = _interrupt_in(inner)
        if found is not None:
            return found
    return None


def run_without_loop(state: RunState) -> None:
    """Run a plan of plain sync steps on the workers, this thread waiting for them.

    What the loop does in ``_Scheduler.run``, without one: the caller's
    thread drains whenever a worker sets ``arrived``. Ctrl+C while it waits
    stops the run as it would on a loop.
    """
    scheduler = _Scheduler(state, None)
    arrived, lock = scheduler.arrived, scheduler.lock
    try:
        scheduler.drain()
        while scheduler.unsettled and not scheduler.stopped:
            arrived.wait()
            arrived.clear()
            with lock:
                scheduler.wake_pending = False
            scheduler.drain()
    finally:
        scheduler.close()


async def run_concurrent(state: RunState) -> None:
    """Run ``state.plan`` with every step started as soon as its inputs exist."""
    if state.loop_free:
        run_without_loop(state)
        return
    scheduler: _Scheduler | None = None
    try:
        async with anyio.create_task_group() as group:
            loop = asyncio_loop()
            if loop is None:
                import trio

                # Under trio the group only shapes what is raised (see the
                # module's docstring); the nursery holds the tasks.
                async with trio.open_nursery() as nursery:
                    scheduler = _Scheduler(
                        state, nursery.cancel_scope.cancel, spawn=nursery.start_soon
                    )
                    await scheduler.run()
            else:
                scheduler = _Scheduler(state, group.cancel_scope.cancel, loop=loop)
                await scheduler.run()
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
            await scheduler.settle_tasks()
            await scheduler.calls.abandon_open_groups()
    if scheduler is not None and scheduler.crashed:
        raise scheduler.crashed[0]
