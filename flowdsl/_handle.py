"""``RunHandle``: a run on a background thread with its own event loop, cancellable."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import anyio
import anyio.from_thread
import anyio.lowlevel

from ._result import RunResult
from ._runtime.executor import execute
from ._runtime.state import RunState
from .errors import FlowCancelled

__all__ = ["RunHandle"]


class RunHandle:
    """A run started with ``flow.start(...)``: poll it, wait for it, or cancel it.

    >>> import flowdsl
    >>> from flowdsl import vertex
    >>> @vertex
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> handle = flowdsl.Flow.from_functions(double).start({"x": 4})
    >>> handle.result(timeout=10)["double"]
    8
    """

    def __init__(self, state: RunState, finish: Callable[[RunState], RunResult]) -> None:
        self._state = state
        self._finish = finish
        self._lock = threading.Lock()
        self._scope: anyio.CancelScope | None = None
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._cancel_requested = False
        self._cancelled = False
        self._outcome: RunResult | BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._main, name=f"flowdsl-run-{state.run_id[:8]}", daemon=True
        )
        self._thread.start()

    @property
    def run_id(self) -> str:
        """The id of the run."""
        return self._state.run_id

    def _main(self) -> None:
        try:
            anyio.run(self._run, backend=self._state.options.anyio_backend)
        except BaseException as exc:
            self._outcome = exc
        finally:
            self._done.set()

    async def _run(self) -> None:
        with anyio.CancelScope() as scope:
            with self._lock:
                self._scope = scope
                self._token = anyio.lowlevel.current_token()
                if self._cancel_requested:
                    scope.cancel()
            await execute(self._state)
        if scope.cancelled_caught:
            self._cancelled = True
            return
        try:
            self._outcome = self._finish(self._state)
        except BaseException as exc:
            self._outcome = exc

    def cancel(self) -> None:
        """Ask the run to stop; it returns promptly, keeping what completed.

        Coroutine vertices are cancelled; a sync vertex already running on a
        worker thread finishes in the background and its result is dropped.
        """
        with self._lock:
            self._cancel_requested = True
            scope, token = self._scope, self._token
        if scope is None or token is None or self._done.is_set():
            return
        # The loop may finish between the check and the call: nothing left to cancel then.
        with contextlib.suppress(RuntimeError):
            anyio.from_thread.run_sync(scope.cancel, token=token)

    def done(self) -> bool:
        """Whether the run has finished (completed, failed or cancelled)."""
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> RunResult:
        """Wait for the run and return its result (or raise what the run raised).

        Raises:
            TimeoutError: the run is still going after ``timeout`` seconds.
            FlowCancelled: the run was cancelled; ``.result`` holds what completed.
            VertexFailed, MissingInputError, ...: as ``flow.run`` would.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"the run {self.run_id} is still going after {timeout}s")
        self._thread.join()
        if self._cancelled:
            raise FlowCancelled(
                "the run was cancelled before it finished", result=RunResult(self._state)
            )
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        return outcome
