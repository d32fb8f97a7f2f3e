"""Atomic groups: vertices that run as one transaction of a backend.

``AtomicGroup`` is a plain value at the bottom of the layering (``@vertex``
takes it, the model stores it); its backend is anything with ``begin``,
``commit`` and ``rollback`` (plain or coroutine methods), and optionally
``interrupt``. The two backends that ship are services:
``flowdsl._services.transactions``.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["AtomicGroup", "TransactionBackend"]

OnFailure = Literal["rollback", "compensate"]


@runtime_checkable
class TransactionBackend(Protocol):
    """Begins, commits and rolls back the transactions of an atomic group.

    Each method may be a coroutine function; flowdsl awaits it then.

    A backend may also have ``interrupt(transaction)``, a plain method (not
    one of the protocol's required methods). When the group is undone while
    a member runs on a worker thread (its timeout, a cancellation, a failure
    elsewhere), flowdsl calls it once, from the event loop's thread, waits
    for the member to return, and only then rolls back: a transaction is
    never touched by two threads at once. ``interrupt`` must return at once,
    be safe to call from any thread, and make the transaction refuse further
    work, so that the member fails soon. Without it, the group waits for the
    member to finish; ``result.metrics.vertices[name].stop_wait`` says how
    long it waited.
    """

    def begin(self, group: AtomicGroup) -> Any:
        """Start a transaction for one run of ``group``; return it."""

    def commit(self, transaction: Any) -> Any:
        """Make what the transaction did permanent."""

    def rollback(self, transaction: Any) -> Any:
        """Undo everything the transaction did."""


class AtomicGroup:
    """Vertices that run as one unit, inside one transaction of ``backend``.

    When every input the group needs from outside exists, the backend
    begins a transaction, the group's vertices run one at a time in
    topological order, and the transaction commits; on a failure it rolls back
    (``on_failure="rollback"``) or each completed vertex's ``compensate=``
    function runs, newest first (``"compensate"``), and nothing the group
    produced stays in the run. A group is identified by the object, not its
    name.

    Examples:
        >>> from flowdsl import AtomicGroup, MemoryTransaction, vertex
        >>> payment = AtomicGroup("payment", backend=MemoryTransaction())
        >>> @vertex(group=payment)
        ... def charge(amount: int) -> int:
        ...     return amount
    """

    def __init__(
        self,
        name: str,
        *,
        backend: TransactionBackend | None = None,
        on_failure: OnFailure = "rollback",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"AtomicGroup takes a non-empty name; got {name!r}")
        if on_failure not in ("rollback", "compensate"):
            raise ValueError(
                f"AtomicGroup({name!r}): on_failure={on_failure!r} is not 'rollback' or "
                "'compensate'"
            )
        if on_failure == "rollback" and backend is None:
            raise ValueError(
                f"AtomicGroup({name!r}): on_failure='rollback' needs a backend to roll back"
            )
        if backend is not None and not all(
            callable(getattr(backend, method, None)) for method in ("begin", "commit", "rollback")
        ):
            raise ValueError(
                f"AtomicGroup({name!r}): backend={backend!r} has no begin, commit and rollback"
            )
        interrupt = getattr(backend, "interrupt", None)
        if interrupt is not None and (
            not callable(interrupt) or inspect.iscoroutinefunction(interrupt)
        ):
            raise ValueError(
                f"AtomicGroup({name!r}): backend={backend!r} has an interrupt that is not a "
                "plain method (it is called while a member runs, and must return at once)"
            )
        self.name = name
        self.backend = backend
        self.on_failure: OnFailure = on_failure

    def __repr__(self) -> str:
        return f"AtomicGroup({self.name!r}, on_failure={self.on_failure!r})"
