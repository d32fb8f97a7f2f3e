"""Graph algorithms over vertex names: order, stages, cycles, closures."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = ["closure", "find_cycles", "layout", "reverse", "stages", "topological_order"]


def topological_order(upstream: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Kahn's order, breaking ties by the mapping's own (declaration) order.

    ``upstream`` maps each vertex to the vertices it reads from; it must be acyclic.
    """
    if _declared_in_order(upstream):  # then Kahn's order is the declaration order
        return tuple(upstream)
    position = {name: i for i, name in enumerate(upstream)}
    waiting = {name: len(set(parents)) for name, parents in upstream.items()}
    children: dict[str, list[str]] = {name: [] for name in upstream}
    for name, parents in upstream.items():
        for parent in set(parents):
            children[parent].append(name)
    ready = [position[name] for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    names = list(upstream)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    if len(order) != len(upstream):
        raise ValueError("topological_order needs an acyclic graph")
    return tuple(order)


def layout(
    upstream: Mapping[str, Sequence[str]], order: Sequence[str] | None = None
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The order and stages of acyclic ``upstream``, from one pass over it.

    ``order`` is a topological order of ``upstream``; when not given, Kahn's
    (``topological_order``), which is the declaration order when every vertex
    comes after what it reads: the pass then checks that as it goes.
    Stages group vertices by depth: each stage only reads from earlier stages.
    A stage of one vertex is the tuple some vertex's upstream already is, when
    there is one: a long chain keeps one such tuple a vertex, not two.
    """
    if order is None:
        grouped = _stages(upstream.items())
        if grouped is not None:
            return tuple(upstream), grouped
        order = topological_order(upstream)
    grouped = _stages((name, upstream[name]) for name in order)
    if grouped is None:
        raise ValueError("layout needs a topological order")
    return tuple(order), grouped


def _stages(pairs: Iterable[tuple[str, Sequence[str]]]) -> tuple[tuple[str, ...], ...] | None:
    # The stages of each (vertex, what it reads), in order; ``None`` as soon as a
    # vertex reads one not met before it. (A subscript, not ``.get``: a method call
    # costs more, and this runs once an edge.)
    depth: dict[str, int] = {}
    grouped: list[list[str]] = []
    singles: dict[str, tuple[str, ...]] = {}
    for name, parents in pairs:
        level = 0
        for parent in parents:
            try:
                below = depth[parent]
            except KeyError:
                return None
            if below >= level:
                level = below + 1
        if len(parents) == 1 and type(parents) is tuple:
            singles[parents[0]] = parents
        depth[name] = level
        if level == len(grouped):
            grouped.append([name])
        else:
            grouped[level].append(name)
    return tuple([_tuple_of(stage, singles) for stage in grouped])


def stages(
    upstream: Mapping[str, Sequence[str]], order: Sequence[str]
) -> tuple[tuple[str, ...], ...]:
    """Group vertices by depth, in ``order``: each stage only reads from earlier stages."""
    return layout(upstream, order)[1]


def reverse(
    upstream: Mapping[str, Sequence[str]], order: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Each vertex to the vertices that read from it, in ``order``.

    A reader is listed once however often it names its parent. A single reader
    is the tuple some vertex's upstream already is, when there is one.
    """
    readers: dict[str, list[str]] = {}
    singles: dict[str, tuple[str, ...]] = {}
    for name in order:
        parents = upstream[name]
        for parent in parents:
            if parent in readers:
                found = readers[parent]
                if found[-1] != name:  # a parent named twice: its readers come in order
                    found.append(name)
            else:
                readers[parent] = [name]
        if len(parents) == 1 and type(parents) is tuple:
            singles[parents[0]] = parents
    return {name: _tuple_of(readers[name], singles) if name in readers else () for name in order}


def _tuple_of(names: list[str], singles: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    if len(names) == 1 and names[0] in singles:
        return singles[names[0]]
    return tuple(names)


def closure(start: Iterable[str], neighbours: Callable[[str], Iterable[str]]) -> frozenset[str]:
    """Every name reachable from ``start`` (included) through ``neighbours``."""
    seen: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(neighbours(name))
    return frozenset(seen)


def find_cycles(upstream: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle (as a closed path ``[a, b, ..., a]``) per strongly connected component.

    Each path follows dependencies forward: ``a`` feeds ``b`` feeds ... feeds ``a``.
    Names outside ``upstream`` are ignored. Iterative Tarjan, so deep graphs do
    not hit the recursion limit.
    """
    if _declared_in_order(upstream):  # the common case, settled in one pass
        return []
    downstream: dict[str, list[str]] = {name: [] for name in upstream}
    for name, parents in upstream.items():
        for parent in dict.fromkeys(parents):
            if parent in downstream:
                downstream[parent].append(name)
    if _acyclic(downstream):  # the common case, settled at a fraction of Tarjan's cost
        return []

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in upstream:
        if root in index:
            continue
        work = [(root, iter(downstream[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(downstream[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in downstream[node]:
                    components.append(component)
    return [_cycle_path(set(c), downstream, upstream) for c in components]


def _declared_in_order(upstream: Mapping[str, Sequence[str]]) -> bool:
    # Whether each vertex comes after every vertex it reads (so no cycle can
    # pass through it): how modules are usually written.
    seen: set[str] = set()
    for name, parents in upstream.items():
        if not seen.issuperset(parents):
            return False
        seen.add(name)
    return True


def _acyclic(downstream: Mapping[str, list[str]]) -> bool:
    # Kahn's count: every vertex is reached once all its parents are.
    waiting = dict.fromkeys(downstream, 0)
    for children in downstream.values():
        for child in children:
            waiting[child] += 1
    ready = [name for name, count in waiting.items() if count == 0]
    reached = 0
    while ready:
        reached += 1
        for child in downstream[ready.pop()]:
            waiting[child] -= 1
            if not waiting[child]:
                ready.append(child)
    return reached == len(downstream)


def _cycle_path(
    members: set[str], downstream: Mapping[str, list[str]], upstream: Mapping[str, Sequence[str]]
) -> list[str]:
    # Start at the first declared member and walk forward inside the component
    # (breadth-first back to the start), so the shown cycle is short and stable.
    start = next(name for name in upstream if name in members)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in downstream[node]:
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError("a strongly connected component always holds a cycle")
