"""``flowdsl stages`` and ``flowdsl explain``: how the graph is laid out, and one vertex in full."""

from __future__ import annotations

import argparse

from .. import Binding, Graph, VertexNode, settings
from .._cli_surface import NO_DEFAULT, did_you_mean, type_name
from .errors import UsageError
from .output import write_json, write_text
from .target import load_flow

__all__ = ["describe", "explain", "stages"]


def stages(args: argparse.Namespace) -> int:
    """Print the stages, one numbered line each: vertices in a stage need nothing of each other."""
    flow = load_flow(args.target, args.config)
    if args.json:
        write_json(flow.stages())
    elif flow.stages():
        write_text(
            "\n".join(f"{n}  {', '.join(stage)}" for n, stage in enumerate(flow.stages(), 1))
        )
    return 0


def explain(args: argparse.Namespace) -> int:
    """Print what one vertex reads, what reads it, and how it runs."""
    flow = load_flow(args.target, args.config)
    if args.vertex not in flow.vertices:
        names = list(flow.vertices)
        raise UsageError(
            f"no vertex {args.vertex!r} in {args.target}{did_you_mean(args.vertex, names)}",
            hint=f"its vertices are: {', '.join(names) or 'none'}",
        )
    write_text(describe(flow.graph, flow.vertices[args.vertex]))
    return 0


def describe(graph: Graph, node: VertexNode) -> str:
    """A plain-text description of ``node``: one ``label  value`` line per fact."""
    function, options = node.function, node.options
    stage = next(n for n, names in enumerate(graph.stages, 1) if node.name in names)
    contracts = settings()["contracts"]
    if options.contracts is not None:
        mode = f"{options.contracts} (@vertex(contracts=...))"
    else:
        mode = f"{contracts.value} (the run's; {contracts.source})"
    head = [
        ("vertex", node.name),
        ("defined", f"{node.location}  ({function.__module__}.{function.__qualname__})"),
        ("kind", "async (coroutine function)" if node.is_async else "sync"),
        ("returns", _type(node.returns)),
        ("fields", ", ".join(node.field_names) or "-"),
    ]
    tail = [
        ("stage", f"{stage} of {len(graph.stages)}"),
        ("upstream", ", ".join(node.upstream) or "- (reads only flow inputs)"),
        ("downstream", ", ".join(graph.downstream[node.name]) or "-"),
        ("contracts", mode),
        ("pure", f"{options.pure}{'  (cached when the run has a cache)' if options.pure else ''}"),
        ("blocking", str(options.blocking)),
        ("timeout", "-" if options.timeout is None else f"{options.timeout:g}s"),
        ("version", options.version or "-"),
        ("flows", ", ".join(options.flows) or "-"),
        ("after", ", ".join(node.requires) or "-"),
        ("tags", ", ".join(f"{key}={value!r}" for key, value in options.tags) or "-"),
    ]
    width = max(len(label) for label, _ in head + tail)
    lines = [f"{label:<{width}}  {value}" for label, value in head]
    lines.append(f"{'bindings':<{width}}  -" if not node.bindings else "bindings")
    bindings = [_binding(b) for b in node.bindings]
    left = max((len(parameter) for parameter, _ in bindings), default=0)
    lines += [f"  {parameter:<{left}}  <- {source}" for parameter, source in bindings]
    lines += [f"{label:<{width}}  {value}" for label, value in tail]
    return "\n".join(lines)


def _type(annotation: object) -> str:
    return "-" if annotation is NO_DEFAULT else type_name(annotation)


def _binding(binding: Binding) -> tuple[str, str]:
    parameter = binding.parameter
    if binding.annotation is not NO_DEFAULT:
        parameter += f": {_type(binding.annotation)}"
    if binding.has_default:
        parameter += f" = {binding.default!r}"
    if binding.is_constant:
        source = f"constant {binding.constant!r:.60}"
    elif binding.is_input:
        source = f"flow input {binding.source!r}"
    elif binding.field is not None:
        source = f"field {binding.field!r} of vertex {binding.source!r}"
    else:
        source = f"output of vertex {binding.source!r}"
    return parameter, source
