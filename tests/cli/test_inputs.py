"""``--input`` texts converted by annotation, and values written as JSON (in process)."""

from __future__ import annotations

import json
import math
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Optional, Union

import pytest

import flowdsl
from flowdsl import Check, vertex
from flowdsl._cli.errors import UsageError
from flowdsl._cli.inputs import collect_inputs, convert
from flowdsl._cli.output import jsonable
from flowdsl._model.graph import NO_DEFAULT


@pytest.mark.parametrize(
    ("annotation", "text", "value"),
    [
        (NO_DEFAULT, "42", "42"),
        (Any, "42", "42"),
        (str, "42", "42"),
        (str | None, "null", "null"),
        (Union[int, str], "7", "7"),  # noqa: UP007 (typing.Union, not int | str)
        (int, "-3", -3),
        (Annotated[int, Check(lambda n: n > 0, "positive")], "3", 3),
        (float, "2.5", 2.5),
        (float, "1e3", 1000.0),
        (bool, "yes", True),
        (bool, "FALSE", False),
        (Path, "data/x.csv", Path("data/x.csv")),
        (PurePosixPath, "/a", PurePosixPath("/a")),
        (list[int], "[1, 2]", [1, 2]),
        (dict[str, int], '{"a": 1}', {"a": 1}),
        (int | None, "null", None),
        (Optional[int], "4", 4),  # noqa: UP045 (typing.Optional, not int | None)
        (Literal["low", "high"], "low", "low"),
        (Literal[1, 2], "2", 2),
    ],
)
def test_texts_convert_by_annotation(annotation: Any, text: str, value: Any) -> None:
    converted = convert("n", annotation, text)
    assert converted == value
    assert type(converted) is type(value)


@pytest.mark.parametrize(
    ("annotation", "text", "message"),
    [
        (int, "3.0", "the input 'n' is annotated int, and '3.0' is not a whole number"),
        (int, "", "the input 'n' is annotated int, and '' is not a whole number"),
        (float, "cheap", "the input 'n' is annotated float, and 'cheap' is not a number"),
        (bool, "y", "the input 'n' is annotated bool, and 'y' must be one of: true, false"),
        (list[str], "a,b", "the input 'n' is annotated list[str], and 'a,b' is not JSON ("),
        (Literal["low", "high"], "mid", "the input 'n' is annotated Literal['low', 'high']"),
    ],
)
def test_bad_texts_name_the_input_the_annotation_and_the_value(
    annotation: Any, text: str, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        convert("n", annotation, text)
    assert str(caught.value).startswith(f"--input n={text!r}: ")
    assert message in str(caught.value)
    assert caught.value.status == 2


def test_json_is_suggested_only_where_json_is_read() -> None:
    with pytest.raises(UsageError) as caught:
        convert("n", list[int], "1,2")
    assert caught.value.hint == "give values of this type as JSON"
    with pytest.raises(UsageError) as caught:
        convert("n", int, "x")
    assert caught.value.hint is None


@vertex
def scale(factor: int, items: list[float]) -> list[float]:
    return [factor * item for item in items]


def test_collect_inputs_lays_flags_over_the_file(tmp_path: Path) -> None:
    flow = flowdsl.Flow.from_functions(scale)
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"factor": 1, "items": [1.5]}))
    assert collect_inputs(flow.inputs, ["factor=3"], str(path)) == {"factor": 3, "items": [1.5]}
    assert collect_inputs(flow.inputs, ["items=[2]", "items=[3]"], None) == {"items": [3]}
    path.write_text("[1, 2]")
    with pytest.raises(UsageError, match="expected a JSON object"):
        collect_inputs(flow.inputs, [], str(path))
    path.write_text("{")
    with pytest.raises(UsageError, match="not valid JSON"):
        collect_inputs(flow.inputs, [], str(path))
    with pytest.raises(UsageError, match="=VALUE, got '=3'"):
        collect_inputs(flow.inputs, ["=3"], None)


def test_jsonable_keeps_json_and_reprs_the_rest() -> None:
    value = {
        "n": 1,
        "ok": True,
        "none": None,
        "pair": (1, "a"),
        "nested": {"x": [1.5]},
        "nan": math.nan,
        "set": {3},
        "keys": {1: "a"},
    }
    assert jsonable(value) == {
        "n": 1,
        "ok": True,
        "none": None,
        "pair": [1, "a"],
        "nested": {"x": [1.5]},
        "nan": "nan",
        "set": "{3}",
        "keys": "{1: 'a'}",
    }
    json.dumps(jsonable(value), allow_nan=False)
