"""Schema contracts on DataFrames: flowdsl's ``Columns``, and pandera's and patito's own.

``schema_checker(meta)`` turns one piece of ``Annotated`` metadata into a
checker, or ``None`` when it is no schema: a ``Columns`` marker; a pandera
schema object (``DataFrameSchema``) or model class (``DataFrameModel``); a
patito model class. ``generic_schema(origin, args)`` does the same for
pandera's own generic annotation, ``pandera.typing.DataFrame[Model]``.
pandera and patito are never imported here: their schemas are recognized by
the module they come from, and validated through their own ``validate``
(``lazy=True`` for pandera, so that every failure is known and the first,
in row order, is shown).

Each violation names the column, the row (the index label in pandas, the
position in polars) and the value there.
"""

from __future__ import annotations

import datetime
import typing
from typing import Any

from flowdsl._columns import PYTHON_KINDS, Columns, without_none
from flowdsl._services._arraylike import is_arraylike
from flowdsl._services._contract_checkers import (
    Checker,
    ClassChecker,
    Violation,
    describe,
    short_repr,
)
from flowdsl._typing import type_name

__all__ = ["generic_schema", "schema_checker"]


def _library(value: Any) -> str:
    return type(value).__module__.partition(".")[0]


def _is_frame(value: Any) -> bool:
    return type(value).__qualname__ == "DataFrame" and _library(value) in ("pandas", "polars")


class _Column(typing.NamedTuple):
    name: str
    wanted: Any  # a Python type, a dtype, a dtype's name, or Any
    nullable: bool
    expected: str


def _column_spec(name: str, wanted: Any) -> _Column:
    wanted, nullable = without_none(wanted)
    shown = wanted if isinstance(wanted, str) else type_name(wanted)
    return _Column(name, wanted, nullable, f"{shown}{' or null' if nullable else ''}")


def _pandas_kind_ok(wanted: Any, column: Any) -> bool:
    from pandas.api import types as pdt

    dtype = column.dtype
    checks: dict[Any, Any] = {
        int: lambda: pdt.is_integer_dtype(dtype) and not pdt.is_bool_dtype(dtype),
        float: lambda: pdt.is_float_dtype(dtype) or checks[int](),
        bool: lambda: pdt.is_bool_dtype(dtype),
        str: lambda: pdt.is_string_dtype(dtype),
        complex: lambda: pdt.is_complex_dtype(dtype),
        datetime.datetime: lambda: pdt.is_datetime64_any_dtype(dtype),
        datetime.date: lambda: (
            pdt.is_datetime64_any_dtype(dtype)
            or (pdt.is_object_dtype(dtype) and pdt.infer_dtype(column, skipna=True) == "date")
        ),
        datetime.timedelta: lambda: pdt.is_timedelta64_dtype(dtype),
    }
    return bool(checks[wanted]())


def _polars_kind_ok(wanted: Any, column: Any) -> bool:
    import polars as pl

    dtype = column.dtype
    checks: dict[Any, Any] = {
        int: lambda: dtype.is_integer(),
        float: lambda: dtype.is_float() or dtype.is_integer(),
        bool: lambda: dtype == pl.Boolean,
        str: lambda: dtype == pl.String,
        complex: lambda: False,
        datetime.datetime: lambda: dtype == pl.Datetime,
        datetime.date: lambda: dtype == pl.Date,
        datetime.timedelta: lambda: dtype == pl.Duration,
    }
    return bool(checks[wanted]())


