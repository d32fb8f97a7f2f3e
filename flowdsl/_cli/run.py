"""``flowdsl run``: run a flow with inputs from the command line and print its outputs."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import Flow, RunResult
from .._cli_surface import OPTIONS, did_you_mean
from ..errors import FlowDSLError
from .errors import CommandError, UsageError
from .inputs import collect_inputs
from .output import write_json, write_text
from .runs import require_run
from .target import load_flow

__all__ = ["main"]

_CHECKPOINT = "FLOWDSL_CHECKPOINT"


def main(args: argparse.Namespace) -> int:
    """Run the target; 1 when a vertex failed (its error goes to stderr), else 0."""
    flow = load_flow(args.target, args.config)
    inputs = collect_inputs(flow.inputs, args.input, args.inputs)
    _check_selection(flow, args.output, args.flow)
    options = {opt.name: getattr(args, opt.name) for opt in OPTIONS}
    checkpoint = args.checkpoint or os.environ.get(_CHECKPOINT)
    if args.resume:
        if not (args.run_id and checkpoint):
            raise UsageError("--resume needs --run-id and --checkpoint (the run to resume)")
        require_run(checkpoint, args.run_id)
    try:
        result = flow.run(
            None if args.resume and not inputs else inputs,
            outputs=args.output or None,
            flow=args.flow,
            run_id=args.run_id,
            resume=args.resume,
            **options,
        )
    except FlowDSLError as error:
        partial: RunResult | None = getattr(error, "result", None)
        if args.json and partial is not None:
            write_json({**_report(partial), "error": str(error)})
        if args.report and partial is not None:
            _write_report(partial, args.report)
        raise
    if args.report:
        _write_report(result, args.report)
    if args.json:
        write_json(_report(result))
    elif result:
        write_text("\n".join(f"{name} = {value!r}" for name, value in result.items()))
    for vertex, exc in result.errors.items():
        sys.stderr.write(f"flowdsl: vertex {vertex!r} failed: {type(exc).__name__}: {exc}\n")
    return 1 if result.errors else 0


def _write_report(result: RunResult, path: str) -> None:
    # The HTML report of the run, partial or not (a failed run is when it helps most).
    try:
        result.report(path)
    except OSError as exc:
        raise CommandError(f"cannot write the report {path}: {exc.strerror or exc}") from exc


def _check_selection(flow: Flow, outputs: list[str], flow_name: str | None) -> None:
    for name in outputs:
        vertex = name.partition(".")[0]
        if vertex not in flow.vertices and name not in flow.inputs:
            names = [*flow.vertices, *flow.inputs]
            raise UsageError(
                f"--output {name}: no vertex or flow input {vertex!r}{did_you_mean(vertex, names)}"
            )
    flows = flow.graph.flows
    if flow_name is not None and flow_name not in flows:
        known = ", ".join(flows) or "none"
        raise UsageError(
            f"--flow {flow_name}: no flow of that name{did_you_mean(flow_name, flows)}",
            hint=f"the flows are: {known}",
        )


def _report(result: RunResult) -> dict[str, Any]:
    return {
        "outputs": dict(result.items()),
        "states": {name: state.value for name, state in result.states.items()},
        "errors": {
            name: {"type": type(exc).__name__, "message": str(exc)}
            for name, exc in result.errors.items()
        },
        "metrics": result.metrics.to_dict(),
        "run_id": result.run_id,
    }
