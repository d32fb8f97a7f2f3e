"""``RunHandle``: a run on a background thread with its own event loop, cancellable."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._lazy import lazy_module
from ._result import RunResult
from ._runtime.executor import execute
from ._runtime.state import RunState
from .errors import FlowCancelled

if TYPE_CHECKING:
    import anyio
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = ["RunHandle"]


#: Seconds between two looks at a handle's cancel flag.
_WATCH_INTERVAL = 0.02


class RunHandle:
    """A run started with ``flow.start(...)``: poll it, wait for it, or cancel it.

    Examples:
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
        state.cancellable = True
        self._finish = finish
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
        from ._runtime.loops import event_loop  # a script that never starts a run skips it

        try:
            event_loop(self._state.options.anyio_backend).run(self._run)
        except BaseException as exc:  # handed to whoever calls result()
            self._outcome = exc
        finally:
            self._done.set()

    async def _run(self) -> None:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(self._watch, scope)
                await execute(self._state)
                group.cancel_scope.cancel()
        if scope.cancelled_caught or self._state.cancelled:
            self._cancelled = True
            return
        try:
            self._outcome = self._finish(self._state)
        except BaseException as exc:  # handed to whoever calls result()
            self._outcome = exc

    async def _watch(self, scope: anyio.CancelScope) -> None:
        # The cancel request comes from another thread as a plain flag, read
        # here on the loop (and by the schedulers between inline steps): no
        # thread ever waits on the loop, so none can be left blocked.
        while not self._state.cancel_requested:
            await anyio.sleep(_WATCH_INTERVAL)
        scope.cancel()

    def cancel(self) -> None:
        """Ask the run to stop; it stops within a few tens of milliseconds, keeping what completed.

        Coroutine vertices are cancelled; a sync vertex already running (on a
        worker thread or inline) finishes, and its result is dropped (a member
        of an atomic group is interrupted, and the run waits for it before
        rolling the group back).
        """
        self._state.cancel_requested = True

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
