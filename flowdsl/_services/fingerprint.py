"""Value and code fingerprints: the keys behind pure-function caching.

A cache hit must never return a stale or wrong value, so every rule here errs
towards "cannot fingerprint this" (the caller then does not cache) rather than
towards a digest that might match a different value.

Example::

    fingerprint_value({"b": 2, "a": 1}) == fingerprint_value({"a": 1, "b": 2})  # True
    fingerprint_value(1) == fingerprint_value(1.0)                              # False
    key = cache_key("validate", fingerprint_code(validate), None,
                    [("normalize", fingerprint_value("alice"))])

Values
    Each value is encoded as a type tag followed by a length-prefixed payload,
    and the encoding is hashed with BLAKE2b (32 bytes). Nothing depends on
    ``hash()``, ``id()`` or addresses, so the digest is the same in every process
    whatever ``PYTHONHASHSEED`` is. Dicts, sets and frozensets are order-free
    (their entries' own digests are sorted); note that a dict's insertion order
    is therefore not part of its fingerprint, ``OrderedDict``'s is. Supported
    types are listed in :func:`fingerprint_value`; anything else raises
    :class:`Unfingerprintable`. Lists and tuples made only of exact ``int``
    that fit in 64 bits, or only of exact ``float``, take a bulk path (one
    ``array`` copy instead of one Python step per element).

Code
    :func:`fingerprint_code` covers what decides a function's behaviour and
    nothing about where it sits: the code object (bytecode, constants including
    nested code objects, names, variable names, flags, exception table) but not
    the file name or line numbers; default and keyword-only default values;
    closure cell values; and the globals the code reads, including the code of
    helper functions it calls (followed recursively unless they live in the
    standard library or in site-packages and belong to another top-level
    package than the function itself: those are tagged by name instead).
    Whatever it cannot see into makes the whole function unfingerprintable.

Speed (Python 3.11, measured with the commands below)::

    python -m timeit -s "from flowdsl._services.fingerprint \\
        import fingerprint_value as f; v = bytes(10_000_000)" "f(v)"
    # 10 MB bytes: 20 loops, best of 5: 13.1 msec per loop
    python -m timeit -s "from flowdsl._services.fingerprint \\
        import fingerprint_value as f; v = list(range(1_000_000))" "f(v)"
    # 1,000,000 ints: 5 loops, best of 5: 50.8 msec per loop
    # (off the bulk path, e.g. 1,000,000 short str, it is about 0.6 s)
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import decimal
import dis
import enum
import fractions
import functools
import hashlib
import logging
import pathlib
import re
import struct
import sys
import sysconfig
import uuid
from array import array
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from types import BuiltinFunctionType, CodeType, FunctionType, MethodType, ModuleType
from typing import Any, NamedTuple

import attrs
from typing_extensions import Buffer

from ._fingerprint_hooks import handler_for

__all__ = [
    "CodeFingerprint",
    "Unfingerprintable",
    "cache_key",
    "cache_keys",
    "code_fingerprint",
    "fingerprint_code",
    "fingerprint_value",
    "fingerprints_natively",
    "global_names",
]

_DIGEST_SIZE = 32
# Bumped whenever the encoding changes, so keys written by an older flowdsl
# can never be read as keys of this one.
_FORMAT = b"flowdsl-fingerprint-2"
# Deeper values are refused rather than risking a RecursionError (each level
# costs up to five Python frames).
_MAX_DEPTH = 100

_U64 = struct.Struct("<Q")
_F64 = struct.Struct("<d")
_C128 = struct.Struct("<dd")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
# numpy dtype kinds whose raw bytes are the values themselves.
_NUMPY_KINDS = frozenset("biufcmMSUV")


class Unfingerprintable(Exception):
    """A value or function whose fingerprint cannot be trusted; do not cache it.

    Example::

        try:
            fingerprint_value(open(path))
        except Unfingerprintable as exc:
            exc.type_name  # "_io.TextIOWrapper"

    ``type_name`` is the readable type name of the offending (sub)value, and
    ``detail`` says why it was refused when that is not obvious from the type.
    This is an internal signal between flowdsl's services, not a public error.
    """

    def __init__(self, type_name: str, detail: str = "") -> None:
        super().__init__(type_name, detail)
        self.type_name = type_name
        self.detail = detail

    def __str__(self) -> str:
        suffix = f": {self.detail}" if self.detail else ""
        return f"cannot fingerprint a value of type {self.type_name}{suffix}"


def _type_name(cls: type) -> str:
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _class_tag(cls: type) -> bytes:
    # Two classes made by the same factory share a qualname but may behave
    # differently, so only classes reachable by their import path are trusted.
    if "<locals>" in cls.__qualname__:
        raise Unfingerprintable(_type_name(cls), "a class defined inside a function")
    return _text(f"{cls.__module__}.{cls.__qualname__}")


def _text(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return _U64.pack(len(data)) + data


def _blob(data: bytes) -> bytes:
    return _U64.pack(len(data)) + data


def _int_bytes(number: int) -> bytes:
    return _blob(number.to_bytes((number.bit_length() + 8) // 8, "little", signed=True))


class _ValueEncoder:
    """Appends the encoding of one value to ``out``; holds the cycle guard."""

    __slots__ = ("active", "out")

    def __init__(self) -> None:
        # Large payloads are kept as separate parts and hashed in place: no copy.
        self.out: list[Buffer] = []
        self.active: set[int] = set()

    def digest_of(self, value: Any, depth: int) -> bytes:
        saved = self.out
        self.out = []
        try:
            self.encode(value, depth)
            return _hash(self.out)
        finally:
            self.out = saved

    def encode(self, value: Any, depth: int) -> None:
        cls = type(value)
        handler = _EXACT.get(cls)
        if handler is not None:
            handler(self, value, depth)
            return
        hook = handler_for(cls)
        if hook is not None:
            if depth >= _MAX_DEPTH:
                raise Unfingerprintable(_type_name(cls), f"nested deeper than {_MAX_DEPTH} levels")
            self.out += (b"X", _class_tag(cls))
            hook(self, value, depth)
            return
        module = cls.__module__
        if module == "numpy" or module.startswith("numpy."):
            self._numpy(value)
        elif isinstance(value, enum.Enum):
            self.out += (b"E", _class_tag(cls))
            self.encode(value.value, depth + 1)
        elif isinstance(value, tuple) and hasattr(cls, "_fields"):
            self._record(value, list(zip(cls._fields, value, strict=True)), depth, tuple)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = dataclasses.fields(value)
            self._record(value, [(f.name, _field(value, f.name)) for f in fields], depth, object)
        elif attrs.has(cls):
            fields = attrs.fields(cls)
            self._record(value, [(f.name, _field(value, f.name)) for f in fields], depth, object)
        else:
            raise Unfingerprintable(_type_name(cls))

    def _record(self, value: Any, items: list[tuple[str, Any]], depth: int, base: type) -> None:
        cls = type(value)
        # A record that also inherits from a builtin (dict, list, Exception...)
        # keeps state outside its fields that cannot be seen from here.
        hidden = [b for b in cls.__mro__ if b.__module__ == "builtins" and b not in (base, object)]
        if hidden:
            raise Unfingerprintable(_type_name(cls), f"it also inherits from {hidden[0].__name__}")
        items += _extra_state(value, {name for name, _ in items})
        self.out += (b"R", _class_tag(cls), _U64.pack(len(items)))
        self._enter(value, depth)
        try:
            for name, item in items:
                self.out.append(_text(name))
                self.encode(item, depth + 1)
        finally:
            self.active.discard(id(value))

    def _enter(self, value: Any, depth: int) -> None:
        if depth >= _MAX_DEPTH:
            raise Unfingerprintable(
                _type_name(type(value)), f"nested deeper than {_MAX_DEPTH} levels"
            )
        if id(value) in self.active:
            raise Unfingerprintable(_type_name(type(value)), "it contains itself")
        self.active.add(id(value))

    def sequence(self, tag: bytes, value: Sequence[Any], depth: int) -> None:
        bulk = _bulk(value)
        if bulk is not None:
            self.out += (tag, *bulk)
            return
        self._enter(value, depth)
        try:
            self.out += (tag, b"g", _U64.pack(len(value)))
            for item in value:
                self.encode(item, depth + 1)
        finally:
            self.active.discard(id(value))

    def unordered(self, tag: bytes, value: Iterable[Any], depth: int) -> None:
        self._enter(value, depth)
        try:
            digests = sorted(self.digest_of(item, depth + 1) for item in value)
        finally:
            self.active.discard(id(value))
        self.out += (tag, _U64.pack(len(digests)), *digests)

    def mapping(self, tag: bytes, value: dict[Any, Any], depth: int, ordered: bool) -> None:
        self._enter(value, depth)
        try:
            pairs = [
                self.digest_of(key, depth + 1) + self.digest_of(item, depth + 1)
                for key, item in value.items()
            ]
        finally:
            self.active.discard(id(value))
        if not ordered:
            pairs.sort()
        self.out += (tag, _U64.pack(len(pairs)), *pairs)

    def _numpy(self, value: Any) -> None:
        np = sys.modules["numpy"]
        cls = type(value)
        if cls is np.ndarray:
            tag = b"A"
        elif isinstance(value, np.generic):
            tag = b"a"
            value = np.asarray(value)
        else:
            raise Unfingerprintable(_type_name(cls))
        if value.dtype.hasobject or value.dtype.kind not in _NUMPY_KINDS:
            # The raw bytes of object (and variable-width string) arrays are
            # pointers, not values.
            raise Unfingerprintable(_type_name(cls), f"an array of dtype {value.dtype}")
        self.out += (
            tag,
            _text(str(value.dtype.descr)),
            _text(str(value.shape)),
            # The memory layout: equal values in another order behave
            # differently (ravel(order="K"), flags, views), so a transposed
            # view and its C-ordered copy must not share a key.
            _text(str(value.strides)),
            *_large(value.tobytes(order="C")),
        )


_NOT_STATE = frozenset({"__dict__", "__weakref__"})


def _extra_state(value: Any, declared: set[str]) -> list[tuple[str, Any]]:
    """Instance attributes and slots beyond the declared fields, by name."""
    # They change behaviour as much as fields do, so they are fingerprinted.
    names: set[str] = set(getattr(value, "__dict__", ()))
    for cls in type(value).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names.update((slots,) if isinstance(slots, str) else slots)
    extra = []
    for name in sorted(names - declared - _NOT_STATE):
        try:
            extra.append((name, getattr(value, name)))
        except AttributeError:
            # An empty slot holds no state; leaving it out still tells it
            # apart from a filled one, whose name then appears.
            continue
    return extra


def _field(value: Any, name: str) -> Any:
    try:
        return getattr(value, name)
    except AttributeError:
        raise Unfingerprintable(_type_name(type(value)), f"field {name!r} is not set") from None


def _large(data: Buffer) -> tuple[Buffer, Buffer]:
    return _U64.pack(memoryview(data).nbytes), data


def _bulk(value: Sequence[Any]) -> tuple[Buffer, ...] | None:
    """The packed form of an all-int64 or all-float sequence, else None."""
    if not value:
        return None
    kinds = set(map(type, value))
    if kinds == {int}:
        try:
            packed = array("q", value)
        except OverflowError:
            return None
        kind = b"q"
    elif kinds == {float}:
        packed = array("d", value)
        kind = b"d"
    else:
        return None
    if sys.byteorder == "big":
        packed.byteswap()
    return (kind, *_large(packed))


def _tz(tzinfo: datetime.tzinfo | None) -> bytes:
    if tzinfo is None:
        return b"n"
    if type(tzinfo) is datetime.timezone:
        offset = tzinfo.utcoffset(None)
        return (
            b"z"
            + _int_bytes(offset // datetime.timedelta(microseconds=1))
            + _text(tzinfo.tzname(None))
        )
    zoneinfo = sys.modules.get("zoneinfo")
    key = getattr(tzinfo, "key", None)
    if zoneinfo is not None and type(tzinfo) is zoneinfo.ZoneInfo and isinstance(key, str):
        return b"Z" + _text(key)
    raise Unfingerprintable(_type_name(type(tzinfo)), "an unsupported tzinfo")


def _time_fields(value: datetime.time | datetime.datetime) -> bytes:
    return struct.pack(
        "<BBBIB", value.hour, value.minute, value.second, value.microsecond, value.fold
    ) + _tz(value.tzinfo)


def _simple(
    tag: bytes, encode: Callable[[Any], bytes]
) -> Callable[[_ValueEncoder, Any, int], None]:
    def handler(encoder: _ValueEncoder, value: Any, depth: int) -> None:
        encoder.out += (tag, encode(value))

    return handler


def _path(value: pathlib.PurePath) -> bytes:
    return _text(type(value).__qualname__) + _text(str(value))


def _pattern(value: re.Pattern[Any]) -> bytes:
    source = value.pattern
    body = _text(source) if isinstance(source, str) else b"b" + _blob(source)
    return body + _int_bytes(value.flags)


_EXACT: dict[type, Callable[[_ValueEncoder, Any, int], None]] = {
    type(None): _simple(b"N", lambda v: b""),
    type(Ellipsis): _simple(b".", lambda v: b""),
    type(NotImplemented): _simple(b"!", lambda v: b""),
    bool: _simple(b"?", lambda v: b"\x01" if v else b"\x00"),
    int: _simple(b"i", _int_bytes),
    float: _simple(b"f", _F64.pack),
    complex: _simple(b"c", lambda v: _C128.pack(v.real, v.imag)),
    str: _simple(b"s", _text),
    bytes: lambda e, v, d: e.out.extend((b"b", *_large(v))),
    # Copied: the caller could change a bytearray while it is being hashed.
    bytearray: lambda e, v, d: e.out.extend((b"B", *_large(bytes(v)))),
    range: _simple(b"r", lambda v: _int_bytes(v.start) + _int_bytes(v.stop) + _int_bytes(v.step)),
    tuple: lambda e, v, d: e.sequence(b"t", v, d),
    list: lambda e, v, d: e.sequence(b"l", v, d),
    set: lambda e, v, d: e.unordered(b"S", v, d),
    frozenset: lambda e, v, d: e.unordered(b"F", v, d),
    dict: lambda e, v, d: e.mapping(b"d", v, d, ordered=False),
    OrderedDict: lambda e, v, d: e.mapping(b"o", v, d, ordered=True),
    Counter: lambda e, v, d: e.mapping(b"C", v, d, ordered=False),
    datetime.date: _simple(b"D", lambda v: struct.pack("<HBB", v.year, v.month, v.day)),
    datetime.time: _simple(b"T", _time_fields),
    datetime.datetime: _simple(
        b"W", lambda v: struct.pack("<HBB", v.year, v.month, v.day) + _time_fields(v)
    ),
    datetime.timedelta: _simple(
        b"L", lambda v: _int_bytes(v.days) + _int_bytes(v.seconds) + _int_bytes(v.microseconds)
    ),
    decimal.Decimal: _simple(b"m", lambda v: _text(str(v))),
    fractions.Fraction: _simple(
        b"q", lambda v: _int_bytes(v.numerator) + _int_bytes(v.denominator)
    ),
    uuid.UUID: _simple(b"u", lambda v: v.bytes),
    re.Pattern: _simple(b"x", _pattern),
    **{
        cls: _simple(b"p", _path)
        for cls in (
            pathlib.PurePath,
            pathlib.PurePosixPath,
            pathlib.PureWindowsPath,
            pathlib.Path,
            pathlib.PosixPath,
            pathlib.WindowsPath,
        )
    },
}


def _defaultdict(encoder: _ValueEncoder, value: defaultdict[Any, Any], depth: int) -> None:
    # The factory decides what a missing key reads as; only builtin types
    # (list, int, set, ...) are known well enough to be named.
    factory = value.default_factory
    if factory is None:
        encoder.out.append(b"n")
    elif isinstance(factory, type) and factory.__module__ == "builtins":
        encoder.out.append(_class_tag(factory))
    else:
        raise Unfingerprintable(_type_name(type(value)), "its default_factory is not a builtin")
    encoder.mapping(b"y", value, depth, ordered=False)


_EXACT[defaultdict] = _defaultdict


def _hash(parts: Iterable[Buffer]) -> bytes:
    hasher = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    for part in parts:
        hasher.update(part)
    return hasher.digest()


def fingerprint_value(value: Any) -> bytes:
    """A stable digest of a value, the same in every process; raises if unsure.

    Example::

        fingerprint_value((1, "a")) == fingerprint_value((1, "a"))   # True
        fingerprint_value([1, 2]) == fingerprint_value((1, 2))       # False

    Supported: ``None``, ``bool``, ``int``, ``float`` (``nan``, ``inf`` and
    ``-0.0`` by their bits), ``complex``, ``str``, ``bytes``, ``bytearray``,
    ``tuple``, ``list``, ``dict`` (order-free), ``OrderedDict`` (ordered),
    ``Counter``, ``defaultdict`` with a builtin or no factory, ``set``,
    ``frozenset``, ``range``, ``Ellipsis``, dataclass and attrs instances,
    NamedTuples, enum members, ``datetime``/``date``/``time`` (with no tzinfo,
    a ``datetime.timezone`` or a keyed ``zoneinfo.ZoneInfo``), ``timedelta``,
    ``Decimal``, ``Fraction``, ``UUID``, ``pathlib`` paths, compiled regular
    expressions, and numpy arrays and scalars of non-object dtypes (by dtype,
    shape, strides and values: the memory layout is part of it). Builtin
    types must match exactly (a ``str`` subclass may carry extra state); user
    classes are tagged by ``module.qualname`` and refused when defined inside a
    function. Dataclass, attrs and NamedTuple instances cover their fields and
    any other instance attributes. A container that contains itself, or nesting
    deeper than 100 levels, raises :class:`Unfingerprintable`, like any other
    type.
    """
    encoder = _ValueEncoder()
    try:
        encoder.encode(value, 0)
    except RecursionError:
        # Reached when the caller's own stack was already deep.
        raise Unfingerprintable(_type_name(type(value)), "nested too deeply") from None
    return _hash(encoder.out)


def _installed_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(
        {paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib") if name in paths}
    )


@functools.lru_cache(maxsize=4096)
def is_library_file(filename: str) -> bool:
    """Whether ``filename`` is part of the standard library or an installed package."""
    return filename.startswith(_installed_prefixes())


_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})


# A code object never changes, so what is derived from it alone is computed
# once (per process, bounded); what it reads (globals, cells, defaults) is
# read again on every fingerprint, since that can change between runs.
_CODE_MEMO = 4096


@functools.lru_cache(maxsize=_CODE_MEMO)
def global_names(code: CodeType) -> tuple[str, ...]:
    """The global (and builtin) names ``code`` and the functions nested in it read, sorted."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in _GLOBAL_LOADS}
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names.update(global_names(const))
    return tuple(sorted(names))


