"""Export a graph for people and tools: Mermaid, Graphviz DOT and JSON."""

from __future__ import annotations

import json
from typing import Any

from ._model.graph import NO_DEFAULT, Binding, Graph, VertexNode
from ._typing import type_name

__all__ = ["to_dot", "to_json", "to_mermaid"]


def _annotation(annotation: Any) -> str | None:
    return None if annotation is NO_DEFAULT else type_name(annotation)


def _edges(node: VertexNode) -> tuple[Binding, ...]:
    # Every binding, and the condition (drawn as an edge named "when").
    return node.bindings if node.condition is None else (*node.bindings, node.condition)


def _drawn(node: VertexNode) -> tuple[Binding, ...]:
    # The edges a picture draws: a constant has no origin, it shows in the box.
    return tuple(b for b in _edges(node) if not b.is_constant)


def _constant_text(binding: Binding) -> str:
    return f"{binding.parameter} = {binding.constant!r:.40}"


def _box_lines(name: str, node: VertexNode) -> list[str]:
    # A vertex's box: its name (and "async"), then its constants and its tags.
    head = f"{name} (async)" if node.is_async else name
    tags = [f"{key}: {value}" for key, value in node.options.tags]
    return [head, *(_constant_text(b) for b in node.bindings if b.is_constant), *tags]


def _kind(binding: Binding, node: VertexNode) -> str:
    if binding is node.condition:
        return "condition"
    if binding.is_constant:
        return "constant"
    if binding.previous:
        return "previous"
    if binding.is_input:
        return "input"
    return "field" if binding.field else "output"


def _edge_label(binding: Binding) -> str:
    if binding.previous:
        return f"{binding.parameter} ← previous"
    if binding.field is not None or binding.parameter != binding.source:
        return f"{binding.parameter} ← {binding.ref}"
    return binding.parameter


def _quote_mermaid(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _mermaid_id(name: str) -> str:
    # A sub-flow's vertex is "sub/inner"; a Mermaid id takes no "/".
    return "v_" + name.replace("/", "__")


def to_mermaid(graph: Graph) -> str:
    """A Mermaid ``flowchart``: inputs as parallelograms, vertices as boxes, edges named."""
    lines = ["flowchart TD"]
    for name in graph.inputs:
        lines.append(f"    in_{name}[/{_quote_mermaid(name)}/]")
    for name, node in graph.vertices.items():
        label = "<br/>".join(_box_lines(name, node))
        lines.append(f"    {_mermaid_id(name)}[{_quote_mermaid(label)}]")
    for name, node in graph.vertices.items():
        for b in _drawn(node):
            origin = f"in_{b.source}" if b.is_input else _mermaid_id(b.source)
            arrow = "-.->" if b is node.condition else "-->"
            lines.append(
                f"    {origin} {arrow}|{_quote_mermaid(_edge_label(b))}| {_mermaid_id(name)}"
            )
        for before in node.requires:
            lines.append(f'    {_mermaid_id(before)} -.->|"after"| {_mermaid_id(name)}')
    return "\n".join(lines) + "\n"


def _quote_dot(*lines: str) -> str:
    # One quoted DOT string; several lines are joined by DOT's own line break.
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return '"' + "\\n".join(escaped) + '"'


def to_dot(graph: Graph) -> str:
    """A Graphviz ``digraph``: inputs as parallelograms, vertices as boxes, edges named."""
    lines = ["digraph flow {", "    rankdir=LR;", "    node [fontname=Helvetica];"]
    for name in graph.inputs:
        lines.append(
            f"    {_quote_dot('input:' + name)} [shape=parallelogram, label={_quote_dot(name)}];"
        )
    for name, node in graph.vertices.items():
        style = ", style=dashed" if node.is_async else ""
        label = _quote_dot(name, *_box_lines(name, node)[1:])
        lines.append(f"    {_quote_dot(name)} [shape=box, label={label}{style}];")
    for name, node in graph.vertices.items():
        for b in _drawn(node):
            origin = _quote_dot(f"input:{b.source}" if b.is_input else b.source)
            style = ", style=dashed" if b is node.condition else ""
            lines.append(
                f"    {origin} -> {_quote_dot(name)} [label={_quote_dot(_edge_label(b))}{style}];"
            )
        for before in node.requires:
            lines.append(
                f'    {_quote_dot(before)} -> {_quote_dot(name)} [label="after", style=dotted];'
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def graph_data(graph: Graph) -> dict[str, Any]:
    """The graph as plain data (names, bindings, types as text, order, stages)."""
    return {
        "vertices": [
            {
                "name": name,
                "function": f"{node.function.__module__}.{node.function.__qualname__}",
                "location": str(node.location),
                "async": node.is_async,
                "pure": node.options.pure,
                "blocking": node.options.blocking,
                "flows": list(node.options.flows),
                "tags": node.tags,
                "after": list(node.requires),
                "returns": _annotation(node.returns),
                "fields": [
                    {"name": f.name, "type": _annotation(f.annotation)} for f in node.fields or ()
                ],
                "bindings": [
                    {
                        "parameter": b.parameter,
                        "kind": _kind(b, node),
                        "source": None if b.is_constant else b.ref,
                        "type": _annotation(b.annotation),
                        "has_default": b.has_default,
                        **({"value": repr(b.constant)} if b.is_constant else {}),
                    }
                    for b in _edges(node)
                ],
                "control": _control(node),
            }
            for name, node in graph.vertices.items()
        ],
        "inputs": [
            {
                "name": name,
                "required": flow_input.required,
                "type": _annotation(flow_input.annotation),
                "consumers": [f"{c.vertex}.{c.parameter}" for c in flow_input.consumers],
            }
            for name, flow_input in graph.inputs.items()
        ],
        "order": list(graph.order),
        "stages": [list(stage) for stage in graph.stages],
        "flows": {flow: list(names) for flow, names in graph.flows.items()},
    }


def _control(node: VertexNode) -> dict[str, Any]:
    # Only the resilience and control-flow options the vertex uses.
    options = node.options
    retry = options.retry
    control: dict[str, Any] = {
        "timeout": options.timeout,
        "retries": None if retry is None else retry.max_retries,
        "fallbacks": list(options.fallback_names) or None,
        "when": None if node.condition is None else node.condition.ref,
        "map_over": _map_over(node),
        "max_iterations": options.max_iterations,
        "max_concurrency": options.max_concurrency,
        "rate_limit": options.rate_limit,
    }
    return {key: value for key, value in control.items() if value is not None}


def _map_over(node: VertexNode) -> str | list[str] | dict[str, list[str]] | None:
    # One parameter: its name; zipped: their names; a product: {"product": names}.
    map_over = node.options.map_over
    if map_over is None:
        return None
    names = list(map_over.parameters)
    if map_over.product:
        return {"product": names}
    return names[0] if len(names) == 1 else names


def to_json(graph: Graph) -> str:
    """``graph_data(graph)`` as an indented JSON string."""
    return json.dumps(graph_data(graph), indent=2)
