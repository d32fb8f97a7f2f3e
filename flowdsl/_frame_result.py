"""``RunResult.to_frame``: a run's column and scalar outputs as one pandas DataFrame.

Like Hamilton's default result builder: each output is a column; a scalar is
repeated down its column; a DataFrame output gives one column per column of
its own, named ``"output.column"``. pandas Series are aligned on their index
(the union of all of them, as ``pandas.DataFrame`` does); a polars Series, a
one-dimensional numpy array, a list or a tuple is a column by position.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["to_frame"]

_SCALARS = (
    int,
    float,
    complex,
    str,
    bytes,
    bool,
    decimal.Decimal,
    datetime.date,
    datetime.timedelta,
)


def _is_scalar(value: Any) -> bool:
    if value is None or isinstance(value, _SCALARS):
        return True
    module = type(value).__module__.partition(".")[0]
    # numpy scalars (np.float64(1.5)) and pandas' (Timestamp, NA): zero-dimensional.
    return (
        module in ("numpy", "pandas")
        and getattr(value, "ndim", 0) == 0
        and not hasattr(value, "columns")
    )


def _positional(name: str, value: Any) -> Any:
    """A column given by position (a list, not a pandas Series), or a TypeError."""
    module = type(value).__module__.partition(".")[0]
    kind = type(value).__qualname__
    if module == "polars" and kind == "Series":
        return value.to_list()
    if module == "pyarrow" and hasattr(value, "to_pylist") and not hasattr(value, "columns"):
        return value.to_pylist()
    if module == "numpy" and getattr(value, "ndim", None) == 1:
        return value
    if isinstance(value, list | tuple):
        return list(value)
    raise TypeError(
        f"to_frame(): output {name!r} is a {type(value).__qualname__}, neither a column "
        "(a Series, a one-dimensional array, a list) nor a scalar nor a DataFrame; "
        "leave it out with names=[...]"
    )


def to_frame(outputs: Mapping[str, Any], names: Iterable[str]) -> Any:
    """The DataFrame of ``names`` read from ``outputs`` (see the module docstring)."""
    import pandas as pd

    indexed: dict[str, Any] = {}  # pandas Series: aligned on their index
    positional: dict[str, Any] = {}
    scalars: dict[str, Any] = {}
    order: list[str] = []
    for name in names:
        value = outputs[name]
        if _is_scalar(value):
            scalars[name] = value
            order.append(name)
        elif type(value).__qualname__ == "DataFrame":
            frame = value if isinstance(value, pd.DataFrame) else value.to_pandas()
            for label in frame.columns:
                indexed[f"{name}.{label}"] = frame[label]
                order.append(f"{name}.{label}")
        else:
            order.append(name)
            if isinstance(value, pd.Series):
                indexed[name] = value
            else:
                positional[name] = _positional(name, value)
    if indexed:
        result = pd.DataFrame(indexed)
    else:
        rows = len(next(iter(positional.values()))) if positional else 1
        result = pd.DataFrame(index=pd.RangeIndex(rows))
    wrong = {name: len(column) for name, column in positional.items() if len(column) != len(result)}
    if wrong:
        shown = ", ".join(f"{name!r} has {n}" for name, n in wrong.items())
        raise ValueError(f"to_frame(): the frame has {len(result)} rows, but {shown}")
    for name, column in positional.items():
        result[name] = column
    for name, value in scalars.items():
        result[name] = [value] * len(result)
    return result[order]