@functools.lru_cache(maxsize=_CODE_MEMO)
def _code_digest(code: CodeType) -> bytes:
    parts = [
        struct.pack(
            "<IIIII",
            code.co_argcount,
            code.co_posonlyargcount,
            code.co_kwonlyargcount,
            code.co_nlocals,
            code.co_flags,
        ),
        _text(code.co_name),
        _blob(code.co_code),
        _blob(getattr(code, "co_exceptiontable", b"")),
        fingerprint_value(code.co_names),
        fingerprint_value(code.co_varnames),
        fingerprint_value(code.co_freevars),
        fingerprint_value(code.co_cellvars),
    ]
    for const in code.co_consts:
        if isinstance(const, CodeType):
            parts.append(b"k" + _code_digest(const))
        else:
            parts.append(b"v" + fingerprint_value(const))
    return _hash(parts)


def _package(fn: object) -> str:
    return str(getattr(fn, "__module__", None) or "").partition(".")[0]


def _is_lru_wrapper(value: Any) -> bool:
    cls = type(value)
    return cls.__module__ == "functools" and cls.__qualname__ == "_lru_cache_wrapper"


class _CodeEncoder:
    """Fingerprints functions and everything their behaviour depends on."""

    def __init__(self, root: Callable[..., Any]) -> None:
        self.root = root
        self.active: dict[int, str] = {}
        self.done: dict[int, bytes] = {}
        # What the code reads that can change between calls, by name: the
        # digest of each global and closure value (see ``CodeFingerprint``).
        self.reads: dict[str, bytes] = {}

    def callable(self, fn: Any) -> bytes:
        if isinstance(fn, FunctionType):
            return b"f" + self.function(fn)
        if isinstance(fn, MethodType):
            return b"M" + self.callable(fn.__func__) + self.reference(fn.__self__, False)
        if isinstance(fn, functools.partial):
            args = b"".join(self.reference(arg, False) for arg in fn.args)
            keywords = b"".join(
                _text(name) + self.reference(fn.keywords[name], False)
                for name in sorted(fn.keywords)
            )
            return b"P" + self.callable(fn.func) + _hash([args, b"|", keywords])
        if _is_lru_wrapper(fn):
            return b"U" + self.callable(fn.__wrapped__)
        if isinstance(fn, BuiltinFunctionType) and (
            fn.__self__ is None or isinstance(fn.__self__, ModuleType)
        ):
            return b"N" + _text(f"{fn.__module__}.{fn.__qualname__}")
        raise Unfingerprintable(_type_name(type(fn)), "not a plain function")

    def function(self, fn: FunctionType) -> bytes:
        key = id(fn)
        if key in self.active:
            return b"^" + _text(self.active[key])
        if key in self.done:
            return self.done[key]
        code = fn.__code__
        if not self.follows(fn):
            # Other packages' installed code changes only with an upgrade;
            # following it would drag their internals and globals into the key.
            named = b"n" + _text(f"{fn.__module__}.{fn.__qualname__}")
            self.done[key] = named
            return named
        self.active[key] = fn.__qualname__
        try:
            defaults = fn.__defaults__ or ()
            kwdefaults = fn.__kwdefaults__ or {}
            parts = [_code_digest(code), _U64.pack(len(defaults))]
            parts += [self.reference(v, True) for v in defaults]
            parts.append(_U64.pack(len(kwdefaults)))
            parts += [_text(k) + self.reference(kwdefaults[k], True) for k in sorted(kwdefaults)]
            # Closure cells are paired with co_freevars, already in the code digest.
            for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=True):
                try:
                    contents = cell.cell_contents
                except ValueError:
                    parts.append(b"-")
                    continue
                parts.append(self.read(f"closure variable {name!r}", contents))
            namespace = fn.__globals__
            module = namespace.get("__name__")
            names = global_names(code)
            parts.append(_U64.pack(len(names)))
            for name in names:
                if name in namespace:
                    where = name if module == self.module else f"{module}.{name}"
                    label = f"module-level value {where!r}"
                    parts.append(_text(name) + self.read(label, namespace[name]))
                elif hasattr(builtins, name):
                    parts.append(_text(name) + b"b")
                else:
                    parts.append(_text(name) + b"-")
            digest = b"h" + _hash(parts)
        finally:
            del self.active[key]
        self.done[key] = digest
        return digest

    @functools.cached_property
    def module(self) -> object:
        return getattr(self.root, "__module__", None)

    def read(self, label: str, value: Any) -> bytes:
        """The digest of a global or closure value the code reads, noted under ``label``."""
        digest = self.reference(value, False)
        self.reads[label] = digest
        return digest

    def follows(self, fn: FunctionType) -> bool:
        if fn is self.root or not is_library_file(fn.__code__.co_filename):
            return True
        return _package(fn) == _package(self.root)

    def reference(self, value: Any, allow_repr: bool) -> bytes:
        """The digest of something a function reads: default, cell or global."""
        if isinstance(value, FunctionType | MethodType | functools.partial | BuiltinFunctionType):
            return b"c" + self.callable(value)
        if _is_lru_wrapper(value):
            return b"c" + self.callable(value)
        if isinstance(value, type):
            return b"t" + _class_tag(value)
        if isinstance(value, ModuleType):
            return b"m" + _text(value.__name__)
        if type(value) is object:
            # A bare sentinel has no state; only its identity is ever used.
            return b"o"
        if isinstance(value, logging.Logger):
            return b"g" + _text(value.name)
        try:
            return b"v" + fingerprint_value(value)
        except Unfingerprintable:
            text = repr(value) if allow_repr else ""
            if not allow_repr or _ADDRESS.search(text):
                raise
            return b"r" + _text(_type_name(type(value))) + _text(text)


