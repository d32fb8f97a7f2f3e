"""The command line's grammar: every command, its arguments, and the handler that runs it.

The run option flags (``--backend``, ``--max-workers``, ...) are made from the
option table, so a new option gets its flag, its check and its help here
without a change to this module.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .. import __version__
from .._cli_surface import OPTIONS, Invalid, Option
from . import cache, check, explain, graph, run, runs, settings

__all__ = ["build_parser"]

Handler = Callable[[argparse.Namespace], int]

_TARGET_HELP = (
    "a .py file, a module name, or either followed by :NAME for a Flow, module or "
    "@vertex function in it"
)

_EPILOG = """\
exit status: 0 success, 1 the run or check failed (or the command could not
do its job), 2 the command line or a FLOWDSL_* variable is wrong.
"""


def _flag_value(opt: Option) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return opt.from_text(text)
        except Invalid as exc:
            raise argparse.ArgumentTypeError(f"{text!r} {exc}") from None

    return convert


def _add_option_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "run options", "a flag wins over its FLOWDSL_<NAME> variable and over flowdsl.configure()"
    )
    for opt in OPTIONS:
        flag = f"--{opt.name.replace('_', '-')}"
        help = f"{opt.help} (default: {opt.shown_default}; environment: {opt.env})"
        if opt.choices is not None:
            group.add_argument(flag, dest=opt.name, choices=opt.choices, help=help)
        elif isinstance(opt.default, bool):
            # A yes/no option is a plain flag (``--progress``), or takes a word.
            group.add_argument(
                flag,
                dest=opt.name,
                type=_flag_value(opt),
                metavar=opt.metavar,
                help=help,
                nargs="?",
                const=True,
            )
        else:
            group.add_argument(
                flag, dest=opt.name, type=_flag_value(opt), metavar=opt.metavar, help=help
            )


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET", help=_TARGET_HELP)
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a compile config entry choosing @vertex(config=...) variants; VALUE is JSON "
        "when it parses as JSON, else a string (repeat for more)",
    )


def _command(
    commands: Any, name: str, handler: Handler, help: str, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=help, parents=[common]
    )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``flowdsl`` argument parser; each command sets ``handler`` in the namespace."""
    parser = argparse.ArgumentParser(
        prog="flowdsl",
        description="Run, draw and check flowdsl dataflow graphs.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"flowdsl {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--traceback", action="store_true", help="on an error, show the full traceback"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = _command(commands, "run", run.main, "run a flow and print its outputs", common)
    _add_target(p)
    p.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a flow input, converted by its annotation (repeat for more)",
    )
    p.add_argument("--inputs", metavar="FILE", help="a JSON object of flow inputs by name")
    p.add_argument(
        "--output",
        action="append",
        default=[],
        metavar="NAME",
        help="compute only what this output needs, and print only it (repeat for more)",
    )
    p.add_argument("--flow", metavar="NAME", help="run the vertices tagged with this flow name")
    p.add_argument(
        "--json", action="store_true", help="print outputs, states, errors and metrics as JSON"
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        help="write an HTML report of the run to FILE (graph, timeline, critical path), "
        "also when it fails",
    )
    p.add_argument("--run-id", metavar="ID", help="the run's id (with --checkpoint: its name)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="resume run --run-id from --checkpoint: run only what did not complete",
    )
    _add_option_flags(p)

    p = _command(commands, "graph", graph.main, "draw the graph", common)
    _add_target(p)
    p.add_argument(
        "--format",
        "-f",
        choices=graph.FORMATS,
        default="mermaid",
        help="mermaid (default), dot, json; svg and png need Graphviz's dot program",
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")

    p = _command(commands, "check", check.main, "compile and list every problem", common)
    _add_target(p)
    p.add_argument("--json", action="store_true", help="print the problems as a JSON list")

    p = _command(commands, "stages", explain.stages, "list the execution stages", common)
    _add_target(p)
    p.add_argument("--json", action="store_true", help="print the stages as a JSON list")

    p = _command(commands, "explain", explain.explain, "describe one vertex", common)
    _add_target(p)
    p.add_argument("vertex", metavar="VERTEX", help="the vertex's name")

    p = _command(commands, "cache", cache.main, "look at or clear a SQLite cache file", common)
    p.add_argument("action", choices=("info", "clear"), help="info: what it holds; clear: empty it")
    p.add_argument("path", metavar="PATH", help="the cache file (as given to run(cache=PATH))")
    p.add_argument("--json", action="store_true", help="print info as JSON")

    p = _command(
        commands, "runs", runs.main, "list, show or delete the runs of a checkpoint file", common
    )
    p.add_argument("action", choices=("list", "show", "delete"), help="what to do")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="the checkpoint file")
    p.add_argument("run_id", metavar="RUN_ID", nargs="?", help="the run (show, delete)")
    p.add_argument("--json", action="store_true", help="print as JSON")

    p = _command(
        commands, "settings", settings.main, "show the run options and where they come from", common
    )
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    _add_option_flags(p)
    return parser
