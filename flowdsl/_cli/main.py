"""The ``flowdsl`` command: parse the command line, run a command, turn errors into exit statuses.

Exit statuses: 0 success; 1 the run or check failed, or the command could not
do its job; 2 the command line (or a ``FLOWDSL_*`` variable) is wrong. An
error is one line on stderr, ``flowdsl: error: ...``, with a ``hint:`` line
when there is something to suggest; ``--traceback`` shows the full story.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from ..errors import (
    CompileError,
    FlowDSLError,
    MissingInputError,
    SettingsError,
    UnknownInputError,
    VertexFailed,
)
from .errors import CommandError
from .parser import build_parser

__all__ = ["main"]

#: Errors raised before anything runs, fixed by changing the command line or the environment.
_USAGE_ERRORS = (SettingsError, MissingInputError, UnknownInputError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except CommandError as error:
        return _fail(error, args.traceback, error.status, error.hint)
    except FlowDSLError as error:
        status = 2 if isinstance(error, _USAGE_ERRORS) else 1
        return _fail(error, args.traceback, status, _hint(error, args.traceback))
    except KeyboardInterrupt:
        sys.stderr.write("flowdsl: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (``flowdsl graph x | head``): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return status


def _hint(error: FlowDSLError, shown: bool) -> str | None:
    if isinstance(error, MissingInputError):
        return "give each with --input NAME=VALUE (or --inputs FILE.json)"
    if isinstance(error, SettingsError) and error.source.startswith("environment "):
        return f"fix or unset {error.source.removeprefix('environment ')}"
    if isinstance(error, CompileError) and len(error.problems) > 1:
        return "flowdsl check TARGET lists them one per line (--json for tools)"
    if isinstance(error, VertexFailed) and error.__cause__ is not None and not shown:
        return "--traceback shows where it was raised"
    return None


def _fail(error: Exception, show_traceback: bool, status: int, hint: str | None) -> int:
    sys.stdout.flush()
    if show_traceback:
        traceback.print_exception(type(error), error, error.__traceback__)
    sys.stderr.write(f"flowdsl: error: {error}\n")
    if hint and not show_traceback:
        sys.stderr.write(f"hint: {hint}\n")
    return status