def fingerprint_code(fn: Callable[..., Any]) -> str:
    """A hex digest of what a function does, blind to where it is defined.

    Example::

        def double(x: int) -> int:
            return 2 * x

        fingerprint_code(double)  # changes if "2" or the body changes

    Covered: the code object (bytecode, constants and nested code objects,
    names, variable names, argument counts, flags, exception table, the
    function's own name); defaults and keyword-only defaults (by value; an
    unfingerprintable default falls back to its ``repr`` if that shows no
    memory address, otherwise the function is refused); closure cell values;
    and the globals the code loads: values by fingerprint, functions by their
    code (recursively, cycles marked by name), classes by ``module.qualname``,
    modules by name, bare ``object()`` sentinels and loggers by kind. Functions
    installed in the standard library or site-packages are named rather than
    followed, unless they belong to the same top-level package as ``fn``.
    Not covered: file name and line numbers, annotations, the bodies of
    classes' methods, and what is reached through a module attribute
    (``helpers.f``); bump the vertex ``version`` when those change.

    Bound methods (with their ``__self__``), ``functools.partial`` and
    ``functools.lru_cache`` wrappers are accepted. A closure cell, global or
    bound object that cannot be fingerprinted raises :class:`Unfingerprintable`:
    the function's result may depend on state flowdsl cannot see, so it must
    not be cached.
    """
    return code_fingerprint(fn).digest


