"""Markers placed in ``Annotated[...]`` metadata (or in ``vertex(bind=...)``): ``From``
binds to a vertex, ``Input`` to a flow input, ``Check`` constrains, ``Previous`` feeds a
loop its last output.

They are plain values at the bottom of the layering, so the DSL, the compiler
and the runtime services can all read them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ._location import SourceLocation
from .errors import BindingError

__all__ = ["Check", "From", "Input", "Previous", "Transaction"]


def marker_error(message: str) -> BindingError:
    """A marker made with a bad argument: a ``BindingError`` at the line that made it."""
    return BindingError(message, location=SourceLocation.of_caller())


@attrs.frozen
class From:
    """Bind a parameter to a vertex's output, or to one field of it.

    ``ref`` is ``"u"`` (the whole output of vertex ``u``), ``"u.field"`` (one
    field of a structured output), or the decorated function ``u`` itself.

    Examples:
        >>> from typing import Annotated
        >>> from flowdsl import From, vertex
        >>> @vertex
        ... def save(user_id: Annotated[int, From("fetch_user.id")]) -> int:
        ...     return user_id
    """

    ref: str | Callable[..., Any]

    def __attrs_post_init__(self) -> None:
        if isinstance(self.ref, str):
            if not self.ref or any(not part.isidentifier() for part in self.ref.split(".")):
                raise marker_error(
                    f"From({self.ref!r}): a reference is 'vertex' or 'vertex.field', "
                    "each part a Python identifier"
                )
        elif not callable(self.ref):
            raise marker_error(
                f"From({self.ref!r}): From() takes a vertex name or a decorated function"
            )


_IMPORTANCES = ("fail", "warn")


@attrs.frozen
class Input:
    """Bind a parameter to the flow input ``name`` (whatever the parameter is called).

    Used in ``vertex(fn, bind={"p": Input("name")})`` or as
    ``Annotated[T, Input("name")]``, which wins over the name rule, like ``From``.
    A parameter with a default keeps the input optional.

    Examples:
        >>> from typing import Annotated
        >>> import flowdsl
        >>> from flowdsl import Input, vertex
        >>> @vertex
        ... def greet(who: Annotated[str, Input("user_name")]) -> str:
        ...     return f"hello {who}"
        >>> flowdsl.Flow.from_functions(greet).run({"user_name": "Ada"})["greet"]
        'hello Ada'
    """

    name: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise marker_error(f"Input({self.name!r}): an input name is a Python identifier")


@attrs.frozen
class Check:
    """A custom check: ``predicate(value)`` must be true, else ``message`` is reported.

    Examples:
        >>> from typing import Annotated
        >>> from flowdsl import Check, vertex
        >>> @vertex
        ... def area(side: Annotated[float, Check(lambda s: s >= 0, "never negative")]) -> float:
        ...     return side * side
        >>> no_zero = Check(all, "no zero", importance="warn")
        >>> @vertex
        ... def ages(raw: list[int]) -> Annotated[list[int], no_zero]:
        ...     return raw

    ``importance="fail"`` (the default) makes a failure a contract violation:
    it raises under ``contracts="strict"`` and is logged under ``"warn"``.
    ``importance="warn"`` never fails the vertex: a failure is one
    ``ContractWarning`` and a log record. Either way the outcome of each check
    on a parameter's or the return value's own annotation is listed in
    ``RunResult.checks``. A predicate may return an array of booleans (numpy,
    pandas, polars): the check holds when all of them are true, and a failure
    names the first row (and column) that is not.
    """

    predicate: Callable[[Any], object]
    message: str = "custom check failed"
    importance: str = attrs.field(default="fail", kw_only=True)

    @importance.validator
    def _known(self, attribute: Any, value: str) -> None:
        if value not in _IMPORTANCES:
            raise ValueError(
                f"Check(importance={value!r}): importance is 'fail' (the default) or 'warn'"
            )


@attrs.frozen
class Previous:
    """Marks the parameter of a looping vertex that receives its own previous output.

    The first iteration receives ``None``; so annotate it ``T | None``.

    Examples:
        >>> from typing import Annotated, Optional
        >>> from flowdsl import Previous, vertex
        >>> @vertex(until=lambda n: n >= 8, max_iterations=10)
        ... def doubled(start: int, last: Annotated[Optional[int], Previous()]) -> int:
        ...     return start if last is None else 2 * last
    """


@attrs.frozen
class Transaction:
    """Marks the parameter of a vertex in an ``AtomicGroup`` that receives the live transaction.

    Examples:
        >>> from typing import Annotated
        >>> from flowdsl import AtomicGroup, MemoryTransaction, Transaction, vertex
        >>> ledger = AtomicGroup("ledger", backend=MemoryTransaction())
        >>> @vertex(group=ledger)
        ... def book(amount: int, tx: Annotated[dict, Transaction()]) -> int:
        ...     tx["booked"] = amount
        ...     return amount
    """
