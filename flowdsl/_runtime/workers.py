"""The worker threads of one run: sync steps go here instead of one anyio hop each.

A thread hop through the event loop costs 100-400 us on a small machine, and
the loop's own thread pays it for every call, so 200 quick sync vertices
would queue on the loop rather than run. Instead each run gets its own pool
(at most ``max_workers`` threads, started when first needed): a ready sync
step goes into a queue, and the worker that takes it runs it, records the
outcome, and goes on with what became ready (see ``_Scheduler.chain``). Only
work the loop must do (coroutines, inline glue, the end of the run) goes back
to it, as a token in ``wakeups`` that a single pump task reads.

No thread ever waits on the loop, and ``shutdown`` unblocks every one that
waits on a queue, so none can be left behind; steps still queued when the
run stops are dropped, never started.
"""

from __future__ import annotations

import collections
import contextvars
import queue
import threading
from collections.abc import Callable

__all__ = ["WorkerPool"]


class WorkerPool:
    """At most ``size`` threads running ``run(position)`` for submitted positions.

    ``lock`` is the scheduler's: ``submit`` is called with it held, and the
    idle count is guarded by it. A new thread is made under the lock but
    started by ``start_new``, after the lock is released: ``Thread.start``
    waits until the thread runs, which on a busy machine takes milliseconds
    that would otherwise stall every other worker and the loop.
    """

    def __init__(self, size: int, run: Callable[[int], None], lock: threading.Lock) -> None:
        self._size = size
        self._run = run
        self._lock = lock
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._unstarted: collections.deque[threading.Thread] = collections.deque()
        self._idle = 0

    def submit(self, position: int) -> None:
        """Run ``position`` on an idle worker, a new one, or the next one free (lock held)."""
        if self._idle:
            self._idle -= 1
        elif len(self._threads) < self._size:
            # The run's context (its id, for log records) goes with the thread.
            context = contextvars.copy_context()
            thread = threading.Thread(
                target=context.run,
                args=(self._work, position),
                name="flowdsl-worker",
                daemon=True,
            )
            self._threads.append(thread)
            self._unstarted.append(thread)
            return
        self._queue.put(position)

    def start_new(self) -> None:
        """Start the threads ``submit`` made (call without the lock held)."""
        unstarted = self._unstarted
        while unstarted:
            try:
                thread = unstarted.popleft()
            except IndexError:  # another caller took the last one
                return
            thread.start()

    def _work(self, position: int | None) -> None:
        while position is not None:
            self._run(position)
            try:
                position = self._queue.get_nowait()
            except queue.Empty:
                with self._lock:
                    self._idle += 1
                position = self._queue.get()

    def shutdown(self) -> list[int]:
        """Drop the queued positions (returned) and tell every worker to stop once its
        current call returns (lock held)."""
        dropped = []
        while True:
            try:
                position = self._queue.get_nowait()
            except queue.Empty:
                break
            if position is not None:
                dropped.append(position)
        for _ in self._threads:
            self._queue.put(None)
        return dropped