class CodeFingerprint(NamedTuple):
    """``fingerprint_code``'s digest, and the digest of each value the code reads.

    ``reads`` maps each global the function (or a helper it follows) reads
    (``"module-level value 'NAME'"``, ``'module.NAME'`` outside the function's
    own module) and each closure variable (``"closure variable 'NAME'"``) to
    its digest, so that a changed fingerprint can say which value changed.
    """

    digest: str
    reads: dict[str, bytes]


def code_fingerprint(fn: Callable[..., Any]) -> CodeFingerprint:
    """``fingerprint_code(fn)`` with the values it covers: see :class:`CodeFingerprint`."""
    encoder = _CodeEncoder(fn.__func__ if isinstance(fn, MethodType) else fn)
    return CodeFingerprint(_hash([_FORMAT, encoder.callable(fn)]).hex(), encoder.reads)


def cache_key(
    vertex: str, code: str, version: str | None, inputs: Sequence[tuple[str, bytes]]
) -> str:
    """The hex cache key of one vertex call.

    Example::

        cache_key("validate", fingerprint_code(validate), None,
                  [("normalize", fingerprint_value("alice"))])

    ``inputs`` are (parameter name, value fingerprint) pairs; their order does
    not matter. ``version`` (``None`` and ``""`` differ) lets users invalidate
    by hand what the code fingerprint cannot see.
    """
    keys = cache_keys(vertex, code, version, [name for name, _ in inputs])
    return keys([digest for _, digest in inputs])


