"""Contracts on DataFrames: ``Columns``, pandera's and patito's schemas, checks on arrays.

Each violation must name the column, the row and a short value, on one line. (No
``from __future__ import annotations``: pandera reads the annotations of models
defined inside the tests.)
"""

import datetime
import warnings
from typing import Annotated, Any, Optional

import pytest

import flowdsl
from flowdsl import Check, Columns, ContractViolation, ContractWarning, vertex

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

PEOPLE = Columns({"age": int, "income": Optional[float], "name": str})  # noqa: UP045 - the form users write


def violation(annotation: Any, value: Any) -> ContractViolation | None:
    """The violation a vertex taking ``annotation`` reports for ``value`` (None: it passes)."""

    @vertex
    def take(frame: annotation) -> int:  # type: ignore[valid-type]
        return 0

    try:
        flowdsl.Flow.from_functions(take).run({"frame": value})
    except ContractViolation as exc:
        found = exc
    else:
        return None
    assert "\n" not in str(found)
    return found


def people(**changes: Any) -> Any:
    columns = {"age": [31, 45], "income": [52_000.0, None], "name": ["Ann", "Bo"]}
    columns.update(changes)
    return pd.DataFrame(columns, index=["u1", "u2"])


def test_a_frame_with_the_columns_passes() -> None:
    annotation = Annotated[pd.DataFrame, PEOPLE]
    assert violation(annotation, people()) is None
    assert violation(annotation, people(extra=[1, 2])) is None  # not strict


@pytest.mark.parametrize(
    ("value", "path", "expected", "actual"),
    [
        (people().drop(columns="name"), "frame", "a DataFrame with columns", "no column 'name'"),
        (people(age=[31.5, 45.0]), "frame['age']", "int", "a column of dtype float64"),
        (people(age=[True, False]), "frame['age']", "int", "a column of dtype bool"),
        (people(name=["Ann", 7]), "frame['name']['u2']", "str", "7 (int)"),
        # The null as the column holds it: nan in pandas 3's string dtype, None in
        # pandas 2's object dtype (the newest pandas for Python 3.10).
        (people(name=["Ann", None]), "frame['name']['u2']", "str (no nulls)", None),
        (people(income=["x", "y"]), "frame['income']", "float or null", "a column of dtype"),
    ],
)
def test_pandas_violations_name_the_column_the_row_and_the_value(
    value: Any, path: str, expected: str, actual: str | None
) -> None:
    if actual is None:
        actual = str(value["name"]["u2"])
    found = violation(Annotated[pd.DataFrame, PEOPLE], value)
    assert found is not None
    assert found.path == path
    assert found.expected.startswith(expected)
    assert actual in found.actual


def test_ints_pass_for_floats_and_strict_refuses_other_columns() -> None:
    assert violation(Annotated[pd.DataFrame, Columns({"age": float})], people()) is None
    strict = Annotated[pd.DataFrame, Columns({"age": int}, strict=True)]
    found = violation(strict, people())
    assert found is not None
    assert (found.path, found.actual) == ("frame['income']", "an extra column of dtype float64")


def test_dtypes_and_dtype_names_match_exactly() -> None:
    frame = pd.DataFrame({"tier": pd.Categorical(["a"]), "at": pd.to_datetime(["2024-01-01"])})
    frame["at"] = frame["at"].dt.tz_localize("UTC")
    assert violation(Annotated[pd.DataFrame, Columns({"tier": "category"})], frame) is None
    assert violation(Annotated[pd.DataFrame, Columns({"at": datetime.datetime})], frame) is None
    found = violation(Annotated[pd.DataFrame, Columns({"at": "datetime64[ns]"})], frame)
    assert found is not None
    assert found.actual == "a column of dtype datetime64[us, UTC]" or "UTC" in found.actual
    numpy_int = Annotated[pd.DataFrame, Columns({"age": np.dtype("int32")})]
    assert violation(numpy_int, people()) is not None
    assert violation(numpy_int, people().astype({"age": "int32"})) is None


def test_any_only_asks_for_the_column() -> None:
    assert violation(Annotated[pd.DataFrame, Columns({"name": Any})], people()) is None
    assert violation(Annotated[pd.DataFrame, Columns({"nope": Any})], people()) is not None


def test_a_column_type_that_is_no_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="a column's type is one of"):
        Columns({"a": list})
    with pytest.raises(TypeError, match="a mapping of column name to type"):
        Columns(["a"])  # type: ignore[arg-type]


def test_columns_on_polars() -> None:
    annotation = Annotated[pl.DataFrame, PEOPLE]
    frame = pl.DataFrame({"age": [31, 45], "income": [1.0, None], "name": ["Ann", "Bo"]})
    assert violation(annotation, frame) is None
    found = violation(annotation, frame.with_columns(pl.Series("name", ["Ann", None])))
    assert found is not None
    assert (found.path, found.actual) == ("frame['name'][1]", "None (None)")
    found = violation(annotation, frame.with_columns(pl.col("age").cast(pl.Float64)))
    assert found is not None
    assert (found.path, found.actual) == ("frame['age']", "a column of dtype Float64")
    days = Annotated[pl.DataFrame, Columns({"day": datetime.date, "n": pl.Int64})]
    assert violation(days, pl.DataFrame({"day": [datetime.date(2024, 1, 1)], "n": [1]})) is None


