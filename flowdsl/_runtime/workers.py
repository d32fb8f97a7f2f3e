"""Worker threads for sync steps: a process-wide set of idle threads that runs share.

A thread hop through the event loop costs 100-400 us on a small machine, and
the loop's own thread pays it for every call, so 200 quick sync vertices
would queue on the loop rather than run. Instead a ready sync step goes to
its run's ``RunWorkers``: at most ``max_workers`` threads at once, each taking the
run's queued steps until none is left (the worker that runs a step records
its outcome and goes on with what became ready: ``_Scheduler.chain``). Only
work the loop must do (coroutines, inline glue, the end of the run) goes
back to it.

Starting a thread waits until it runs, which takes milliseconds on a busy
machine, so a worker with nothing left of its run's queue does not exit: it
goes back to a process-wide idle set that the next run (or another run at
the same time) takes from, as anyio's and trio's own thread caches do. A
worker left idle for ``IDLE_SECONDS`` exits; workers are daemon threads, so
an idle one never holds up the interpreter's exit.

No worker ever waits on a loop or on a run, so none is left behind: when a
run stops, steps still queued are dropped, never started, and each worker
finishes the call it is in (a sync function cannot be interrupted) and goes
back to the idle set.
"""

from __future__ import annotations

import collections
import contextvars
import functools
import os
import queue
import threading
from collections.abc import Callable

__all__ = ["IDLE_SECONDS", "RunWorkers", "WorkerBudget", "idle_threads"]

#: Seconds an idle worker waits for a run to take it before it exits (anyio's figure).
IDLE_SECONDS = 10.0

_Job = Callable[[], None]


class _Worker:
    """One pooled thread: runs the jobs handed to it, idling in between."""

    __slots__ = ("inbox", "thread")

    def __init__(self, job: _Job) -> None:
        self.inbox: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.thread = threading.Thread(
            target=self._serve, args=(job,), name="flowdsl-worker", daemon=True
        )

    def _serve(self, job: _Job | None) -> None:
        while job is not None:
            job()
            # Dropped before idling, so an idle worker keeps no run's values alive.
            job = None
            job = _IDLE.wait(self)


class _IdleWorkers:
    """The process-wide idle workers, most recently idle last."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.workers: list[_Worker] = []

    def take(self) -> _Worker | None:
        with self.lock:
            return self.workers.pop() if self.workers else None

    def wait(self, worker: _Worker) -> _Job | None:
        """Idle ``worker`` until a run hands it a job; None once it is to exit."""
        with self.lock:
            self.workers.append(worker)
        try:
            return worker.inbox.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            with self.lock:
                try:
                    self.workers.remove(worker)
                except ValueError:  # taken as the wait ran out: its job is on the way
                    pass
                else:
                    return None
            return worker.inbox.get()

    def forget(self) -> None:
        # In a forked child the idle threads do not exist and the lock may be held.
        self.lock = threading.Lock()
        self.workers = []


_IDLE = _IdleWorkers()
os.register_at_fork(after_in_child=_IDLE.forget)


def idle_threads() -> list[threading.Thread]:
    """The threads now idle in the shared set, waiting for any run to take them."""
    with _IDLE.lock:
        return [worker.thread for worker in _IDLE.workers]


class WorkerBudget:
    """Worker threads shared by several runs (a sweep, ``Flow.map``): at most ``size`` of
    their runs' workers busy at once.

    A run's workers take a slot for each worker they set to work, or wait in line for
    one; a worker that has nothing left of its run gives its slot to the
    next run in line. A run's ``RunWorkers`` lock may be held while taking a slot, never
    while giving one back.
    """

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._free = size
        self._waiting: collections.deque[RunWorkers] = collections.deque()

    def take(self, run_workers: RunWorkers) -> bool:
        """A slot for ``run_workers`` now, or False: they are in line for the next one."""
        with self._lock:
            if self._free:
                self._free -= 1
                return True
            self._waiting.append(run_workers)
            return False

    def give_back(self) -> None:
        """Hand a slot to the next run in line with work waiting, else free it."""
        while True:
            with self._lock:
                if not self._waiting:
                    self._free += 1
                    return
                run_workers = self._waiting.popleft()
            if run_workers.resume():
                return


class RunWorkers:
    """One run's share of the workers: at most ``size`` of them running ``run(position)``.

    ``lock`` is the scheduler's: ``submit`` and ``shutdown`` are called with
    it held, and it guards the queue and the count of busy workers. A step
    handed to a new thread is started by ``start_new``, after the lock is
    released: ``Thread.start`` waits until the thread runs, which would
    otherwise stall every other worker and the loop.
    """

    def __init__(
        self,
        size: int,
        run: Callable[[int], None],
        lock: threading.Lock,
        budget: WorkerBudget | None = None,
    ) -> None:
        self._size = size
        self._budget = budget
        self._run = run
        self._lock = lock
        self._queue: collections.deque[int] = collections.deque()
        self._busy = 0
        # The run's context (its id, for log records) goes with each job; one
        # copy per job, as a context cannot be entered by two threads at once.
        self._context = contextvars.copy_context()
        self._unstarted: collections.deque[_Worker] = collections.deque()

    def submit(self, position: int) -> None:
        """Run ``position`` on an idle worker, a new one, or the next of this run's
        workers to be free (lock held)."""
        if self._busy == self._size or (self._budget is not None and not self._budget.take(self)):
            self._queue.append(position)
            return
        self._busy += 1
        self._hand_out(position)

    def resume(self) -> bool:
        """Set a worker to this run's next queued step with a slot the budget gave it;
        False when there is none to start (call without the lock held)."""
        with self._lock:
            if not self._queue or self._busy == self._size:
                return False
            self._busy += 1
            self._hand_out(self._queue.popleft())
        self.start_new()
        return True

    def _hand_out(self, position: int) -> None:
        job = functools.partial(self._context.copy().run, self._work, position)
        worker = _IDLE.take()
        if worker is None:
            self._unstarted.append(_Worker(job))
        else:
            worker.inbox.put(job)

    def start_new(self) -> None:
        """Start the threads ``submit`` made (call without the lock held)."""
        unstarted = self._unstarted
        while unstarted:
            try:
                worker = unstarted.popleft()
            except IndexError:  # another caller took the last one
                return
            worker.thread.start()

    def _work(self, position: int) -> None:
        run, lock, waiting = self._run, self._lock, self._queue
        while True:
            run(position)
            with lock:
                if not waiting:
                    self._busy -= 1
                    break
                position = waiting.popleft()
        if self._budget is not None:
            self._budget.give_back()

    def shutdown(self) -> list[int]:
        """Drop the queued positions (returned): no worker starts them (lock held)."""
        dropped = list(self._queue)
        self._queue.clear()
        return dropped
