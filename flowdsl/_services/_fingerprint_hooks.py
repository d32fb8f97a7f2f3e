"""Fingerprints of types flowdsl does not know by itself: a registry, and lazy built-ins.

A handler writes the encoding of one value into an encoder (see
``fingerprint._ValueEncoder``): raw parts into ``encoder.out`` and nested
values through ``encoder.encode``. The encoder has already written a tag and
the value's class, so a handler only says what distinguishes two values of
that class.

Handlers for pandas, polars and pyarrow live in modules of their own and are
imported the first time a value of those libraries is met: flowdsl never
imports them itself, and a process that never sees a DataFrame never pays for
them. A type is looked up along its MRO, like ``functools.singledispatch`` or
dask's ``normalize_token``, and the answer is memoized per type.
"""

from __future__ import annotations

import importlib
import struct
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from typing_extensions import Buffer

if TYPE_CHECKING:  # numpy is optional at run time
    import numpy.typing

__all__ = [
    "Encoder",
    "Handler",
    "add_array",
    "add_buffer",
    "bytes_of",
    "handler_for",
    "register_handler",
]

_U64 = struct.Struct("<Q")


class Encoder(Protocol):
    """What a handler may use of the value encoder."""

    out: list[Buffer]

    def encode(self, value: Any, depth: int) -> None:
        """Append the encoding of a nested value."""


#: Writes what distinguishes ``value`` from other values of its class.
Handler = Callable[[Encoder, Any, int], None]

# Top-level package of a type -> the flowdsl module that registers its handlers.
_LAZY = {
    "pandas": "flowdsl._services._fingerprint_pandas",
    "polars": "flowdsl._services._fingerprint_polars",
    "pyarrow": "flowdsl._services._fingerprint_arrow",
}

_lock = threading.Lock()
_registered: dict[type, Handler] = {}
# type -> its handler along the MRO, or None; cleared whenever one is registered.
_resolved: dict[type, Handler | None] = {}


def register_handler(cls: type, handler: Handler) -> None:
    """Fingerprint instances of ``cls`` (and of its subclasses) with ``handler``."""
    with _lock:
        _registered[cls] = handler
        _resolved.clear()


def handler_for(cls: type) -> Handler | None:
    """The handler of the nearest class in ``cls.__mro__`` that has one, else ``None``."""
    try:
        return _resolved[cls]
    except KeyError:
        pass
    package = cls.__module__.partition(".")[0]
    lazy = _LAZY.get(package)
    if lazy is not None:
        importlib.import_module(lazy)  # registers its handlers on import
    with _lock:
        found = next((_registered[base] for base in cls.__mro__ if base in _registered), None)
        _resolved[cls] = found
    return found


def add_buffer(encoder: Encoder, data: Buffer) -> None:
    """Append raw bytes, length-prefixed, hashed in place (no copy)."""
    encoder.out += (_U64.pack(memoryview(data).nbytes), data)


def add_array(encoder: Encoder, array: numpy.typing.NDArray[Any]) -> None:
    """Append a fixed-width numpy array: its dtype, length and bytes in C order.

    A contiguous array is hashed in place; another is copied once.
    """
    import numpy as np

    contiguous = np.ascontiguousarray(array)
    label = contiguous.dtype.str.encode()
    encoder.out += (_U64.pack(len(label)), label, _U64.pack(contiguous.size))
    add_buffer(encoder, bytes_of(contiguous))


def bytes_of(array: numpy.typing.NDArray[Any]) -> Buffer:
    """The bytes of a C-contiguous array of a fixed-width dtype, as a buffer (no copy)."""
    import numpy as np

    # A datetime64 array exports no buffer of its own; its bytes as uint8 do.
    return cast(Buffer, array.reshape(-1).view(np.uint8))