class ColumnsChecker(Checker):
    """``Columns({...})``: names, dtypes and nulls of a pandas or polars DataFrame."""

    __slots__ = ("columns", "strict")

    def __init__(self, marker: Columns) -> None:
        super().__init__(f"a DataFrame with columns {', '.join(n for n, _ in marker.columns)}")
        self.columns = tuple(_column_spec(name, wanted) for name, wanted in marker.columns)
        self.strict = marker.strict

    def ok(self, value: Any) -> bool:
        """Whether ``value`` is a DataFrame with the columns; the passing case, quickly."""
        return self.find(value, "") is None

    def find(self, value: Any, path: str) -> Violation | None:
        """The first problem: not a frame, a missing column, a dtype, a null, an extra column."""
        if not _is_frame(value):
            return Violation(path, "a pandas or polars DataFrame", describe(value))
        names = list(value.columns)
        missing = [c.name for c in self.columns if c.name not in names]
        if missing:
            shown = ", ".join(repr(n) for n in missing)
            return Violation(
                path, self.expected, f"no column {shown} (columns: {short_repr(names)[1:-1]})"
            )
        for spec in self.columns:
            found = self._column(value, spec, path)
            if found is not None:
                return found
        if self.strict:
            listed = {c.name for c in self.columns}
            extra = [n for n in names if n not in listed]
            if extra:
                return Violation(
                    f"{path}[{extra[0]!r}]",
                    "no column but " + ", ".join(repr(c.name) for c in self.columns),
                    f"an extra column of dtype {value[extra[0]].dtype}",
                )
        return None

    def _column(self, frame: Any, spec: _Column, path: str) -> Violation | None:
        column = frame[spec.name]
        where = f"{path}[{spec.name!r}]"
        wanted = spec.wanted
        if wanted is Any or wanted is object:
            return None
        polars = _library(frame) == "polars"
        if isinstance(wanted, str):
            kind_ok = str(column.dtype) == wanted
        elif wanted in PYTHON_KINDS:
            kind_ok = (_polars_kind_ok if polars else _pandas_kind_ok)(wanted, column)
        else:
            kind_ok = bool(column.dtype == wanted)
        if not kind_ok:
            return Violation(where, spec.expected, f"a column of dtype {column.dtype}")
        if not spec.nullable:
            found = _first_null(column, polars)
            if found is not None:
                row, item = found
                return Violation(f"{where}[{row!r}]", f"{spec.expected} (no nulls)", describe(item))
        if wanted is str and not polars and column.dtype == object:
            return _first_not_str(column, where, spec)
        return None


def _first_null(column: Any, polars: bool) -> tuple[Any, Any] | None:
    if polars:
        if not column.null_count():
            return None
        position = int(column.is_null().arg_true()[0])
        return position, None
    mask = column.isna().to_numpy()
    if not mask.any():
        return None
    position = int(mask.argmax())
    return _label(column.index[position]), column.iloc[position]


def _label(label: Any) -> Any:
    item = getattr(label, "item", None)
    return item() if callable(item) and is_arraylike(label) else label


def _first_not_str(column: Any, where: str, spec: _Column) -> Violation | None:
    from pandas.api.types import infer_dtype

    if infer_dtype(column, skipna=True) in ("string", "empty"):
        return None
    for position, item in enumerate(column.tolist()):
        if not isinstance(item, str) and item is not None:
            return Violation(
                f"{where}[{_label(column.index[position])!r}]", spec.expected, describe(item)
            )
    return None


class _LibraryChecker(Checker):
    """A schema of pandera or patito, checked through its own ``validate``."""

    __slots__ = ("base", "schema")

    def __init__(self, schema: Any, base: Checker | None = None) -> None:
        name = getattr(schema, "__qualname__", None) or type(schema).__qualname__
        super().__init__(f"a DataFrame valid for {name}")
        self.schema = schema
        self.base = base

    def ok(self, value: Any) -> bool:
        """The base type, then the schema's own validation."""
        return self.find(value, "") is None

    def find(self, value: Any, path: str) -> Violation | None:
        """The base type's violation, else the first failure the library reports."""
        if self.base is not None:
            found = self.base.find(value, path)
            if found is not None:
                return found
        try:
            self.validate(value)
        except Exception as exc:
            if _library(exc) not in ("pandera", "patito"):
                return Violation(
                    path, self.expected, f"{describe(value)}; validation raised {exc!r:.80}"
                )
            return self.violation_of(exc, value, path)
        return None

    def shape_ok(self, value: Any) -> bool:
        """The base type's shape, if there is one."""
        return self.base is None or self.base.shape_ok(value)

    def validate(self, value: Any) -> None:
        """Raise the library's error when ``value`` does not fit the schema."""
        raise NotImplementedError

    def violation_of(self, error: Exception, value: Any, path: str) -> Violation:
        """The library's error as a violation."""
        raise NotImplementedError


