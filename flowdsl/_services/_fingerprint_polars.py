"""Fingerprints of polars values: DataFrame and Series; a LazyFrame is refused.

Imported by the hook registry the first time a polars value is fingerprinted.

A frame's fingerprint covers its column names in order, and each column's
dtype and values; a Series' covers its name, dtype and values. Numbers,
booleans and temporal columns are read as their bytes (nulls zeroed, plus the
null mask). Other columns (strings, categoricals, lists, structs) are hashed
by polars itself (``Series.hash`` with a fixed seed, so the same in every
process of one polars version; the version is part of the key), plus the null mask. Categoricals are
hashed by their strings: their physical codes depend on the process's
string cache.

A ``LazyFrame`` is a query, not data: its result depends on files and sources
flowdsl cannot see, so it is never cached.
"""

from __future__ import annotations

import polars as pl

from ._fingerprint_hooks import Encoder, add_array, register_handler
from .fingerprint import Unfingerprintable

__all__: list[str] = []


def _values(encoder: Encoder, series: pl.Series, depth: int) -> None:
    dtype = series.dtype
    encoder.encode(str(dtype), depth + 1)
    nulls = series.null_count()
    if dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean:
        physical = series.to_physical()
        if nulls:
            physical = physical.fill_null(False if dtype == pl.Boolean else 0)
        array = physical.to_numpy()
        if array.dtype.kind in "biufcmM":
            encoder.out.append(b"r")
            add_array(encoder, array)
            if nulls:
                add_array(encoder, series.is_null().to_numpy())
            return
    if dtype == pl.Object:
        raise Unfingerprintable("polars.Series", f"a column of dtype {dtype} (Python objects)")
    if isinstance(dtype, pl.Categorical):
        series = series.cast(pl.String)
    # polars promises the same hashes only within one version: the version is in the key.
    encoder.encode(pl.__version__, depth + 1)
    add_array(encoder, series.hash(seed=0).to_numpy())
    if nulls:
        add_array(encoder, series.is_null().to_numpy())


def _frame(encoder: Encoder, frame: pl.DataFrame, depth: int) -> None:
    encoder.encode((frame.height, frame.columns), depth + 1)
    for column in frame.get_columns():
        _values(encoder, column, depth)


def _series(encoder: Encoder, series: pl.Series, depth: int) -> None:
    encoder.encode(series.name, depth + 1)
    _values(encoder, series, depth)


def _lazy(encoder: Encoder, frame: pl.LazyFrame, depth: int) -> None:
    raise Unfingerprintable(
        "polars.LazyFrame",
        "it is a query, not data, and what it reads cannot be fingerprinted; "
        "collect() it in the vertex that builds it and pass the DataFrame",
    )


register_handler(pl.DataFrame, _frame)
register_handler(pl.Series, _series)
register_handler(pl.LazyFrame, _lazy)
