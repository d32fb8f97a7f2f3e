"""Type introspection shared by the compiler and the runtime services.

One place knows how to read annotations: which types are structured (their
fields addressable as ``vertex.field``), how to strip ``Annotated``, and how
to print a type for an error message.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, Literal

import attrs
import typing_extensions

__all__ = [
    "FieldAccess",
    "StructuredField",
    "annotated_parts",
    "element_type",
    "is_typeddict",
    "structured_fields",
    "type_name",
]

FieldAccess = Literal["item", "attr"]


@attrs.frozen
class StructuredField:
    """One statically known field of a structured type."""

    name: str
    annotation: Any
    access: FieldAccess
    required: bool = True


def annotated_parts(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """Split ``Annotated[T, m1, m2]`` into ``(T, (m1, m2))``; other types give ``(T, ())``."""
    metadata: tuple[Any, ...] = ()
    if type(annotation) is type:  # a plain class, the common case: nothing to split
        return annotation, metadata
    while typing_extensions.get_origin(annotation) is typing_extensions.Annotated:
        metadata = metadata + tuple(annotation.__metadata__)
        annotation = annotation.__origin__
    return annotation, metadata


def element_type(annotation: Any) -> Any:
    """The element type of ``list[T]``, ``Sequence[T]``, ``tuple[T, ...]`` and the like.

    ``Any`` when it cannot be told (a bare ``list``, a fixed-length tuple, a
    type that is not a homogeneous collection): the compiler then checks nothing.
    """
    base, _ = annotated_parts(annotation)
    origin = typing_extensions.get_origin(base)
    args = typing_extensions.get_args(base)
    if origin is tuple:
        return args[0] if len(args) == 2 and args[1] is Ellipsis else Any
    if (
        isinstance(origin, type)
        and issubclass(origin, collections.abc.Iterable)
        and not issubclass(origin, (str, bytes, collections.abc.Mapping))
        and len(args) == 1
    ):
        return args[0]
    return Any


def is_typeddict(tp: Any) -> bool:
    """Whether ``tp`` is a TypedDict class (from ``typing`` or ``typing_extensions``)."""
    return isinstance(tp, type) and typing_extensions.is_typeddict(tp)


def _is_namedtuple(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def _class_hints(cls: type, localns: Mapping[str, Any] | None = None) -> dict[str, Any]:
    # No globalns: each base class's annotations resolve in its own module, so a
    # class inheriting fields from another module still resolves them.
    return typing.get_type_hints(
        cls, localns=dict(localns) if localns else None, include_extras=True
    )


_TYPEDDICT_QUALIFIERS = tuple(
    q
    for q in (
        getattr(typing_extensions, "Required", None),
        getattr(typing_extensions, "NotRequired", None),
        getattr(typing_extensions, "ReadOnly", None),
    )
    if q is not None
)


def _typeddict_field(name: str, hint: Any, required: bool) -> StructuredField:
    # With postponed annotations the class cannot see Required/NotRequired when it
    # is created, so its __required_keys__ may be wrong: the resolved hint decides.
    while typing_extensions.get_origin(hint) in _TYPEDDICT_QUALIFIERS:
        origin = typing_extensions.get_origin(hint)
        if origin is typing_extensions.Required:
            required = True
        elif origin is typing_extensions.NotRequired:
            required = False
        hint = typing_extensions.get_args(hint)[0]
    return StructuredField(name, hint, "item", required)


def structured_fields(
    tp: Any, localns: Mapping[str, Any] | None = None
) -> tuple[StructuredField, ...] | None:
    """The fields of a TypedDict, attrs class, dataclass or NamedTuple; ``None`` otherwise.

    ``localns`` holds extra names for resolving field annotations (the locals of
    the function where a local class was defined). Raises ``NameError`` when a
    field annotation names a type that does not exist.
    """
    tp, _ = annotated_parts(tp)
    if type(tp) is type and tp.__module__ == "builtins":  # int, str, dict...: no fields
        return None
    if is_typeddict(tp):
        hints = _class_hints(tp, localns)
        required = getattr(tp, "__required_keys__", frozenset(hints))
        return tuple(_typeddict_field(name, hint, name in required) for name, hint in hints.items())
    if not isinstance(tp, type):
        return None
    if attrs.has(tp):
        hints = _class_hints(tp, localns)
        return tuple(
            StructuredField(
                f.name, hints.get(f.name, f.type if f.type is not None else Any), "attr"
            )
            for f in attrs.fields(tp)
        )
    if dataclasses.is_dataclass(tp):
        hints = _class_hints(tp, localns)
        return tuple(
            StructuredField(f.name, hints.get(f.name, Any), "attr") for f in dataclasses.fields(tp)
        )
    if _is_namedtuple(tp):
        hints = _class_hints(tp, localns)
        names: tuple[str, ...] = getattr(tp, "_fields")  # noqa: B009 - typed as plain tuple
        return tuple(StructuredField(name, hints.get(name, Any), "attr") for name in names)
    return None


def is_mapping_type(tp: Any) -> bool:
    """Whether values of ``tp`` are mappings whose keys are looked up at run time."""
    tp, _ = annotated_parts(tp)
    origin = typing_extensions.get_origin(tp) or tp
    return isinstance(origin, type) and issubclass(origin, Mapping)


def type_name(tp: Any) -> str:
    """A short, readable name for a type, for messages (``list[int]``, ``User``)."""
    tp, _ = annotated_parts(tp)
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and not typing_extensions.get_args(tp):
        return tp.__qualname__ if tp.__module__ != "builtins" else tp.__name__
    text = repr(tp)
    for prefix in ("typing.", "typing_extensions.", "collections.abc."):
        text = text.replace(prefix, "")
    return text
