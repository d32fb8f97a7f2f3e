"""Flow inputs from the command line: ``--inputs FILE.json`` and ``--input NAME=VALUE``.

A ``--input`` text converts by the input's annotation: ``str`` (or no
annotation, or a union with ``str``) keeps the text; ``int``, ``float`` and
``bool`` parse strictly; a ``Path`` is built from it; anything else is read as
JSON (``list[int]``: ``--input ids='[1, 2]'``). The run's contracts then check
the value as for any other call.
"""

from __future__ import annotations

import json
import pathlib
import re
import types
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Union

import typing_extensions

from .. import FlowInput
from .._cli_surface import NO_DEFAULT, Invalid, annotated_parts, did_you_mean, parse_bool, type_name
from .errors import UsageError

__all__ = ["collect_inputs", "convert"]

_INT = re.compile(r"[+-]?[0-9]+")


def collect_inputs(
    inputs: Mapping[str, FlowInput], pairs: Sequence[str], path: str | None
) -> dict[str, Any]:
    """The inputs of ``--inputs`` (a JSON object), then each ``NAME=VALUE`` over them."""
    values = _read_file(path) if path is not None else {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name:
            raise UsageError(f"--input takes NAME=VALUE, got {pair!r}")
        if name not in inputs:
            known = ", ".join(inputs) or "none"
            raise UsageError(
                f"--input {name}: the flow has no input {name!r}{did_you_mean(name, inputs)}",
                hint=f"its inputs are: {known}",
            )
        values[name] = convert(name, inputs[name].annotation, text)
    return values


def _read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except OSError as exc:
        raise UsageError(f"--inputs {path}: cannot read it ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise UsageError(f"--inputs {path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise UsageError(f"--inputs {path}: expected a JSON object of inputs by name")
    return data


def convert(name: str, annotation: Any, text: str) -> Any:
    """The value ``text`` stands for, given the input's annotation; ``UsageError`` if none."""
    tp, _ = annotated_parts(annotation)
    if tp is NO_DEFAULT or tp is Any or tp is object or tp is str or _admits_text(tp, text):
        return text
    try:
        return _parse(tp, text)
    except Invalid as exc:
        raise UsageError(
            f"--input {name}={text!r}: the input {name!r} is annotated {type_name(tp)}, "
            f"and {text!r} {exc}",
            hint=None if tp in (bool, int, float) else "give values of this type as JSON",
        ) from None


def _parse(tp: Any, text: str) -> Any:
    if tp is bool:
        return parse_bool(text)
    if tp is int:
        if not _INT.fullmatch(text):
            raise Invalid("is not a whole number")
        return int(text)
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise Invalid("is not a number") from None
    if isinstance(tp, type) and issubclass(tp, pathlib.PurePath):
        return tp(text)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Invalid(f"is not JSON ({exc})") from None


def _admits_text(tp: Any, text: str) -> bool:
    """Whether a union with ``str``, or a ``Literal`` with ``text`` among its values, takes it."""
    origin = typing_extensions.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return any(arg is str or _admits_text(arg, text) for arg in typing_extensions.get_args(tp))
    if origin is Literal:
        return text in typing_extensions.get_args(tp)
    return False
