"""One run of an atomic group: begin, commit, and undo everything on a failure.

The plan orders a group's vertices one after another (see
``_compiler/groups.py``), so its members' runners take turns: the first
begins the transaction, the last commits it, and a failure in any rolls it
back (or runs the compensations, newest first). Then nothing the group made
stays in the run: its completed vertices' outputs are removed and they show
``rolled_back``; those that never ran are skipped like any dependent of a
failure. An error while undoing is raised with the original
(``RollbackFailed``), never hidden, and the vertex it left undone shows
``failed``.

The transaction is touched by one thread at a time. A member running on a
worker thread when the group is undone (its timeout, a cancellation, a
failure elsewhere) is interrupted through the backend's ``interrupt``, if
it has one, and waited for (``calls.Holder``); only then does the group roll
back.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from .._groups import AtomicGroup
from .._lazy import lazy_module
from ..errors import RollbackFailed
from .calls import CallPlacement, call_placed, named_call
from .logs import log_extra, logger
from .plan import Step, call_mode
from .state import RunState

if TYPE_CHECKING:
    import anyio
    import anyio.to_thread
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = ["GroupRun"]


async def _backend_call(method: Callable[..., Any], argument: Any) -> Any:
    # A coroutine method is awaited; a plain one may block (SQLite waits for
    # its lock), so it runs on a worker thread.
    if inspect.iscoroutinefunction(method):
        return await method(argument)
    return await anyio.to_thread.run_sync(method, argument)


@attrs.define
class _Done:
    """A member that completed: what it was called with and what it returned."""

    position: int
    arguments: dict[str, Any]
    output: Any


class GroupRun:
    """The transaction of one group in one run, and the members done in it.

    It is the ``Holder`` of its members' calls on worker threads: it
    interrupts them through the backend and records how long they took to
    return.
    """

    def __init__(
        self,
        state: RunState,
        group: AtomicGroup,
        members: tuple[int, ...],
        placement: CallPlacement,
    ) -> None:
        self.state = state
        self.placement = placement
        self.group = group
        self.members = members
        self.transaction: Any = None
        self.open = False
        self.done: list[_Done] = []
        self._interrupt: Callable[[Any], Any] | None = getattr(group.backend, "interrupt", None)

    async def begin(self, position: int) -> Any:
        """Before a member runs: the live transaction (begun by the first member)."""
        if position == self.members[0] and self.group.backend is not None:
            self.transaction = await _backend_call(self.group.backend.begin, self.group)
            self.open = True
        return self.transaction

    async def completed(self, step: Step, arguments: dict[str, Any], output: Any) -> None:
        """A member completed; after the last, commit and checkpoint the group.

        Raises what the commit raised (after undoing the group).
        """
        self.done.append(_Done(step.position, arguments, output))
        if step.position != self.members[-1]:
            return
        if self.open and self.group.backend is not None:
            try:
                await _backend_call(self.group.backend.commit, self.transaction)
            except Exception as error:
                # Undone like any failure; an error while undoing is raised with it.
                failure = await self.fail(step.position, error)
                if failure is error:
                    raise
                raise failure from error
            self.open = False
        checkpoint = self.state.checkpoint
        if checkpoint is not None:  # a group is checkpointed only once it committed
            steps = self.state.plan.steps
            for done in self.done:
                checkpoint.record(steps[done.position].node, done.output, committed=True)

    async def fail(self, position: int, error: BaseException) -> BaseException:
        """Member ``position`` failed with ``error``: undo the group, and return what to raise."""
        problems = await self._undo(position)
        if not problems:
            return error
        node = self.state.plan.steps[position].node
        how = "rolling back" if self.group.on_failure == "rollback" else "compensating"
        failed = RollbackFailed(
            f"atomic group {self.group.name!r} failed ({type(error).__name__}: {error}), and "
            f"{how} it failed too: " + "; ".join(f"{type(p).__name__}: {p}" for p in problems),
            errors=problems,
            vertex=node.name,
            location=node.location,
        )
        failed.__cause__ = error
        return failed

    async def abandon(self, position: int | None = None) -> None:
        """The run stopped (cancelled, timed out) with the group open, while member
        ``position`` ran (None: between two members): undo the group.

        The cancellation goes on, so an error while undoing is logged, and the
        vertex it left undone shows ``failed``.
        """
        problems = await self._undo(position)
        if position is not None and not problems:
            self.state.step_undone(position)
        for problem in problems:
            logger.error(
                "atomic group %r: undoing it after the run stopped failed: %s: %s",
                self.group.name,
                type(problem).__name__,
                problem,
                extra=log_extra(None),
            )

    def interrupt(self) -> None:
        """Ask the backend to interrupt the member running in the transaction (if it can)."""
        interrupt = self._interrupt
        if interrupt is None or not self.open:
            return
        try:
            interrupt(self.transaction)
        except Exception as exc:
            self._interrupt = None  # the member is still waited for
            logger.warning(
                "atomic group %r: interrupt() raised %s: %s; waiting for the member to return",
                self.group.name,
                type(exc).__name__,
                exc,
                extra=log_extra(None),
            )

    def stopped(self, position: int, waited: float) -> None:
        """Member ``position`` returned ``waited`` seconds after it was stopped."""
        self.state.waited_for_stop(position, waited)
        name = self.state.plan.steps[position].name
        if getattr(self.group.backend, "interrupt", None) is None:
            how = "its backend cannot interrupt it"
        else:
            how = "interrupted"
        logger.info(
            "atomic group %r: waited %.3fs for %r to return (%s) before undoing the group",
            self.group.name,
            waited,
            name,
            how,
            extra=log_extra(name),
        )

    async def _undo(self, failing: int | None) -> list[BaseException]:
        # Once begun, an undo finishes, whatever else the run is told.
        with anyio.CancelScope(shield=True):
            done, self.done = self.done, []
            problems: list[BaseException] = []
            left: dict[int, BaseException] = {}  # member -> the error that left it undone
            if self.group.on_failure == "compensate":
                for member in reversed(done):
                    try:
                        await self._compensate(member)
                    except Exception as exc:
                        problems.append(exc)
                        left[member.position] = exc
            if self.open and self.group.backend is not None:
                self.open = False
                try:
                    await _backend_call(self.group.backend.rollback, self.transaction)
                except Exception as exc:
                    problems.append(exc)
                    left.update((member.position, exc) for member in done)
        for member in done:
            if member.position != failing:  # the scheduler records its failure
                self.state.step_undone(member.position, left.get(member.position))
        return problems

    async def _compensate(self, done: _Done) -> None:
        step = self.state.plan.steps[done.position]
        compensate = step.node.options.compensate
        if compensate is None:
            return
        mode = call_mode(
            inspect.iscoroutinefunction(compensate), step.node, self.state.options.backend
        )
        named = {**done.arguments, step.name: done.output}
        await call_placed(step, mode, named_call(compensate, named), self.placement, self)
