"""What contracts need to know about arrays and frames (numpy, pandas, polars, pyarrow).

Two things, both without importing any of those libraries (a value of theirs
is proof that they are already imported):

* ``summary(value)``: one short line for a violation's ``actual``, where the
  repr of a frame would be many lines cut off in the middle;
* predicates that answer with an array of booleans (``lambda s: s >= 0`` on a
  Series): ``holds(outcome)`` is true when every element is (a null counts as
  false), and ``first_false(outcome, value, path)`` locates the first element
  that is not: its path (``path[row]``, or ``path[column][row]`` in a frame,
  by label) and a short description of the value there.
"""

from __future__ import annotations

from typing import Any

__all__ = ["first_false", "holds", "is_arraylike", "missing", "summary"]

_LIBRARIES = frozenset({"numpy", "pandas", "polars", "pyarrow"})


def is_arraylike(value: Any) -> bool:
    """Whether ``value`` belongs to one of the array libraries (a cheap module test)."""
    return type(value).__module__.partition(".")[0] in _LIBRARIES


def _kind(value: Any) -> str:
    return type(value).__qualname__


def summary(value: Any) -> str | None:
    """A one-line description of an array or frame, or ``None`` for other values."""
    if not is_arraylike(value):
        return None
    kind = _kind(value)
    shape = getattr(value, "shape", None)
    if kind == "ndarray":
        return f"ndarray(shape={shape}, dtype={value.dtype})"
    if kind in ("DataFrame", "Table", "RecordBatch"):
        columns = [
            str(c) for c in list(value.columns if kind == "DataFrame" else value.schema.names)
        ]
        rows = value.shape[0] if shape is not None else value.num_rows
        shown = ", ".join(columns[:6]) + (", ..." if len(columns) > 6 else "")
        return f"{kind}({rows} rows x {len(columns)} columns: {shown})"
    if kind == "Series":
        name = getattr(value, "name", None)
        return f"Series({name!r}, {len(value)} rows, dtype={value.dtype})"
    if kind == "LazyFrame":
        return "LazyFrame(not collected)"
    length = _length(value)
    return None if length is None else f"{kind}({length} items)"


def _length(value: Any) -> int | None:
    try:
        return len(value)
    except TypeError:
        return None


def holds(outcome: object) -> bool:
    """Whether a predicate's outcome says yes: every element of an array, else ``bool()``."""
    if outcome is True or outcome is False:
        return outcome
    if not is_arraylike(outcome) or _kind(outcome) in ("bool_", "bool"):
        return bool(outcome)
    return _false_mask(outcome) is None


def _false_mask(outcome: Any) -> Any:
    """The numpy mask of elements that are not true (2-d for a frame), or None if none."""
    import numpy as np

    kind = _kind(outcome)
    module = type(outcome).__module__.partition(".")[0]
    if module == "polars":
        if kind == "DataFrame":
            columns = [column.fill_null(False).to_numpy() for column in outcome.get_columns()]
            truth = np.column_stack(columns) if columns else np.ones((0, 0), dtype=bool)
        else:
            truth = outcome.fill_null(False).to_numpy()
    elif module == "pandas":
        truth = outcome.fillna(False).to_numpy(dtype=bool)
    elif module == "pyarrow":
        truth = outcome.fill_null(False).to_numpy(zero_copy_only=False)
    else:
        truth = np.asarray(outcome)
    mask = ~np.asarray(truth, dtype=bool)
    return mask if mask.any() else None


def first_false(outcome: Any, value: Any, path: str) -> tuple[str, Any] | None:
    """The path of the first element of ``outcome`` that is not true, and the element of
    ``value`` there (tell "none there" with ``missing``); ``None`` if the outcome is not
    an array, or is all true."""
    if not is_arraylike(outcome) or _kind(outcome) in ("bool_", "bool"):
        return None
    import numpy as np

    mask = _false_mask(outcome)
    if mask is None:
        return None
    where = tuple(int(i) for i in np.argwhere(mask)[0])
    labels = _labels(outcome, where)
    element = _element(value, where)
    return path + "".join(f"[{label!r}]" for label in labels), element


def _labels(outcome: Any, where: tuple[int, ...]) -> tuple[Any, ...]:
    # pandas by label (column first, then the row's index label); others by position.
    module = type(outcome).__module__.partition(".")[0]
    kind = _kind(outcome)
    if module == "pandas":
        row = outcome.index[where[0]]
        if kind == "DataFrame":
            return (outcome.columns[where[1]], _plain(row))
        return (_plain(row),)
    if kind == "DataFrame" and module == "polars":
        return (outcome.columns[where[1]], where[0])
    return where


def _plain(label: Any) -> Any:
    # numpy scalars repr as np.int64(3); their Python value reads better in a path.
    item = getattr(label, "item", None)
    return item() if callable(item) and is_arraylike(label) else label


_NOTHING: Any = object()


def _element(value: Any, where: tuple[int, ...]) -> Any:
    try:
        module = type(value).__module__.partition(".")[0]
        if module == "pandas":
            return _plain(value.iloc[where] if len(where) > 1 else value.iloc[where[0]])
        if module == "polars":
            if len(where) > 1:
                return value[where[0], where[1]]
            return value[where[0]]
        if module == "numpy":
            return _plain(value[where])
    except (IndexError, KeyError, TypeError, ValueError):
        return _NOTHING
    return _NOTHING


def missing(element: Any) -> bool:
    """Whether ``first_false`` found no element of the value at the failing place."""
    return element is _NOTHING
