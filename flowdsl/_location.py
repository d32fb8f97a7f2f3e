"""Where a vertex was defined, so every error can point at the user's source."""

from __future__ import annotations

import inspect
import linecache
import os
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

_DECORATOR_LINES = 50
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


@attrs.frozen(eq=False, repr=False)
class SourceLocation:
    """A file and line in user code, printed as ``file:line``.

    Examples:
        >>> from flowdsl import SourceLocation
        >>> str(SourceLocation("pipeline.py", 12))
        'pipeline.py:12'
    """

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def __repr__(self) -> str:
        return f"SourceLocation(file={self.file!r}, line={self.line!r})"

    # Written out, not generated, so that a location whose line is found on
    # first read (``of``) equals, hashes and pickles as the plain one.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SourceLocation):
            return NotImplemented
        return self.file == other.file and self.line == other.line

    def __hash__(self) -> int:
        return hash((self.file, self.line))

    def __reduce__(self) -> tuple[Any, ...]:
        return (SourceLocation, (self.file, self.line))

    @classmethod
    def of_caller(cls) -> SourceLocation | None:
        """The line of user code that called into flowdsl (``From(...)``, ``vertex(...)``).

        ``None`` when that call is an annotation being evaluated by
        ``typing.get_type_hints`` (postponed annotations): the compiler then
        reports the vertex and its line itself.
        """
        frame = sys._getframe(1)
        while frame.f_back is not None and _is_internal(frame.f_code.co_filename):
            frame = frame.f_back
        back = frame.f_back
        if back is not None and back.f_code.co_filename == typing.__file__:
            return None
        return cls(frame.f_code.co_filename, frame.f_lineno)

    @classmethod
    def of(cls, obj: Callable[..., Any]) -> SourceLocation:
        """The ``def`` line of a function (below its decorators, if any).

        The line is looked up in the source file the first time it is read
        (most locations only ever serve an error message that never comes).
        """
        target = inspect.unwrap(obj) if hasattr(obj, "__wrapped__") else obj
        code = getattr(target, "__code__", None)
        if code is None:
            return cls("<unknown>", 0)
        return _DefinitionLine.of_code(code)


class _DefinitionLine(SourceLocation):
    # A function's ``def`` line, found below its first decorator's line on first read.
    # Until then the ``line`` slot is empty, and reading it comes to ``__getattr__``.
    # It keeps the function's code object, which exists anyway (its first line,
    # read now, would be one more object per vertex).
    __slots__ = ("_code",)

    @classmethod
    def of_code(cls, code: types.CodeType) -> _DefinitionLine:
        location = object.__new__(cls)
        _set_file(location, code.co_filename)
        _set_code(location, code)
        return location

    def __getattr__(self, name: str) -> Any:
        if name != "line":
            raise AttributeError(name)
        line = _def_line(self.file, self._code.co_firstlineno)
        object.__setattr__(self, "line", line)
        return line


# The slots' own setters: cheaper than ``object.__setattr__``, which looks each
# name up again (a location is made per vertex at every compile).
_set_file = SourceLocation.__dict__["file"].__set__
_set_code = _DefinitionLine.__dict__["_code"].__set__


def _def_line(file: str, first_line: int) -> int:
    # ``co_firstlineno`` is the first decorator's line; the def is at most a
    # few (multi-line) decorators below it.
    lines = linecache.getlines(file)
    for line in range(first_line, min(first_line + _DECORATOR_LINES, len(lines) + 1)):
        text = lines[line - 1].lstrip()
        if not text:
            break
        if text.startswith(("def ", "async def ")):
            return line
    return first_line


def _is_internal(file: str) -> bool:
    # flowdsl's own modules, and the __init__ that attrs generates for its classes.
    return file.startswith((_PACKAGE, "<attrs generated"))
