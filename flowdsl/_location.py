"""Where a vertex was defined, so every error can point at the user's source."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs


@attrs.frozen
class SourceLocation:
    """A file and line in user code, printed as ``file:line``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    @classmethod
    def of(cls, obj: Callable[..., Any]) -> SourceLocation:
        """The definition site of a function (the ``def`` line, after decorators)."""
        target = inspect.unwrap(obj)
        code = getattr(target, "__code__", None)
        if code is not None:
            return cls(code.co_filename, code.co_firstlineno)
        try:
            file = inspect.getsourcefile(target) or "<unknown>"
            line = inspect.getsourcelines(target)[1]
        except (OSError, TypeError):
            return cls("<unknown>", 0)
        return cls(file, line)
