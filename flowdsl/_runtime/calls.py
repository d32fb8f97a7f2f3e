"""Calling one step under its deadline: await it, send it to a worker thread, or call it.

The serial loop and the concurrent scheduler call inline steps themselves
(``Step.invoke``); everything with a deadline, a coroutine or a thread goes
through here, for every backend.

A call on a worker thread is abandoned when the run stops waiting for it (its
deadline, a cancellation): it finishes in the background, its result
dropped. A call that holds something only its thread may touch while it runs
(an atomic group's transaction: its ``Holder``) is never abandoned: the
holder is asked to interrupt it, and the run waits for it to return.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .._lazy import lazy_module
from ..errors import VertexTimeout
from .checking import Invoker
from .plan import CallMode, Step

if TYPE_CHECKING:
    import anyio
    import anyio.to_thread
else:  # imported on first use, so that `import flowdsl` stays light
    anyio = lazy_module("anyio")

__all__ = ["Holder", "CallPlacement", "awaited_directly", "call_placed", "call_step", "named_call"]

#: Seconds between two looks at whether a stopped held call has returned.
_RETURN_POLL = 0.005


def _timeout_error(step: Step) -> VertexTimeout:
    node = step.node
    return VertexTimeout(
        f"did not finish within its timeout of {node.options.timeout:g}s",
        vertex=node.name,
        location=node.location,
    )


class Holder(Protocol):
    """What a call on a worker thread holds while it runs (an atomic group's transaction).

    Nothing else may touch it until the call returns, so the call's thread is
    never abandoned; stopped, the call is interrupted and waited for.
    """

    def interrupt(self) -> None:
        """Ask the running call to stop (called once, on the event loop's thread)."""

    def stopped(self, position: int, waited: float) -> None:
        """Step ``position``'s call returned ``waited`` seconds after it was stopped."""


class CallPlacement:
    """How one run places its calls: the limits on its worker threads (``threads``) and
    on its coroutines at once (``tasks``), and where it records, per step, the seconds
    its calls waited for a worker thread (``waits``) and the thread and time its last
    call there began (``placed``)."""

    __slots__ = ("placed", "tasks", "threads", "waits")

    def __init__(
        self,
        waits: dict[int, float],
        placed: dict[int, tuple[int, float]],
        threads: anyio.CapacityLimiter | None = None,
        tasks: anyio.CapacityLimiter | None = None,
    ) -> None:
        self.waits = waits
        self.placed = placed
        self.threads = threads
        self.tasks = tasks


def named_call(function: Callable[..., Any], named: Mapping[str, Any]) -> Callable[[], Any]:
    """A call of ``function`` with the keyword arguments of ``named`` it takes (all of
    them when it has ``**kwargs``): how fallbacks and compensations are called."""
    parameters = inspect.signature(function).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        accepted = {p.name for p in parameters}
        named = {k: v for k, v in named.items() if k in accepted}
    return functools.partial(function, **named)


def awaited_directly(step: Step, mode: CallMode, limited: bool) -> bool:
    """Whether ``step`` is a coroutine step with no deadline and no limit to take first
    (``limited``: the run limits its coroutines): its invoker's awaitable is awaited as it
    is, without the general path's two coroutine frames, which every resumption of the
    coroutine would pass through."""
    return mode is CallMode.AWAIT and not limited and step.node.options.timeout is None


async def call_step(
    step: Step, mode: CallMode, values: list[Any], invoke: Invoker | None, placement: CallPlacement
) -> Any:
    """Run ``step`` where ``mode`` says; return its output.

    ``invoke`` is the step's checked invoker (``None``: no contracts to check).
    The caller times the call, from the start it records for the step's span.
    """
    if awaited_directly(step, mode, placement.tasks is not None):
        return await (invoke or step.invoke)(values)
    call = functools.partial(invoke or step.invoke, values)
    return await call_placed(step, mode, call, placement)


async def call_placed(
    step: Step,
    mode: CallMode,
    call: Callable[[], Any],
    placement: CallPlacement,
    holder: Holder | None = None,
) -> Any:
    """``call()`` (awaited in ``AWAIT`` mode) where ``mode`` says, under the step's timeout.

    A call with a timeout is stopped at its deadline (``VertexTimeout``): a
    coroutine is cancelled; a worker thread cannot be, so it finishes in the
    background and its result is dropped here, never stored. With a
    ``holder``, the thread is interrupted and waited for instead.
    """
    timeout = step.node.options.timeout
    if timeout is None:
        # A cancel scope costs tens of microseconds on asyncio: only a deadline needs one.
        return await _place(call, mode, placement, step.position, holder)
    with anyio.move_on_after(timeout) as deadline:
        output = await _place(call, mode, placement, step.position, holder)
    if deadline.cancelled_caught:
        raise _timeout_error(step)
    return output


async def _place(
    call: Callable[[], Any],
    mode: CallMode,
    placement: CallPlacement,
    position: int,
    holder: Holder | None,
) -> Any:
    if mode is CallMode.AWAIT:
        if placement.tasks is None:
            return await call()
        async with placement.tasks:
            return await call()
    if mode is CallMode.THREAD:
        dispatched = time.perf_counter()
        waits, placed = placement.waits, placement.placed

        def timed() -> Any:
            began = time.perf_counter()
            waits[position] = waits.get(position, 0.0) + began - dispatched
            placed[position] = (threading.get_ident(), began)
            return call()

        if holder is not None:
            return await _HeldCall(timed).run(placement.threads, holder, position)
        return await anyio.to_thread.run_sync(
            timed, limiter=placement.threads, abandon_on_cancel=True
        )
    return call()


class _HeldCall:
    """A call on a worker thread that is never left running behind the run's back."""

    __slots__ = ("call", "lock", "returned", "started", "withdrawn")

    def __init__(self, call: Callable[[], Any]) -> None:
        self.call = call
        self.lock = threading.Lock()
        self.started = self.withdrawn = False
        self.returned = threading.Event()

    def _body(self) -> Any:
        with self.lock:
            if self.withdrawn:  # stopped before a worker took it: it never starts
                return None
            self.started = True
        try:
            return self.call()
        finally:
            self.returned.set()

    async def run(
        self, limiter: anyio.CapacityLimiter | None, holder: Holder, position: int
    ) -> Any:
        """The call's output; stopped (a cancellation, Ctrl+C), it returns first, then what
        stopped it goes on."""
        try:
            return await anyio.to_thread.run_sync(
                self._body, limiter=limiter, abandon_on_cancel=True
            )
        except BaseException:
            with self.lock:
                self.withdrawn = True
                running = self.started and not self.returned.is_set()
            if running:
                start = time.perf_counter()
                holder.interrupt()
                try:
                    await self._returned()
                finally:
                    holder.stopped(position, time.perf_counter() - start)
            raise

    async def _returned(self) -> None:
        # Polled: the thread cannot wake the loop once the call was abandoned.
        pressed: KeyboardInterrupt | None = None
        with anyio.CancelScope(shield=True):
            while not self.returned.is_set():
                try:
                    await anyio.sleep(_RETURN_POLL)
                except anyio.get_cancelled_exc_class():
                    continue  # asyncio's Task.cancel() passes a shield: wait on
                except KeyboardInterrupt as exc:
                    pressed = exc  # raised once the call no longer holds anything
        if pressed is not None:
            raise pressed
