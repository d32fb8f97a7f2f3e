"""Writable twins of frozen record classes, for the records built once a vertex."""

from __future__ import annotations

__all__ = ["draft_of"]


def draft_of(frozen: type) -> type:
    """A writable twin of a frozen record class: the same slots, no ``__setattr__``.

    A record built by the thousand (one a vertex or more) has its fields
    written while it is its draft (plain slot stores: its ``__init__`` turns it
    into the draft and back, or it is made as one and turned into the record),
    instead of one ``object.__setattr__`` call a field as attrs' frozen
    ``__init__`` does: about 4x cheaper. Switching classes needs the same
    slots, so these records have no weak-reference slot.

    Examples:
        >>> import attrs
        >>> @attrs.frozen(weakref_slot=False)
        ... class Point:
        ...     x: int
        >>> point = object.__new__(draft_of(Point))
        >>> point.x = 1
        >>> point.__class__ = Point
        >>> point
        Point(x=1)
    """
    return type(f"_{frozen.__name__}Draft", (), {"__slots__": vars(frozen)["__slots__"]})
