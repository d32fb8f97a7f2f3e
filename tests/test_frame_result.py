"""``result.to_frame()`` and ``result.to_dict()``; frames and arrays through checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import flowdsl
from flowdsl import CheckpointError, vertex

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")


def _features() -> flowdsl.Flow:
    @vertex
    def spend(days: int) -> pd.Series:
        return pd.Series([10.0 * d for d in range(days)], index=[f"d{d}" for d in range(days)])

    @vertex
    def clicks(spend: pd.Series) -> pd.Series:
        return (spend / 2).astype(int)

    @vertex
    def total(spend: pd.Series) -> float:
        return float(spend.sum())

    @vertex
    def label(days: int) -> str:
        return f"{days} days"

    @vertex
    def ranks(days: int) -> list[int]:
        return list(range(days, 0, -1))

    return flowdsl.Flow.from_functions(spend, clicks, total, label, ranks)


def test_columns_and_scalars_make_one_frame() -> None:
    frame = _features().run({"days": 3}).to_frame()
    assert list(frame.columns) == ["spend", "clicks", "total", "label", "ranks"]
    assert list(frame.index) == ["d0", "d1", "d2"]
    assert frame["clicks"].tolist() == [0, 5, 10]
    assert frame["total"].tolist() == [30.0] * 3
    assert frame["label"].tolist() == ["3 days"] * 3
    assert frame["ranks"].tolist() == [3, 2, 1]  # by position, under the Series' index


def test_names_pick_and_order_the_columns() -> None:
    result = _features().run({"days": 2})
    frame = result.to_frame(["total", "spend"])
    assert list(frame.columns) == ["total", "spend"]
    assert result.to_frame(["total", "label"]).to_dict("records") == [
        {"total": 10.0, "label": "2 days"}
    ]


def test_frame_outputs_give_qualified_columns_and_other_column_kinds() -> None:
    @vertex
    def table(n: int) -> pd.DataFrame:
        return pd.DataFrame({"a": range(n), "b": range(n)})

    @vertex
    def lazy(n: int) -> Any:
        return pl.Series("x", [1.5] * n)

    @vertex
    def arrow(n: int) -> Any:
        return pa.array(["s"] * n)

    @vertex
    def array(n: int) -> Any:
        return np.arange(n)

    frame = flowdsl.Flow.from_functions(table, lazy, arrow, array).run({"n": 2}).to_frame()
    assert list(frame.columns) == ["table.a", "table.b", "lazy", "arrow", "array"]
    assert frame.to_dict("records")[1] == {
        "table.a": 1,
        "table.b": 1,
        "lazy": 1.5,
        "arrow": "s",
        "array": 1,
    }


def test_what_is_no_column_is_named() -> None:
    @vertex
    def config(n: int) -> dict[str, int]:
        return {"n": n}

    result = flowdsl.Flow.from_functions(config).run({"n": 1})
    with pytest.raises(TypeError, match="output 'config' is a dict"):
        result.to_frame()


def test_columns_of_different_lengths_are_refused() -> None:
    @vertex
    def short(n: int) -> list[int]:
        return [1] * n

    @vertex
    def longer(n: int) -> list[int]:
        return [1] * (n + 1)

    result = flowdsl.Flow.from_functions(short, longer).run({"n": 2})
    with pytest.raises(ValueError, match="2 rows, but 'longer' has 3"):
        result.to_frame()


def test_to_dict_gives_plain_values() -> None:
    result = _features().run({"days": 2}, outputs=["total", "label"])
    assert result.to_dict() == {"total": 10.0, "label": "2 days"}
    assert type(result.to_dict()) is dict
    assert result.to_dict(["label"]) == {"label": "2 days"}


def _values() -> dict[str, Any]:
    return {
        "pandas": pd.DataFrame(
            {
                "n": [1, 2],
                "tier": pd.Categorical(["a", "b"]),
                "at": pd.to_datetime(["2024-01-01", None]).tz_localize("UTC"),
                "score": pd.array([1, None], dtype="Int64"),
            },
            index=pd.Index(["x", "y"], name="id"),
        ),
        "polars": pl.DataFrame({"n": [1, None], "s": ["a", "b"]}),
        "arrow": pa.table({"n": [1, 2], "s": ["a", None]}),
        "numpy": np.arange(6, dtype=np.float32).reshape(2, 3).T,
    }


def _producers() -> flowdsl.Flow:
    @vertex
    def frames(seed: int) -> dict[str, Any]:
        return _values()

    return flowdsl.Flow.from_functions(frames)


def test_frames_and_arrays_round_trip_through_a_pickle_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    flow = _producers()
    flow.run({"seed": 1}, checkpoint=path, run_id="r")
    resumed = flow.run(checkpoint=path, run_id="r", resume=True)
    assert str(resumed.states["frames"]) == "restored"
    loaded, expected = resumed["frames"], _values()
    pd.testing.assert_frame_equal(loaded["pandas"], expected["pandas"])
    assert loaded["polars"].equals(expected["polars"])
    assert loaded["arrow"].equals(expected["arrow"])
    assert loaded["numpy"].dtype == np.float32
    assert np.array_equal(loaded["numpy"], expected["numpy"])


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "numpy"])
def test_the_json_serializer_refuses_frames_and_arrays_by_name(kind: str, tmp_path: Path) -> None:
    @vertex
    def value(seed: int) -> Any:
        return _values()[kind]

    flow = flowdsl.Flow.from_functions(value)
    with pytest.raises(CheckpointError, match=r"vertex 'value'.*'json'"):
        flow.run({"seed": 1}, checkpoint=tmp_path / "runs.db", serializer="json")
