"""Atomic groups in the graph: each must be closed, and it orders what surrounds it.

A group is closed when no vertex outside it lies on a path between two of its
vertices: the group's transaction could not wait for such a vertex. A
closed group adds ordering edges (``VertexNode.after``): its first vertex
runs after every vertex outside the group that any of its vertices reads (so
the transaction begins only when all its inputs exist), each of its vertices
after the one before (one at a time, in topological order), and every vertex
outside that reads from the group after its last vertex (after the commit).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import attrs

from .._groups import AtomicGroup
from .._model import topology
from .._model.graph import VertexNode
from ..errors import CompileError, GroupError

__all__ = ["order_groups"]


def order_groups(vertices: Sequence[VertexNode], problems: list[CompileError]) -> list[VertexNode]:
    """``vertices`` with the ordering edges of their groups; each open group is a problem."""
    groups: dict[int, tuple[AtomicGroup, list[str]]] = {}
    for vertex in vertices:
        if vertex.options.group is not None:
            groups.setdefault(id(vertex.options.group), (vertex.options.group, []))[1].append(
                vertex.name
            )
    if not groups:
        return list(vertices)
    by_name = {v.name: v for v in vertices}
    upstream = {v.name: v.upstream for v in vertices}
    try:
        order = topology.topological_order(upstream)
    except ValueError:  # a cycle: reported by the compiler's own check
        return list(vertices)
    rank = {name: i for i, name in enumerate(order)}
    downstream = topology.reverse(upstream, order)
    after: dict[str, list[str]] = {v.name: [] for v in vertices}
    for group, names in groups.values():
        members = sorted(names, key=rank.__getitem__)
        inside = frozenset(members)
        below = topology.closure(members, lambda n: downstream[n]) - inside
        above = topology.closure(members, lambda n: upstream[n]) - inside
        between = sorted(below & above, key=rank.__getitem__)
        for name in between:
            node = by_name[name]
            problems.append(
                GroupError(
                    f"is outside atomic group {group.name!r} but on a path between its "
                    f"vertices ({', '.join(members)}): the group's transaction cannot wait "
                    "for it; put it in the group or move it off the path",
                    vertex=name,
                    location=node.location,
                )
            )
        if between:
            continue
        producers = [p for m in members for p in upstream[m] if p not in inside]
        after[members[0]].extend(dict.fromkeys(producers))
        for earlier, later in itertools.pairwise(members):
            after[later].append(earlier)
        readers = {d for m in members for d in downstream[m] if d not in inside}
        for reader in readers:
            after[reader].append(members[-1])
    return [
        attrs.evolve(v, after=tuple(dict.fromkeys(after[v.name]))) if after[v.name] else v
        for v in vertices
    ]
