"""Every error flowdsl raises, in one tree.

```text
    FlowDSLError
     +-- CompileError                    the graph cannot be built
     |    +-- CycleError                 a dependency cycle (the message shows it)
     |    +-- BindingError               a parameter cannot be bound (unknown
     |    |                              vertex or field, *args, bad annotation)
     |    +-- DuplicateVertexError       two vertices share a name
     |    +-- TypeMismatchError          a binding joins clearly incompatible types
     |    +-- InvalidVertexError         @vertex on something that cannot be one
     |    +-- GroupError                 an atomic group is not closed
     +-- MissingInputError               required flow inputs were not given
     |    +-- MissingAndUnknownInputError  and other names were given (also an UnknownInputError)
     +-- UnknownInputError               an input name the graph does not have
     +-- DataResolutionError             an output or field cannot be found at run time
     +-- ContractViolation               a value breaks its annotation
     +-- VertexFailed                    a vertex raised (original as __cause__)
     |    +-- VertexTimeout              a vertex or the run passed its deadline
     |    +-- IterationLimitError        a loop did not finish within max_iterations
     |    +-- RollbackFailed             undoing a failed atomic group failed too
     +-- FlowCancelled                   the run was cancelled before it finished
     +-- SettingsError                   a run option has a bad value
     +-- ArgumentTypeError               an argument of a call has the wrong type (a TypeError)
     +-- CheckpointError                 a checkpoint cannot be written, found or trusted
     +-- CacheFileError                  a cache file cannot be opened as a flowdsl cache

    FlowDSLWarning (a UserWarning)
     +-- ContractWarning                 an annotation cannot be fully checked
     +-- CacheWarning                    a value is not cached, or an entry is unreadable
```

Each error carries its context as attributes as well as in its message:
``vertex`` (the vertex name), ``parameter`` and ``location`` (a
``SourceLocation``, printed as ``file:line``), each ``None`` where it does not
apply. Errors that mirror a built-in error also subclass it
(``MissingInputError`` is a ``LookupError``, ``SettingsError`` a
``ValueError``), so code that catches the built-in keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._location import SourceLocation

if TYPE_CHECKING:
    from ._result import RunResult

__all__ = [
    "ArgumentTypeError",
    "BindingError",
    "CacheFileError",
    "CacheWarning",
    "CheckpointError",
    "CompileError",
    "ContractViolation",
    "ContractWarning",
    "CycleError",
    "DataResolutionError",
    "DuplicateVertexError",
    "FlowCancelled",
    "FlowDSLError",
    "FlowDSLWarning",
    "GroupError",
    "InvalidVertexError",
    "IterationLimitError",
    "MissingAndUnknownInputError",
    "MissingInputError",
    "RollbackFailed",
    "SettingsError",
    "TypeMismatchError",
    "UnknownInputError",
    "VertexFailed",
    "VertexTimeout",
]


def _restore(cls: type[FlowDSLError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class FlowDSLError(Exception):
    """Base of every flowdsl error.

    The message is prefixed with the context that applies, for example
    ``vertex 'save', parameter 'user_id' (pipeline.py:23): unknown vertex``.
    """

    def __init__(
        self,
        message: str,
        *,
        vertex: str | None = None,
        parameter: str | None = None,
        location: SourceLocation | None = None,
    ) -> None:
        self.message = message
        self.vertex = vertex
        self.parameter = parameter
        self.location = location
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = []
        if self.vertex is not None:
            parts.append(f"vertex {self.vertex!r}")
        if self.parameter == "return":
            parts.append("the return value")
        elif self.parameter is not None:
            parts.append(f"parameter {self.parameter!r}")
        where = ", ".join(parts)
        if self.location is not None:
            where = f"{where} ({self.location})" if where else str(self.location)
        return f"{where}: {self.message}" if where else self.message

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only context would be lost by Exception's default pickling,
        # and errors cross process boundaries (Dask workers, subprocess runs).
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class CompileError(FlowDSLError):
    """The graph cannot be built from the given vertices.

    A compile collects every problem before raising. With one problem, that
    problem's own class is raised; with several, a ``CompileError`` whose
    message lists them all and whose ``problems`` holds each one.
    """

    @property
    def problems(self) -> tuple[CompileError, ...]:
        """Every problem this error reports (itself, when it is a single one)."""
        return tuple(self.__dict__.get("_problems", (self,)))

    @classmethod
    def collect(cls, problems: Sequence[CompileError]) -> CompileError:
        """One error reporting all ``problems`` (the problem itself if it is alone)."""
        if len(problems) == 1:
            return problems[0]
        lines = "\n".join(f"  - {p}" for p in problems)
        error = cls(f"{len(problems)} problems found:\n{lines}")
        error.__dict__["_problems"] = tuple(problems)
        return error


class CycleError(CompileError):
    """Vertices depend on each other in a cycle; ``cycle`` lists it in order."""

    def __init__(self, message: str, *, cycle: Sequence[str] = (), **context: Any) -> None:
        self.cycle = tuple(cycle)
        super().__init__(message, **context)


class BindingError(CompileError):
    """A parameter cannot be bound: unknown vertex or field, ``*args``, bad annotation."""


class DuplicateVertexError(CompileError):
    """Two different functions claim the same vertex name."""


class TypeMismatchError(CompileError, TypeError):
    """A binding joins an output and a parameter whose types clearly cannot meet."""


class InvalidVertexError(CompileError, TypeError):
    """``@vertex`` was applied to something that cannot be a vertex."""


class GroupError(CompileError):
    """An atomic group is not closed: a vertex outside it lies on a path between two of its
    vertices, so the group cannot be one transaction."""


class MissingInputError(FlowDSLError, LookupError):
    """Required flow inputs were not given; ``missing`` lists every one of them."""

    def __init__(self, message: str, *, missing: Sequence[str] = (), **context: Any) -> None:
        self.missing = tuple(missing)
        super().__init__(message, **context)


class UnknownInputError(FlowDSLError, LookupError):
    """Inputs were given under names that are not flow inputs of the graph."""

    def __init__(self, message: str, *, unknown: Sequence[str] = (), **context: Any) -> None:
        self.unknown = tuple(unknown)
        super().__init__(message, **context)


class MissingAndUnknownInputError(MissingInputError, UnknownInputError):
    """Required inputs were not given, and names that are not inputs were: one error for both.

    It is both a ``MissingInputError`` and an ``UnknownInputError``, so a handler
    of either catches it; ``missing`` and ``unknown`` list each kind.
    """

    def __init__(
        self,
        message: str,
        *,
        missing: Sequence[str] = (),
        unknown: Sequence[str] = (),
        **context: Any,
    ) -> None:
        super().__init__(message, missing=missing, **context)
        # Set after: UnknownInputError's __init__, reached through the MRO, resets it.
        self.unknown = tuple(unknown)


class DataResolutionError(FlowDSLError, LookupError):
    """An output, or a field of one, cannot be found when it is needed."""


class ContractViolation(FlowDSLError):
    """A value does not satisfy the annotation it is checked against.

    ``path`` locates the offending part inside the value (``return['items'][3]``),
    ``expected`` describes the type or constraint, ``actual`` is a short repr.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        expected: str = "",
        actual: str = "",
        **context: Any,
    ) -> None:
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(message, **context)


