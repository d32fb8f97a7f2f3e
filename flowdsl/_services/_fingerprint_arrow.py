"""Fingerprints of pyarrow values: Table, RecordBatch, Array and ChunkedArray.

Imported by the hook registry the first time a pyarrow value is fingerprinted.

A table's or batch's fingerprint covers its row count, the column names and
types in order, and each column's values; an array's covers its type and
values. How the rows are split into chunks is not part of it: equal columns
chunked differently share a key. Values are read as their bytes, streamed
through one hasher per column:

* numbers, booleans and temporal types: the values (nulls zeroed) and the
  null mask;
* strings and binaries: each value's length, then all the bytes, and the mask;
* anything else (lists, structs, decimals, dictionaries...): element by
  element through flowdsl's own encoder (``to_pylist``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from ._fingerprint_hooks import Encoder, add_buffer, bytes_of, register_handler

__all__ = ["is_binary"]


def _fixed_width(chunk: pa.Array) -> np.ndarray[Any, Any]:
    kind = chunk.type
    if pa.types.is_boolean(kind):
        return np.asarray(chunk.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.bool_)
    if pa.types.is_temporal(kind):
        chunk = chunk.view(pa.int64() if kind.bit_width == 64 else pa.int32())
    if chunk.null_count:
        chunk = chunk.fill_null(0)
    return np.ascontiguousarray(chunk.to_numpy(zero_copy_only=False))


def _is_fixed_width(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_date(kind)
        or pa.types.is_time(kind)
        or pa.types.is_duration(kind)
    )


def is_binary(kind: pa.DataType) -> bool:
    """Whether ``kind`` is a string or binary type (of either offset width)."""
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def _binary(chunk: pa.Array, lengths: Any, data: Any) -> None:
    offsets_type = np.int64 if chunk.type in (pa.large_string(), pa.large_binary()) else np.int32
    if chunk.null_count:
        chunk = chunk.fill_null(b"" if pa.types.is_binary(chunk.type) else "")
    _, offsets_buffer, data_buffer = chunk.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=offsets_type)[
        chunk.offset : chunk.offset + len(chunk) + 1
    ]
    lengths.update(bytes_of(np.ascontiguousarray(np.diff(offsets), dtype=np.int64)))
    if data_buffer is not None:
        data.update(memoryview(data_buffer)[offsets[0] : offsets[-1]])


def _column(encoder: Encoder, kind: pa.DataType, chunks: Iterable[pa.Array], depth: int) -> None:
    encoder.encode(str(kind), depth + 1)
    chunks = list(chunks)
    fixed, binary = _is_fixed_width(kind), is_binary(kind)
    if not (fixed or binary):
        encoder.out.append(b"l")
        encoder.encode([item for chunk in chunks for item in chunk.to_pylist()], depth + 1)
        return
    values, lengths, mask = (hashlib.blake2b(digest_size=32) for _ in range(3))
    for chunk in chunks:
        if fixed:
            values.update(bytes_of(_fixed_width(chunk)))
        else:
            _binary(chunk, lengths, values)
        nulls = chunk.is_null().to_numpy(zero_copy_only=False)
        mask.update(bytes_of(np.ascontiguousarray(nulls, dtype=np.bool_)))
    encoder.out.append(b"f" if fixed else b"s")
    for hasher in (values, lengths, mask):
        add_buffer(encoder, hasher.digest())


def _tabular(encoder: Encoder, table: pa.Table | pa.RecordBatch, depth: int) -> None:
    schema = table.schema
    encoder.encode((table.num_rows, schema.names), depth + 1)
    for field, column in zip(schema, table.columns, strict=True):
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        _column(encoder, field.type, chunks, depth)


def _array(encoder: Encoder, array: pa.Array, depth: int) -> None:
    _column(encoder, array.type, [array], depth)


def _chunked(encoder: Encoder, array: pa.ChunkedArray, depth: int) -> None:
    _column(encoder, array.type, array.chunks, depth)


register_handler(pa.Table, _tabular)
register_handler(pa.RecordBatch, _tabular)
register_handler(pa.Array, _array)
register_handler(pa.ChunkedArray, _chunked)
