"""``flowdsl check``: compile the target and list every problem, for people or for editors."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import CompileError
from .output import write_json, write_text
from .target import load_flow

__all__ = ["main"]


def main(args: argparse.Namespace) -> int:
    """List the compile problems of the target; 1 if there is any, else 0."""
    try:
        flow = load_flow(args.target, args.config)
    except CompileError as error:
        problems = [_problem(p) for p in error.problems]
    else:
        problems = []
    if args.json:
        write_json(problems)
    elif problems:
        write_text("\n".join(_line(p) for p in problems))
    else:
        graph = flow.graph
        write_text(
            f"{args.target}: ok ({_count(len(graph.vertices), 'vertex', 'vertices')}, "
            f"{_count(len(graph.inputs), 'input', 'inputs')}, "
            f"{_count(len(graph.stages), 'stage', 'stages')})"
        )
    if problems:
        sys.stderr.write(
            f"flowdsl: {_count(len(problems), 'problem', 'problems')} in {args.target}\n"
        )
    return 1 if problems else 0


def _problem(error: CompileError) -> dict[str, Any]:
    location = error.location
    return {
        "kind": type(error).__name__,
        "vertex": error.vertex,
        "parameter": error.parameter,
        "file": location.file if location is not None else None,
        "line": location.line if location is not None else None,
        "message": error.message,
    }


def _line(problem: dict[str, Any]) -> str:
    where = f"{problem['file']}:{problem['line']}" if problem["file"] else "<unknown>"
    context = []
    if problem["vertex"] is not None:
        context.append(f"vertex {problem['vertex']!r}")
    if problem["parameter"] == "return":
        context.append("the return value")
    elif problem["parameter"] is not None:
        context.append(f"parameter {problem['parameter']!r}")
    about = ", ".join(context)
    return f"{where}: {problem['kind']}: {about + ': ' if about else ''}{problem['message']}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