class VertexFailed(FlowDSLError):
    """A vertex raised; the original exception is ``__cause__``.

    ``result`` is the partial ``RunResult`` of the run (what completed before
    the failure), ``attempts`` how many times the vertex was called (retries
    included), ``element`` the index of the element that failed when the
    vertex maps over a sequence (a tuple of indices over a ``product``; else
    ``None``), ``index`` the position of the failed run's input set in a
    sweep (``Flow.map``; else ``None``).
    """

    def __init__(
        self,
        message: str,
        *,
        result: RunResult | None = None,
        attempts: int = 1,
        element: int | tuple[int, ...] | None = None,
        **context: Any,
    ) -> None:
        self.result = result
        self.attempts = attempts
        self.element = element
        self.index: int | None = None
        super().__init__(message, **context)


class VertexTimeout(VertexFailed, TimeoutError):
    """A vertex, or the whole run, did not finish before its deadline."""


class IterationLimitError(VertexFailed):
    """A looping vertex (``until=``) ran ``max_iterations`` times without satisfying ``until``."""

    def __init__(self, message: str, *, max_iterations: int = 0, **context: Any) -> None:
        self.max_iterations = max_iterations
        super().__init__(message, **context)


class RollbackFailed(VertexFailed):
    """An atomic group failed, and rolling it back (or compensating) failed too.

    ``__cause__`` is the original failure; ``errors`` holds what the rollback
    or each compensation raised. Neither is hidden.
    """

    def __init__(
        self, message: str, *, errors: Sequence[BaseException] = (), **context: Any
    ) -> None:
        self.errors = tuple(errors)
        super().__init__(message, **context)


class FlowCancelled(FlowDSLError):
    """The run was cancelled; ``result`` holds what completed before."""

    def __init__(self, message: str, *, result: RunResult | None = None, **context: Any) -> None:
        self.result = result
        super().__init__(message, **context)


class SettingsError(FlowDSLError, ValueError):
    """A run option has a bad value; ``source`` says where it came from."""

    def __init__(self, message: str, *, source: str = "", **context: Any) -> None:
        self.source = source
        super().__init__(message, **context)


class ArgumentTypeError(FlowDSLError, TypeError):
    """An argument of a call has the wrong type; ``argument`` names it (``"outputs"``).

    A ``TypeError`` too. A run option of the wrong type (``backend=5``) is a
    ``SettingsError`` instead, like any other bad option value.
    """

    def __init__(self, message: str, *, argument: str = "", **context: Any) -> None:
        self.argument = argument
        super().__init__(message, **context)


class CheckpointError(FlowDSLError):
    """A checkpoint cannot be written (a value the serializer cannot store), found (no
    such run to resume), matched (resuming with other inputs) or trusted (a record that
    fails verification: nothing of it is loaded)."""


class CacheFileError(FlowDSLError, ValueError):
    """A cache file cannot be opened as a flowdsl SQLite cache; ``path`` names it.

    Example::

        SQLiteCache("notes.txt")  # CacheFileError: notes.txt: ... not a database

    Raised when the store is made (``SQLiteCache(path)``, ``run(cache=path)``);
    the message names the path and SQLite's reason.
    """

    def __init__(self, message: str, *, path: str = "", **context: Any) -> None:
        self.path = path
        super().__init__(message, **context)


class FlowDSLWarning(UserWarning):
    """Base of the warnings flowdsl issues (never for an error: those raise)."""


class ContractWarning(FlowDSLWarning):
    """Part of an annotation cannot be checked at run time, so it is let through."""


class CacheWarning(FlowDSLWarning):
    """A value was not cached, or a cache entry could not be read; the run goes on.

    Raised as a warning (never an error): an unreadable entry is a miss, and a
    value that cannot be fingerprinted or stored is simply not cached.
    Silence it with ``warnings.simplefilter("ignore", flowdsl.CacheWarning)``.
    """
