"""Fingerprints of pandas values: DataFrame, Series, Index, and pandas' scalars.

Imported by the hook registry the first time a pandas value is fingerprinted.

What a frame's fingerprint covers: its shape, the column labels in order (and
the columns' own name), each column's dtype and values, the index (its type,
name or names and values), and ``attrs``. So does a Series (its name, dtype,
values and index), and an Index. Values are read column by column:

* numeric, boolean and datetime64/timedelta64 columns backed by numpy: their
  bytes, hashed in place (no pandas hashing needed: the bytes are the values);
* categoricals: their categories (as an Index), ``ordered``, and the codes;
* pandas' nullable numbers and booleans: the values with nulls zeroed, and the
  null mask;
* strings (object columns that hold only ``str``, and the string dtypes),
  datetimes with a time zone and periods: pandas' own vectorized hashing
  (``pandas.util.hash_array``, a fixed key, so the same in every process), and
  the null mask;
* anything else (an object column of mixed values, nested Arrow types...):
  element by element through flowdsl's own encoder, which refuses what it
  cannot fingerprint exactly. pandas' hashing would read such values through
  ``str()``, where two different values can look alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._fingerprint_hooks import Encoder, add_array, register_handler

__all__: list[str] = []

# numpy dtype kinds whose bytes are the values themselves.
_RAW_KINDS = frozenset("biufcmM")
# Object columns pandas' hashing reads exactly: str only (nulls are in the mask).
_HASHED_OBJECTS = frozenset({"string", "empty"})


def _hashed(encoder: Encoder, array: Any) -> bool:
    """pandas' hashes of ``array`` and its null mask; False if pandas cannot hash it."""
    try:
        hashes = pd.util.hash_array(array, categorize=False)
    except (TypeError, ValueError):  # a lone surrogate cannot be encoded, for one
        return False
    encoder.out.append(b"h")
    add_array(encoder, hashes)
    add_array(encoder, np.asarray(pd.isna(array), dtype=np.bool_))
    return True


def _values(encoder: Encoder, column: pd.Series[Any] | pd.Index[Any], depth: int) -> None:
    """A column's dtype and values (a Series' or an Index's; never its labels)."""
    dtype = column.dtype
    array = column.array
    encoder.encode(str(dtype), depth + 1)
    if isinstance(dtype, np.dtype):
        if dtype.kind in _RAW_KINDS:
            add_array(encoder, column.to_numpy())
            return
        if (
            dtype.kind == "O"
            and pd.api.types.infer_dtype(array, skipna=True) in _HASHED_OBJECTS
            and _hashed(encoder, np.asarray(array, dtype=object))
        ):
            # None, nan and NaT are all null: which one stays distinguishable.
            nulls = np.flatnonzero(pd.isna(array))
            encoder.encode([type(array[i]).__qualname__ for i in nulls], depth + 1)
            return
    elif isinstance(dtype, pd.CategoricalDtype):
        encoder.out.append(b"c")
        _index(encoder, dtype.categories, depth)
        encoder.encode(bool(dtype.ordered), depth + 1)
        add_array(encoder, array.codes)
        return
    elif isinstance(array, pd.api.extensions.ExtensionArray) and hasattr(dtype, "numpy_dtype"):
        numpy_dtype = dtype.numpy_dtype
        if numpy_dtype.kind in _RAW_KINDS and not isinstance(dtype, pd.ArrowDtype):
            # Nullable Int64, Float64, boolean...: the values with nulls filled, and the mask.
            encoder.out.append(b"m")
            add_array(encoder, array.to_numpy(dtype=numpy_dtype, na_value=numpy_dtype.type(0)))
            add_array(encoder, np.asarray(array.isna(), dtype=np.bool_))
            return
    if (
        isinstance(dtype, pd.StringDtype | pd.DatetimeTZDtype | pd.PeriodDtype)
        or (isinstance(dtype, pd.ArrowDtype) and _flat_arrow(dtype))
    ) and _hashed(encoder, array):
        return
    encoder.out.append(b"l")
    encoder.encode(column.tolist(), depth + 1)


def _flat_arrow(dtype: pd.ArrowDtype) -> bool:
    import pyarrow as pa

    from ._fingerprint_arrow import is_binary

    kind = dtype.pyarrow_dtype
    return bool(pa.types.is_primitive(kind) or is_binary(kind))


def _index(encoder: Encoder, index: pd.Index[Any], depth: int) -> None:
    encoder.encode(f"{type(index).__module__}.{type(index).__qualname__}", depth + 1)
    if isinstance(index, pd.RangeIndex):
        # Its values follow from these; a million-row default index costs nothing.
        encoder.encode((index.name, index.start, index.stop, index.step), depth + 1)
        return
    if isinstance(index, pd.MultiIndex):
        encoder.encode(list(index.names), depth + 1)
        for level in range(index.nlevels):
            _values(encoder, index.get_level_values(level), depth)
        return
    encoder.encode(index.name, depth + 1)
    _values(encoder, index, depth)


def _frame(encoder: Encoder, frame: pd.DataFrame, depth: int) -> None:
    encoder.encode(frame.shape, depth + 1)
    encoder.encode(frame.columns.tolist(), depth + 1)
    encoder.encode(frame.columns.name, depth + 1)
    encoder.encode(dict(frame.attrs), depth + 1)
    _index(encoder, frame.index, depth)
    for position in range(frame.shape[1]):
        _values(encoder, frame.iloc[:, position], depth)


def _series(encoder: Encoder, series: pd.Series[Any], depth: int) -> None:
    encoder.encode(series.name, depth + 1)
    encoder.encode(dict(series.attrs), depth + 1)
    _index(encoder, series.index, depth)
    _values(encoder, series, depth)


def _timestamp(encoder: Encoder, value: pd.Timestamp, depth: int) -> None:
    encoder.encode((value.unit, int(value.asm8.view(np.int64)), str(value.tz)), depth + 1)


def _timedelta(encoder: Encoder, value: pd.Timedelta, depth: int) -> None:
    encoder.encode((value.unit, int(value.asm8.view(np.int64))), depth + 1)


def _singleton(encoder: Encoder, value: Any, depth: int) -> None:
    # NaT and NA: the class tag the encoder wrote says everything.
    return None


register_handler(pd.DataFrame, _frame)
register_handler(pd.Series, _series)
register_handler(pd.Index, _index)
register_handler(pd.Timestamp, _timestamp)
register_handler(pd.Timedelta, _timedelta)
register_handler(type(pd.NaT), _singleton)
register_handler(type(pd.NA), _singleton)
