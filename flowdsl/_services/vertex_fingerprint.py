"""The fingerprint of a compiled vertex: what a resumed run compares before restoring it.

A recorded output is restored only when the vertex would compute it again
from the same arguments: the same code (``fingerprint_code``: bytecode,
defaults, closures, the globals it reads) and ``version=``, each parameter
bound to the same thing (its source, field, default, and any value a
binding carries), the same annotations, and the same options that shape the
result (``map_over=``, ``when=``, ``until=``, fallbacks...).

Every field of ``VertexNode`` and of the records it holds (its options,
its ``Binding``s, the fields of a structured output) counts, except those
in ``_HOW_IT_RUNS``, which only say where, when or how often the vertex
runs. So a field added
later (a constant bound with ``bind=``, the config that chose a variant)
counts until someone decides it does not: a new way to feed a vertex makes
a resume run it again rather than restore a value it would not compute.

Annotations count by their text (memory addresses left out), so an
annotation whose ``repr`` does not show a change (the body of a predicate
in ``Check``) is not seen: bump ``version=`` then. Defaults and constants
count by their content (``fingerprint_value``); one that cannot be
fingerprinted, and whose ``repr`` shows a memory address, makes the vertex
never restored.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Mapping
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any

import attrs

from .._model.graph import VertexNode
from .._model.options import VertexOptions
from .fingerprint import Unfingerprintable, fingerprint_code, fingerprint_value

__all__ = ["vertex_fingerprint"]

# Bumped when the encoding changes: a checkpoint recorded under another
# format then restores nothing, rather than something it cannot vouch for.
_FORMAT = "vertex-1"

# Fields of the vertex and of its options that do not change what it returns.
_HOW_IT_RUNS: dict[type, frozenset[str]] = {
    # (``upstream`` is derived from the bindings, ``when=`` and ``after=``, all encoded.)
    VertexNode: frozenset({"_location", "is_async", "contracts", "after", "upstream"}),
    VertexOptions: frozenset(
        {
            "pure",
            "flows",
            "blocking",
            "timeout",
            "contracts",
            "retry",
            "max_concurrency",
            "rate_limit",
            "group",
            "compensate",
            "tags",
        }
    ),
}

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_PLAIN = frozenset({str, int, float, bool, bytes, type(None)})
_CALLABLES = (FunctionType, MethodType, functools.partial, BuiltinFunctionType)


def vertex_fingerprint(node: VertexNode) -> str:
    """A text that is equal for two compilations of a vertex that compute the same thing.

    Example::

        vertex_fingerprint(flow.graph.vertices["save"])  # "vertex-1:3f0c..."

    A vertex whose code cannot be fingerprinted gets a text of its own that
    equals no other: it is never restored.
    """
    parts: list[str] = []
    try:
        _encode_record(node, parts)
    except Unfingerprintable:
        return f"unfingerprintable:{uuid.uuid4().hex}"
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass"))
    return f"{_FORMAT}:{digest.hexdigest()}"


def _encode_record(record: Any, parts: list[str]) -> None:
    parts.append(f"<{type(record).__qualname__}")
    skip = _HOW_IT_RUNS.get(type(record), frozenset())
    for field in attrs.fields(type(record)):
        if field.name not in skip:
            parts.append(field.name)
            _encode(getattr(record, field.name), parts)
    parts.append(">")


def _encode(value: Any, parts: list[str]) -> None:
    # Plain values first: they are most of what a vertex holds.
    if type(value) in _PLAIN:
        parts.append(f"{type(value).__name__}:{value!r}")
    elif attrs.has(type(value)):
        _encode_record(value, parts)
    elif isinstance(value, _CALLABLES):
        parts.append(f"code:{fingerprint_code(value)}")
    elif isinstance(value, (tuple, list)):
        parts.append(f"[{len(value)}")
        for item in value:
            _encode(item, parts)
    elif isinstance(value, Mapping):
        parts.append(f"{{{len(value)}")
        for key in sorted(value, key=repr):
            parts.append(repr(key))
            _encode(value[key], parts)
    elif isinstance(value, (str, int, float, bytes, type(None))):
        parts.append(f"{type(value).__name__}:{value!r}")
    else:
        parts.append(_text(value))


def _text(value: Any) -> str:
    # Defaults and constants by content; annotations (types, typing forms)
    # by their text without addresses. A value known neither way, whose text
    # shows an address, could be anything: the vertex is never restored.
    if isinstance(value, type) or _is_annotation(value):
        return f"text:{_ADDRESS.sub('', repr(value))}"
    if type(value) is object:
        return "sentinel"  # a bare object() has no state; only its identity is used
    try:
        return f"value:{fingerprint_value(value).hex()}"
    except Unfingerprintable:
        text = repr(value)
        if _ADDRESS.search(text):
            raise
        return f"text:{type(value).__module__}.{type(value).__qualname__}:{text}"


def _is_annotation(value: Any) -> bool:
    module = type(value).__module__
    return module in ("typing", "typing_extensions", "types") or hasattr(value, "__origin__")
