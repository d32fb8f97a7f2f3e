"""Fingerprints of pandas, polars and pyarrow values: equal content, one key; a change, another."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import flowdsl
from flowdsl import vertex
from flowdsl._services.fingerprint import Unfingerprintable, fingerprint_value
from tests.runtime import _probe as probe

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")


def key(value: Any) -> str:
    return fingerprint_value(value).hex()


def _frame() -> Any:
    return pd.DataFrame(
        {
            "age": [31, 45, 27],
            "income": [52_000.0, 71_500.5, float("nan")],
            "city": ["Oslo", "Lima", None],
            "tier": pd.Categorical(["a", "b", "a"], categories=["a", "b", "c"]),
            "joined": pd.to_datetime(["2020-01-01", "2021-06-30", None]).tz_localize("UTC"),
            "score": pd.array([1, None, 3], dtype="Int64"),
        },
        index=pd.Index([10, 11, 12], name="user"),
    )


# Each function changes one thing of _frame(): each must change the key.
FRAME_CHANGES: dict[str, Callable[[Any], Any]] = {
    "a number cell": lambda df: df.assign(age=[31, 46, 27]),
    "a float cell's sign of zero": lambda df: df.assign(income=[52_000.0, 71_500.5, -0.0]),
    "a string cell": lambda df: df.assign(city=["Oslo", "Lima", "Rome"]),
    "a null's kind (None to 'None')": lambda df: df.assign(city=["Oslo", "Lima", "None"]),
    "a categorical cell": lambda df: df.assign(tier=df["tier"].where(df.index != 11, "c")),
    "the categories": lambda df: df.assign(tier=df["tier"].cat.add_categories(["d"])),
    "a time zone": lambda df: df.assign(joined=df["joined"].dt.tz_convert("Europe/Oslo")),
    "a nullable cell": lambda df: df.assign(score=pd.array([1, 0, 3], dtype="Int64")),
    "a dtype": lambda df: df.astype({"age": "int32"}),
    "a dtype of equal values": lambda df: df.astype({"age": "float64"}),
    "the column order": lambda df: df[["income", "age", "city", "tier", "joined", "score"]],
    "a column name": lambda df: df.rename(columns={"age": "years"}),
    "the columns' name": lambda df: df.rename_axis(columns="field"),
    "an index value": lambda df: df.set_axis([10, 11, 13]),
    "the index name": lambda df: df.rename_axis("id"),
    "the index dtype": lambda df: df.set_axis(pd.Index([10, 11, 12], dtype="int32", name="user")),
    "the index type": lambda df: df.reset_index(drop=True),
    "the row order": lambda df: df.iloc[[1, 0, 2]],
    "a dropped row": lambda df: df.iloc[:2],
    "attrs": lambda df: _with_attrs(df, source="crm"),
}


def _with_attrs(df: Any, **attrs: Any) -> Any:
    copy = df.copy()
    copy.attrs.update(attrs)
    return copy


def test_equal_pandas_frames_share_a_key() -> None:
    assert key(_frame()) == key(_frame()) == key(_frame().copy(deep=True))


@pytest.mark.parametrize("change", FRAME_CHANGES, ids=list(FRAME_CHANGES))
def test_each_change_of_a_pandas_frame_changes_its_key(change: str) -> None:
    assert key(FRAME_CHANGES[change](_frame())) != key(_frame())


def test_pandas_series_index_and_scalars() -> None:
    series = pd.Series([1.5, 2.5], index=["a", "b"], name="x")
    assert key(series) == key(series.copy())
    assert key(series.rename("y")) != key(series)
    assert key(series.set_axis(["a", "c"])) != key(series)
    assert key(series.astype("float32")) != key(series)
    assert key(series) != key(series.to_frame())
    index = pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"])
    assert key(index) == key(index.copy())
    assert key(index.set_names(["k", "m"])) != key(index)
    assert key(pd.MultiIndex.from_tuples([("a", 1), ("b", 3)], names=["k", "n"])) != key(index)
    stamp = pd.Timestamp("2024-03-01 12:00", tz="UTC")
    assert key(stamp) == key(pd.Timestamp("2024-03-01 12:00", tz="UTC"))
    assert key(stamp) != key(stamp.tz_convert("Asia/Tokyo"))
    assert key(pd.Timedelta(seconds=1)) != key(pd.Timedelta(seconds=2))
    assert key(pd.NaT) != key(pd.NA) != key(None)


def test_object_columns_are_read_exactly_not_through_str() -> None:
    # pandas' own hashing reads non-str objects through str(): 1, "1" and 1.0 would meet.
    column = pd.Series([1, "1", 1.0], dtype=object)
    assert key(column) != key(pd.Series(["1", "1", "1.0"], dtype=object))
    assert key(column) == key(pd.Series([1, "1", 1.0], dtype=object))
    assert key(pd.Series([b"a"], dtype=object)) != key(pd.Series(["a"], dtype=object))


def test_an_object_column_of_unknown_objects_is_refused() -> None:
    class Opaque:
        pass

    with pytest.raises(Unfingerprintable):
        fingerprint_value(pd.Series([Opaque()], dtype=object))


def _polars() -> Any:
    return pl.DataFrame(
        {
            "age": [31, 45, None],
            "income": [52_000.0, 71_500.5, 1.0],
            "city": ["Oslo", "Lima", None],
            "tags": [["a"], [], ["b", "c"]],
            "tier": pl.Series(["a", "b", "a"], dtype=pl.Categorical),
            "day": pl.Series([1, 2, 3]).cast(pl.Date),
        }
    )


POLARS_CHANGES: dict[str, Callable[[Any], Any]] = {
    "a number cell": lambda df: df.with_columns(age=pl.Series([31, 46, None])),
    "a null to zero": lambda df: df.with_columns(age=pl.Series([31, 45, 0])),
    "a string cell": lambda df: df.with_columns(city=pl.Series(["Oslo", "Lima", "Rome"])),
    "a list cell": lambda df: df.with_columns(tags=pl.Series([["a"], ["z"], ["b", "c"]])),
    "a categorical cell": lambda df: df.with_columns(
        tier=pl.Series(["a", "b", "b"], dtype=pl.Categorical)
    ),
    "a date cell": lambda df: df.with_columns(day=pl.Series([1, 2, 4]).cast(pl.Date)),
    "a dtype": lambda df: df.with_columns(pl.col("age").cast(pl.Int32)),
    "the column order": lambda df: df.select(["income", "age", "city", "tags", "tier", "day"]),
    "a column name": lambda df: df.rename({"age": "years"}),
    "the row order": lambda df: df.reverse(),
}


def test_equal_polars_frames_share_a_key() -> None:
    assert key(_polars()) == key(_polars()) == key(_polars().clone())


@pytest.mark.parametrize("change", POLARS_CHANGES, ids=list(POLARS_CHANGES))
def test_each_change_of_a_polars_frame_changes_its_key(change: str) -> None:
    assert key(POLARS_CHANGES[change](_polars())) != key(_polars())


def test_polars_series() -> None:
    series = pl.Series("x", [1.0, 2.0])
    assert key(series) == key(series.clone())
    assert key(series.rename("y")) != key(series)
    assert key(pl.Series("x", [1.0, -0.0])) != key(pl.Series("x", [1.0, 0.0]))


def test_a_polars_lazy_frame_is_refused() -> None:
    with pytest.raises(Unfingerprintable, match=r"collect\(\) it"):
        fingerprint_value(_polars().lazy())


def _arrow() -> Any:
    return pa.table(
        {
            "age": pa.array([31, None, 27], pa.int64()),
            "city": ["Oslo", "Lima", None],
            "ok": [True, None, False],
            "at": pa.array([1, 2, None], pa.timestamp("ms", tz="UTC")),
            "tags": [["a"], None, ["b"]],
        }
    )


ARROW_CHANGES: dict[str, Callable[[Any], Any]] = {
    "a number cell": lambda t: t.set_column(0, "age", pa.array([31, None, 28], pa.int64())),
    "a null to zero": lambda t: t.set_column(0, "age", pa.array([31, 0, 27], pa.int64())),
    "a string cell": lambda t: t.set_column(1, "city", pa.array(["Oslo", "Lim", "a"])),
    "a string split differently": lambda t: t.set_column(
        1, "city", pa.array(["Osl", "oLima", None])
    ),
    "a boolean cell": lambda t: t.set_column(2, "ok", pa.array([True, None, True])),
    "a type": lambda t: t.set_column(0, "age", pa.array([31, None, 27], pa.int32())),
    "a time zone": lambda t: t.set_column(
        3, "at", t["at"].cast(pa.timestamp("ms", tz="Asia/Tokyo"))
    ),
    "a nested cell": lambda t: t.set_column(4, "tags", pa.array([["a"], None, ["c"]])),
    "a column name": lambda t: t.rename_columns(["years", "city", "ok", "at", "tags"]),
    "the column order": lambda t: t.select(["city", "age", "ok", "at", "tags"]),
    "a dropped row": lambda t: t.slice(0, 2),
}


def test_equal_arrow_tables_share_a_key_however_chunked() -> None:
    table = _arrow()
    rechunked = pa.concat_tables([table.slice(0, 1), table.slice(1)])
    assert rechunked["age"].num_chunks == 2
    assert key(table) == key(_arrow()) == key(rechunked)
    assert key(table.to_batches()[0]) == key(
        pa.RecordBatch.from_pylist(table.to_pylist(), schema=table.schema)
    )
    assert key(table["city"]) == key(rechunked["city"])
    assert key(pa.array([1, 2])) != key(pa.array([1, 3]))


@pytest.mark.parametrize("change", ARROW_CHANGES, ids=list(ARROW_CHANGES))
def test_each_change_of_an_arrow_table_changes_its_key(change: str) -> None:
    assert key(ARROW_CHANGES[change](_arrow())) != key(_arrow())


def test_a_sliced_arrow_array_reads_only_its_own_values() -> None:
    sliced = pa.array(["x", "yy", "zzz", None]).slice(1, 2)
    assert key(sliced) == key(pa.array(["yy", "zzz"]))
    numbers = pa.array([1, None, 3, 4]).slice(1, 2)
    assert key(numbers) == key(pa.array([None, 3], pa.int64()))


SCRIPT = textwrap.dedent(
    """
    import numpy as np, pandas as pd, polars as pl, pyarrow as pa
    from flowdsl._services.fingerprint import fingerprint_value
    frame = pd.DataFrame({
        "n": np.arange(1000, dtype=np.int64), "x": np.linspace(0, 1, 1000),
        "s": [f"row {i}" for i in range(1000)],
        "c": pd.Categorical(["a", "b"] * 500),
    })
    values = [frame, frame["s"], pl.from_pandas(frame), pa.Table.from_pandas(frame)]
    print(" ".join(fingerprint_value(v).hex() for v in values))
    """
)


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
def test_keys_are_the_same_in_every_process() -> None:
    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split())
    assert outputs[0] == outputs[1]
    assert len(set(outputs[0])) == 4


def test_a_pure_vertex_taking_a_frame_is_cached() -> None:
    probe.calls = []

    @vertex(pure=True)
    def mean_age(people: pd.DataFrame) -> float:
        probe.calls.append(1)
        return float(people["age"].mean())

    flow = flowdsl.Flow.from_functions(mean_age)
    store = flowdsl.MemoryCache()
    first = flow.run({"people": _frame()}, cache=store)
    second = flow.run({"people": _frame()}, cache=store)
    third = flow.run({"people": FRAME_CHANGES["a number cell"](_frame())}, cache=store)
    assert (first["mean_age"], second["mean_age"]) == (34.333333333333336,) * 2
    assert third["mean_age"] != first["mean_age"]
    assert probe.calls == [1, 1]
    assert second.metrics.vertices["mean_age"].cache == "hit"


def test_a_lazy_frame_argument_runs_uncached_with_a_clear_warning() -> None:
    @vertex(pure=True)
    def height(query: pl.LazyFrame) -> int:
        return int(query.collect().height)

    flow = flowdsl.Flow.from_functions(height)
    with pytest.warns(flowdsl.CacheWarning, match=r"polars\.LazyFrame.*collect\(\) it"):
        result = flow.run({"query": _polars().lazy()}, cache=flowdsl.MemoryCache())
    assert result["height"] == 3
    assert result.metrics.vertices["height"].cache == "uncacheable"


def test_flowdsl_imports_no_frame_library_by_itself() -> None:
    script = (
        "import sys, flowdsl\n"
        "from flowdsl._services.fingerprint import fingerprint_value\n"
        "fingerprint_value({'a': [1, 2.5, 'x']})\n"
        "print(sorted(m for m in ('pandas', 'polars', 'pyarrow', 'numpy') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_no_warning_for_cacheable_frames() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        key(pd.DataFrame({"a": [1]}))
