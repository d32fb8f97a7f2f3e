"""What a mapped vertex maps over: one sequence, several zipped, or their product."""

from __future__ import annotations

import attrs

__all__ = ["ElementIndex", "MapOver", "product"]

#: Where an element sits: its index, or a tuple of indices (one per sequence of a product).
ElementIndex = int | tuple[int, ...]


@attrs.frozen
class MapOver:
    """The parameters a vertex maps over, and how their sequences combine.

    One parameter: a call per element. Several: zipped (``("x", "y")``, the
    sequences must be of equal length), or their ``product`` (a call per
    combination, collected in nested lists, the outer one over the first).

    Examples:
        >>> from flowdsl import product
        >>> product("x", "y")
        product('x', 'y')
        >>> product("x", "y").parameters
        ('x', 'y')
    """

    parameters: tuple[str, ...]
    product: bool = False

    def __contains__(self, parameter: object) -> bool:
        return parameter in self.parameters

    def __repr__(self) -> str:
        names = ", ".join(repr(p) for p in self.parameters)
        if self.product:
            return f"product({names})"
        return names if len(self.parameters) == 1 else f"({names})"

    @property
    def depth(self) -> int:
        """How deeply the vertex's output nests lists: one per parameter of a product."""
        return len(self.parameters) if self.product else 1


def product(*parameters: str) -> MapOver:
    """``map_over=product("x", "y")``: one call per combination of the elements of ``x``
    and ``y``; the output is a list of lists, the outer index over ``x``.

    Three or more parameters nest deeper. A vertex that maps over such an
    output (``map_over="grid"``) maps over its outer list.

    Examples:
        >>> import flowdsl
        >>> from flowdsl import product, vertex
        >>> @vertex(map_over=product("x", "y"))
        ... def times(x: int, y: int) -> int:
        ...     return x * y
        >>> flowdsl.Flow.from_functions(times).run({"x": [1, 2], "y": [10, 20, 30]})["times"]
        [[10, 20, 30], [20, 40, 60]]
    """
    return MapOver(tuple(parameters), product=len(parameters) > 1)
