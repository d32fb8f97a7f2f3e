"""Reading one field of a vertex output: by key, by attribute, or looked up at run time."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["FieldReader", "field_reader"]

FieldReader = Callable[[Any], Any]


# Read by position, not by key: a field of these is an attribute (a NamedTuple's).
_SEQUENCES = (str, bytes, bytearray, list, tuple, range)


def _lookup(field: str) -> FieldReader:
    def read(value: Any) -> Any:
        if isinstance(value, Mapping):
            return value[field]
        if hasattr(type(value), "__getitem__") and not isinstance(value, _SEQUENCES):
            return value[field]  # a DataFrame's column, a structured array's field
        return getattr(value, field)

    return read


def field_reader(access: str, field: str) -> FieldReader:
    """A function reading ``field`` from an output; it raises ``LookupError``,
    ``AttributeError`` or ``TypeError`` when the field is not there."""
    if access == "item":
        return operator.itemgetter(field)
    if access == "attr":
        return operator.attrgetter(field)
    return _lookup(field)
