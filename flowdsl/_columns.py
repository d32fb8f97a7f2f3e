"""``Columns``: the column names and dtypes a DataFrame must have, as an ``Annotated`` marker."""

from __future__ import annotations

import datetime
import types
import typing
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["PYTHON_KINDS", "Columns", "without_none"]

#: The Python types a column may be declared as (each matched to dtypes by kind).
PYTHON_KINDS = frozenset(
    {int, float, bool, str, complex, datetime.datetime, datetime.date, datetime.timedelta}
)
_DTYPE_LIBRARIES = frozenset({"numpy", "pandas", "polars", "pyarrow"})
_UNIONS = (typing.Union, types.UnionType)


def without_none(wanted: Any) -> tuple[Any, bool]:
    """``Optional[T]`` to ``(T, True)``; anything else to ``(it, False)``."""
    if typing.get_origin(wanted) not in _UNIONS:
        return wanted, False
    members = [arg for arg in typing.get_args(wanted) if arg is not type(None)]
    nullable = len(members) < len(typing.get_args(wanted))
    return (members[0] if len(members) == 1 else wanted), nullable


def _pairs(spec: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    if not isinstance(spec, Mapping):
        raise TypeError(f"Columns() takes a mapping of column name to type, not {spec!r}")
    for name, wanted in spec.items():
        bare, _ = without_none(wanted)
        if isinstance(bare, str) or bare is Any or bare is object or bare in PYTHON_KINDS:
            continue
        library = getattr(bare, "__module__", "").partition(".")[0]
        if (
            library in _DTYPE_LIBRARIES
            or type(bare).__module__.partition(".")[0] in _DTYPE_LIBRARIES
        ):
            continue  # np.dtype("int32"), pl.Int64, pd.CategoricalDtype(...)
        raise TypeError(
            f"Columns({{{name!r}: {wanted!r}}}): a column's type is one of int, float, bool, "
            "str, complex, datetime, date, timedelta, Any, Optional[...] of those, a dtype "
            "(numpy, pandas, polars), or a dtype's name"
        )
    return tuple(spec.items())


@attrs.frozen
class Columns:
    """A DataFrame (pandas or polars) must have these columns, of these types.

    Examples:
        >>> from typing import Annotated, Optional
        >>> import pandas as pd
        >>> from flowdsl import Columns, vertex
        >>> schema = Columns({"age": int, "income": Optional[float]})
        >>> @vertex
        ... def adults(people: Annotated[pd.DataFrame, schema]) -> pd.DataFrame:
        ...     return people[people["age"] >= 18]

    Each type is ``int``, ``float`` (integers pass too, as for a ``float``
    parameter), ``bool``, ``str``, ``complex``, ``datetime.datetime``,
    ``datetime.date``, ``datetime.timedelta``, or ``Any`` (the column must
    exist, of any dtype); a column of such a type may hold no nulls, unless
    the type is ``Optional[T]`` (``T | None``). A dtype (``numpy.dtype``, a
    pandas or polars dtype) or a dtype's name (``"category"``,
    ``"datetime64[ns, UTC]"``) must match exactly. Columns not listed are
    allowed, unless ``strict=True``. A violation names the column, and for a
    bad value its row (the index label in pandas) and the value.
    """

    columns: tuple[tuple[str, Any], ...] = attrs.field(converter=_pairs)
    strict: bool = attrs.field(default=False, kw_only=True)