def cache_keys(
    vertex: str, code: str, version: str | None, names: Sequence[str]
) -> Callable[[Sequence[bytes]], str]:
    """``cache_key`` for the calls of one vertex: a function of the inputs' digests.

    Example::

        key = cache_keys("validate", fingerprint_code(validate), None, ["normalize"])
        key([fingerprint_value("alice")])  # == cache_key(..., [("normalize", ...)])

    What does not change from call to call (the vertex, its code, its version,
    the parameter names) is hashed once; each call hashes only its digests,
    given in the order of ``names``.
    """
    prefix = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    for part in (
        _FORMAT,
        _text(vertex),
        _text(code),
        b"n" if version is None else b"v" + _text(version),
        _U64.pack(len(names)),
    ):
        prefix.update(part)
    labels = {name: _text(name) for name in names}

    def key(digests: Sequence[bytes]) -> str:
        hasher = prefix.copy()
        for name, digest in sorted(zip(names, digests, strict=True)):
            hasher.update(labels[name])
            hasher.update(_U64.pack(len(digest)))
            hasher.update(digest)
        return hasher.hexdigest()

    return key


def fingerprints_natively(cls: type) -> bool:
    """Whether values of exactly ``cls`` are encoded by flowdsl itself, never by a hook."""
    return cls in _EXACT
