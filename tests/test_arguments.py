"""The arguments of ``run``/``start``/``arun`` that are not options: types, values, ``outputs=``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

import flowdsl
from flowdsl import (
    ArgumentTypeError,
    DataResolutionError,
    MissingAndUnknownInputError,
    MissingInputError,
    SettingsError,
    SourceLocation,
    UnknownInputError,
    vertex,
)


@vertex
def shout(name: str, mark: str = "!") -> str:
    return name.upper() + mark


@vertex
def whisper(shout: str, mark: str = "!") -> str:
    return shout.lower() + mark


@vertex
def repeat(shout: str, times: int = 2, mark: str = "?") -> str:
    return shout * times + mark


FLOW = flowdsl.Flow.from_functions(shout, whisper, repeat)


def _run(mode: str, inputs: Any = None, **options: Any) -> flowdsl.RunResult:
    """Call ``run``, ``start`` or ``arun`` with the same arguments."""
    if mode == "run":
        return FLOW.run(inputs, **options)
    if mode == "start":
        return FLOW.start(inputs, **options).result(timeout=30)

    async def main() -> flowdsl.RunResult:
        return await FLOW.arun(inputs, **options)

    return anyio.run(main)


MODES = ["run", "start", "arun"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("inputs", "options", "argument", "message"),
    [
        (["name"], {}, "inputs", "inputs= takes a mapping of input names to values; got ['name']"),
        ("name", {}, "inputs", "inputs= takes a mapping of input names to values; got 'name'"),
        ({"name": "x", 1: 2}, {}, "inputs", "inputs= has the key 1 (an int); its keys are input"),
        ({"name": "x"}, {"outputs": 5}, "outputs", "outputs= takes an output name, a @vertex"),
        ({"name": "x"}, {"outputs": [5]}, "outputs", "outputs[0] is 5 (an int)"),
        ({"name": "x"}, {"outputs": [len]}, "outputs", "outputs[0] is the function 'len', which"),
        ({"name": "x"}, {"listeners": 5}, "listeners", "listeners= takes a list of listener"),
        ({"name": "x"}, {"listeners": "abc"}, "listeners", "listeners= takes a list of listener"),
        ({"name": "x"}, {"secret": 123}, "secret", "secret= takes a str or bytes key; got 123"),
        ({"name": "x"}, {"run_id": 123}, "run_id", "run_id= takes the run's name (a str); got 123"),
        ({"name": "x"}, {"flow": 5}, "flow", "flow= takes a flow name (a str); got 5"),
        ({"name": "x"}, {"resume": "no"}, "resume", "resume= takes True or False; got 'no'"),
        ({"name": "x"}, {"serializer": 5}, "serializer", "serializer= takes one of 'pickle'"),
        ({"name": "x"}, {"overrides": 5}, "overrides", "overrides= takes a mapping of vertex"),
        ({"name": "x"}, {"overrides": {3: 1}}, "overrides", "overrides= has the key 3 (an int)"),
    ],
)
def test_an_argument_of_the_wrong_type_is_a_type_error_naming_it(
    mode: str, inputs: Any, options: dict[str, Any], argument: str, message: str
) -> None:
    with pytest.raises(TypeError) as caught:
        _run(mode, inputs, **options)
    error = caught.value
    assert type(error) is ArgumentTypeError
    assert error.argument == argument
    assert str(error).startswith(message)


@pytest.mark.parametrize(
    ("options", "source", "message"),
    [
        ({"run_id": ""}, "argument run_id", "run_id='' is blank"),
        ({"run_id": "  "}, "argument run_id", "run_id='  ' is blank"),
        ({"serializer": "xml"}, "argument serializer", "serializer='xml' is not one of: pickle"),
        ({"secret": b""}, "argument secret", "secret= is empty"),
    ],
)
def test_an_unusable_value_is_a_settings_error(
    options: dict[str, Any], source: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "runs.db"
    with pytest.raises(SettingsError) as caught:
        FLOW.run({"name": "x"}, checkpoint=path, **options)
    assert caught.value.source == source
    assert str(caught.value).startswith(message)
    assert not path.exists()  # refused before the checkpoint file is made


def test_a_bad_argument_is_refused_before_anything_runs() -> None:
    calls: list[int] = []

    @vertex
    def count(x: int) -> int:
        calls.append(x)
        return x

    with pytest.raises(ArgumentTypeError):
        flowdsl.Flow.from_functions(count).run({"x": 1}, listeners=5)  # type: ignore[arg-type]
    assert calls == []


def test_a_listener_with_no_listener_method_is_refused() -> None:
    class Typo:
        def on_vertex_ended(self, event: object) -> None:
            pass

    with pytest.raises(ArgumentTypeError) as caught:
        FLOW.run({"name": "x"}, listeners=[Typo()])
    assert caught.value.argument == "listeners"
    assert "has none of the listener methods" in str(caught.value)
    assert "on_vertex_ended (did you mean 'on_vertex_end'?)" in str(caught.value)
    FLOW.run({"name": "x"}, listeners=[flowdsl.Listener()])  # does nothing, and is fine


# --- outputs= ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_outputs_take_decorated_functions(mode: str) -> None:
    result = _run(mode, {"name": "a"}, outputs=[whisper, "repeat"])
    assert dict(result) == {"whisper": "a!!", "repeat": "A!A!?"}
    assert dict(_run(mode, {"name": "a"}, outputs=shout)) == {"shout": "A!"}


def test_outputs_refuse_a_vertex_of_another_flow() -> None:
    @vertex
    def shout(name: str) -> str:  # the same name as FLOW's, another function
        return name

    with pytest.raises(DataResolutionError) as caught:
        FLOW.run({"name": "a"}, outputs=[shout])
    error = caught.value
    assert error.vertex == "shout"
    assert error.location == SourceLocation.of(shout)
    assert "outputs[0]: the vertex 'shout' is not part of this flow" in str(error)
    assert "this flow's 'shout' is another function" in str(error)


def test_outputs_take_a_flow_inputs_name_given_or_defaulted() -> None:
    result = FLOW.run({"name": "a", "times": 3}, outputs=["name", "times", "repeat"])
    assert dict(result) == {"name": "a", "times": 3, "repeat": "A!A!A!?"}
    assert list(result) == ["name", "times", "repeat"]
    assert dict(FLOW.run({"name": "a"}, outputs=["times"])) == {"times": 2}
    only = FLOW.run({"name": "a"}, outputs="name")
    assert dict(only) == {"name": "a"}
    assert dict(only.states) == {}  # nothing was computed for it
    assert only.inputs == {"name": "a"}


def test_an_input_asked_for_without_a_single_value_is_missing() -> None:
    with pytest.raises(MissingInputError) as caught:
        FLOW.run({}, outputs=["name"])
    assert caught.value.missing == ("name",)
    assert "'name', asked for in outputs= (it has no default)" in str(caught.value)
    # 'mark' defaults to "!" in shout and whisper but to "?" in repeat: no one default.
    with pytest.raises(MissingInputError) as differ:
        FLOW.run({"name": "a"}, outputs=["mark"])
    assert "'mark', asked for in outputs= (its readers' defaults differ)" in str(differ.value)
    assert dict(FLOW.run({"name": "a", "mark": "."}, outputs=["mark"])) == {"mark": "."}


def test_an_inputs_field_is_not_an_output() -> None:
    with pytest.raises(DataResolutionError, match="'name' is a flow input, and it has no fields"):
        FLOW.run({"name": "a"}, outputs=["name.upper"])


# --- missing and unknown inputs, together ------------------------------------------------------


def test_missing_and_unknown_inputs_are_one_error_of_both_kinds() -> None:
    with pytest.raises(MissingInputError) as caught:
        FLOW.run({"nmae": "a", "tiems": 2})
    error = caught.value
    assert isinstance(error, UnknownInputError)
    assert type(error) is MissingAndUnknownInputError
    assert error.missing == ("name",)
    assert error.unknown == ("nmae", "tiems")
    text = str(error)
    assert "'nmae' (did you mean 'name'?), 'tiems' (did you mean 'times'?)" in text
    assert "missing 1 required input:\n  - 'name', read by shout.name" in text
    with pytest.raises(UnknownInputError):  # an existing handler of either kind catches it
        FLOW.run({"nmae": "a"})


def test_only_unknown_or_only_missing_keep_their_own_class() -> None:
    with pytest.raises(UnknownInputError) as unknown:
        FLOW.run({"name": "a", "tiems": 2})
    assert type(unknown.value) is UnknownInputError
    with pytest.raises(MissingInputError) as missing:
        FLOW.run({})
    assert type(missing.value) is MissingInputError
