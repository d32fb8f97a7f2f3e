"""One run of an atomic group: begin, commit, and undo everything on a failure.

The plan orders a group's vertices one after another (see
``_compiler/groups.py``), so its members' runners take turns: the first
begins the transaction, the last commits it, and a failure in any rolls it
back (or runs the compensations, newest first). Then nothing the group made
stays in the run: its completed vertices' outputs are removed and they show
``rolled_back``, as do the ones that never ran. An error while undoing is
raised with the original (``RollbackFailed``), never hidden.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import attrs

from .._groups import AtomicGroup
from ..errors import RollbackFailed
from .calls import Places, call_placed, named_call
from .plan import Step, call_mode
from .state import MISSING, RunState

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
    """The transaction of one group in one run, and the members done in it."""

    def __init__(
        self, state: RunState, group: AtomicGroup, members: tuple[int, ...], places: Places
    ) -> None:
        self.state = state
        self.places = places
        self.group = group
        self.members = members
        self.transaction: Any = None
        self.open = False
        self.done: list[_Done] = []

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
        problems = await self._undo()
        state = self.state
        for member in self.members:
            if member == position:
                continue
            state.rolled_back.add(member)
            if member in state.completed:
                state.completed.remove(member)
            state.values[member] = MISSING
        if not problems:
            return error
        node = state.plan.steps[position].node
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

    async def abandon(self) -> None:
        """The run stopped (cancelled, timed out) with the group open: roll it back."""
        with anyio.CancelScope(shield=True):
            await self._undo()

    async def _undo(self) -> list[BaseException]:
        problems: list[BaseException] = []
        if self.group.on_failure == "compensate":
            for done in reversed(self.done):
                try:
                    await self._compensate(done)
                except Exception as exc:
                    problems.append(exc)
            self.done.clear()
        if self.open and self.group.backend is not None:
            self.open = False
            try:
                await _backend_call(self.group.backend.rollback, self.transaction)
            except Exception as exc:
                problems.append(exc)
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
        await call_placed(step, mode, named_call(compensate, named), self.places)