class PanderaChecker(_LibraryChecker):
    """A pandera ``DataFrameSchema`` or ``DataFrameModel`` (pandas or polars)."""

    __slots__ = ()

    def validate(self, value: Any) -> None:
        """``schema.validate(value, lazy=True)``: every failure at once."""
        self.schema.validate(value, lazy=True)

    def violation_of(self, error: Exception, value: Any, path: str) -> Violation:
        """The first failure case: its column, its row and the value there."""
        cases = getattr(error, "failure_cases", None)
        rows = _records(cases)
        if not rows:
            return Violation(path, self.expected, _first_line(error))
        first = rows[0]
        column, index = first.get("column"), first.get("index")
        where = path if column is None else f"{path}[{column!r}]"
        if index is not None and index == index:  # NaN: no row (a column-wide failure)
            where += f"[{_label(index)!r}]"
        return Violation(where, str(first.get("check")), short_repr(first.get("failure_case")))


class PatitoChecker(_LibraryChecker):
    """A patito ``Model`` on a polars DataFrame."""

    __slots__ = ()

    def validate(self, value: Any) -> None:
        """``Model.validate(value)``."""
        self.schema.validate(value)

    def violation_of(self, error: Exception, value: Any, path: str) -> Violation:
        """The first error patito lists: its column and message (patito counts rows, not
        which)."""
        errors = error.errors() if hasattr(error, "errors") else []
        if not errors:
            return Violation(path, self.expected, _first_line(error))
        first = errors[0]
        where = "".join(f"[{part!r}]" for part in first.get("loc", ()))
        return Violation(f"{path}{where}", self.expected, str(first.get("msg")))


def _records(cases: Any) -> list[dict[str, Any]]:
    if cases is None:
        return []
    if hasattr(cases, "to_dicts"):
        rows: list[dict[str, Any]] = cases.to_dicts()
        return rows
    if hasattr(cases, "to_dict"):
        records: list[dict[str, Any]] = cases.to_dict("records")
        return records
    return []


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return short_repr(text[0] if text else type(error).__name__)[1:-1]


def _module_of(meta: Any) -> str:
    cls = meta if isinstance(meta, type) else type(meta)
    return " ".join(base.__module__.partition(".")[0] for base in cls.__mro__)


def schema_checker(meta: Any) -> Checker | None:
    """The checker of one ``Annotated`` metadata item that is a schema, else ``None``."""
    if isinstance(meta, Columns):
        return ColumnsChecker(meta)
    modules = _module_of(meta)
    if "pandera" in modules and callable(getattr(meta, "validate", None)):
        return PanderaChecker(meta)
    if "patito" in modules and isinstance(meta, type) and hasattr(meta, "validate"):
        return PatitoChecker(meta)
    return None


def generic_schema(origin: type, args: tuple[Any, ...]) -> Checker | None:
    """``pandera.typing.DataFrame[Model]`` (pandas or polars): the model, on the library's
    own DataFrame class; ``None`` for any other generic."""
    if not origin.__module__.startswith("pandera.typing") or len(args) != 1:
        return None
    if not callable(getattr(args[0], "validate", None)):  # Series[int]: a dtype, no model
        return None
    plain = next(c for c in origin.__mro__ if not c.__module__.startswith("pandera"))
    return PanderaChecker(args[0], ClassChecker(plain))