def test_columns_on_something_else() -> None:
    found = violation(Annotated[Any, PEOPLE], {"age": [1]})
    assert found is not None
    assert found.expected == "a pandas or polars DataFrame"


def test_a_series_check_names_the_first_failing_row() -> None:
    positive = Check(lambda s: s > 0, "positive")
    series = pd.Series([3, -1, 2, -5], index=["a", "b", "c", "d"], name="x")
    found = violation(Annotated[pd.Series, positive], series)
    assert found is not None
    assert (found.path, found.expected, found.actual) == ("frame['b']", "positive", "-1 (int)")


def test_a_frame_check_names_the_column_and_row() -> None:
    found = violation(Annotated[pd.DataFrame, Check(lambda f: f.notna(), "no gaps")], people())
    assert found is not None
    assert found.path == "frame['income']['u2']"
    assert found.actual == "nan (float)"


def test_array_checks_on_numpy_and_polars() -> None:
    below = Check(lambda a: a < 10, "below 10")
    found = violation(Annotated[Any, below], np.array([[1, 2], [3, 40]]))
    assert found is not None
    assert (found.path, found.actual) == ("frame[1][1]", "40 (int)")
    found = violation(Annotated[Any, below], pl.Series("x", [1, 12]))
    assert found is not None
    assert (found.path, found.actual) == ("frame[1]", "12 (int)")
    assert violation(Annotated[Any, below], pl.Series("x", [1, 2])) is None


def test_a_frame_reads_as_one_line_in_a_violation() -> None:
    found = violation(Annotated[pd.DataFrame, Check(lambda f: len(f) > 5, "long")], people())
    assert found is not None
    assert found.actual == "DataFrame(2 rows x 3 columns: age, income, name) (DataFrame)"


def test_a_warn_check_on_a_series_records_the_row() -> None:
    @vertex
    def ages(
        frame: pd.DataFrame,
    ) -> Annotated[pd.Series, Check(lambda s: s < 40, "under 40", importance="warn")]:
        return frame["age"]

    with pytest.warns(ContractWarning, match=r"failed at return\['u2'\]: got 45"):
        result = flowdsl.Flow.from_functions(ages).run({"frame": people()})
    (outcome,) = result.checks["ages"]
    assert (outcome.path, outcome.actual) == ("return['u2']", "45 (int)")


# pandera and patito: their own schemas, through their own validators.


def test_a_pandera_model_on_pandas() -> None:
    pandera = pytest.importorskip("pandera.pandas")
    from pandera.typing import DataFrame, Series

    class Schema(pandera.DataFrameModel):
        age: Series[int] = pandera.Field(ge=0)
        income: Series[float] = pandera.Field(nullable=True)

    good = people()
    bad = people(age=[31, -4])
    for annotation in (Annotated[pd.DataFrame, Schema], DataFrame[Schema]):
        assert violation(annotation, good) is None
        found = violation(annotation, bad)
        assert found is not None
        assert (found.path, found.expected) == ("frame['age']['u2']", "greater_than_or_equal_to(0)")
        assert found.actual.startswith("-4")
    found = violation(DataFrame[Schema], {"age": [1]})
    assert found is not None
    assert found.expected == "DataFrame"


def test_a_pandera_schema_object_on_pandas() -> None:
    pandera = pytest.importorskip("pandera.pandas")
    schema = pandera.DataFrameSchema({"name": pandera.Column(str, pandera.Check.str_length(3))})
    found = violation(Annotated[pd.DataFrame, schema], people())
    assert found is not None
    assert found.path == "frame['name']['u2']"
    assert "Bo" in found.actual


def test_a_pandera_model_on_polars() -> None:
    pandera = pytest.importorskip("pandera.polars")

    class Schema(pandera.DataFrameModel):
        age: int = pandera.Field(ge=0)

    annotation = Annotated[pl.DataFrame, Schema]
    assert violation(annotation, pl.DataFrame({"age": [1, 2]})) is None
    found = violation(annotation, pl.DataFrame({"age": [1, -2]}))
    assert found is not None
    assert found.path == "frame['age'][1]"
    assert "-2" in found.actual


def test_a_patito_model_on_polars() -> None:
    patito = pytest.importorskip("patito")

    class Person(patito.Model):
        age: int = patito.Field(ge=0)

    annotation = Annotated[pl.DataFrame, Person]
    assert violation(annotation, pl.DataFrame({"age": [1, 2]})) is None
    found = violation(annotation, pl.DataFrame({"age": [1, -2]}))
    assert found is not None
    assert found.path == "frame['age']"
    assert "out of bound" in found.actual


def test_no_warnings_from_schema_annotations() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        violation(Annotated[pd.DataFrame, PEOPLE], people())
