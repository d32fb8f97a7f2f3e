"""The errors a command reports as one line on stderr, with the exit status they mean."""

from __future__ import annotations

__all__ = ["CommandError", "UsageError"]


class CommandError(Exception):
    """The command could not do its job: exit status 1.

    ``hint`` is an optional second line telling what to do about it.
    """

    status = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(CommandError):
    """The command line names something that does not exist or cannot be used: exit status 2."""

    status = 2
