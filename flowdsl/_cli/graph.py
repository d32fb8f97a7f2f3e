"""``flowdsl graph``: the graph as Mermaid, DOT or JSON, or drawn by Graphviz as SVG or PNG."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from .. import Flow
from .errors import CommandError, UsageError
from .target import load_flow

__all__ = ["FORMATS", "main"]

FORMATS = ("mermaid", "dot", "json", "svg", "png")
_TEXT = {"mermaid": Flow.to_mermaid, "dot": Flow.to_dot, "json": Flow.to_json}
#: Seconds Graphviz may take to lay out a graph.
_DOT_TIMEOUT = 60


def main(args: argparse.Namespace) -> int:
    """Write the graph in ``args.format`` to ``args.output`` or stdout."""
    flow = load_flow(args.target, args.config)
    if args.format in _TEXT:
        text = _TEXT[args.format](flow)
        text = text if text.endswith("\n") else text + "\n"
        _write(args.output, text.encode("utf-8"))
        return 0
    if args.output is None and args.format == "png" and sys.stdout.isatty():
        raise UsageError("PNG is binary and stdout is a terminal", hint="write it with -o FILE")
    _write(args.output, render(flow.to_dot(), args.format))
    return 0


def render(dot: str, fmt: str) -> bytes:
    """``dot`` drawn by Graphviz's ``dot`` program in ``fmt`` (``svg``, ``png``)."""
    program = shutil.which("dot")
    if program is None:
        raise CommandError(
            f"--format {fmt} needs Graphviz's dot program, which is not on PATH",
            hint="install Graphviz (graphviz.org), or use --format dot and draw it elsewhere",
        )
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=_DOT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommandError(f"Graphviz's dot program failed: {exc}") from exc
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CommandError(
            f"Graphviz's dot program failed (exit status {done.returncode})"
            + (f": {reason[0]}" if reason else "")
        )
    return done.stdout


def _write(path: str | None, data: bytes) -> None:
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        with open(path, "wb") as file:
            file.write(data)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc
