"""The option table: one declaration per option, strict checks and strict texts."""

from __future__ import annotations

import math
import typing
from pathlib import Path
from typing import Any

import attrs
import pytest
import typing_extensions

import flowdsl
from flowdsl import Settings, SettingsError
from flowdsl._options import OPTIONS, Invalid, parse_bool


def test_every_field_of_settings_is_an_option_with_its_variable() -> None:
    assert [opt.name for opt in OPTIONS] == [f.name for f in attrs.fields(Settings)]
    for opt in OPTIONS:
        assert opt.env == "FLOWDSL_" + opt.name.upper()
        assert opt.help
        assert opt.metavar or opt.choices
        assert opt.shown_default
    assert attrs.asdict(Settings()) == {opt.name: opt.default for opt in OPTIONS}


@pytest.mark.parametrize("method", ["run", "start", "arun", "map"])
def test_run_start_arun_and_map_take_every_option_as_a_keyword(method: str) -> None:
    hints = typing.get_type_hints(getattr(flowdsl.Flow, method), include_extras=True)
    (keywords,) = typing_extensions.get_args(hints["options"])
    # arun runs on the caller's event loop, so it takes no anyio_backend.
    expected = [
        opt.name for opt in OPTIONS if not (method == "arun" and opt.name == "anyio_backend")
    ]
    # Besides the options: what to run, and how this one run is named, fed and watched.
    per_call = {"outputs", "flow", "overrides", "listeners"}
    per_call |= {"run_id", "resume", "serializer", "secret", "dask_client"}
    assert sorted(set(keywords.__annotations__) - per_call) == sorted(expected)
    assert not keywords.__required_keys__


def test_a_keyword_no_run_takes_is_a_type_error_with_a_suggestion() -> None:
    flow = flowdsl.Flow.from_functions(_double)
    with pytest.raises(TypeError, match="run\\(\\) got an unexpected keyword argument 'backnd'"):
        flow.run({"x": 1}, backnd="thread")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="did you mean 'backend'"):
        flow.start({"x": 1}, backnd="thread")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="arun\\(\\) got an unexpected keyword argument"):
        flow.arun({"x": 1}, anyio_backend="trio").send(None)  # type: ignore[call-arg]


@flowdsl.vertex
def _double(x: int) -> int:
    return 2 * x


def test_the_settings_page_lists_every_option() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text("utf-8")
    for opt in OPTIONS:
        assert f"| `{opt.name}` | `{opt.env}` |" in page


def test_settings_are_checked_when_built() -> None:
    assert Settings(backend="thread", timeout=2).timeout == 2.0
    with pytest.raises(SettingsError) as caught:
        Settings(backend="gpu")  # type: ignore[arg-type]
    assert str(caught.value) == "Settings(backend='gpu') is not one of: serial, thread, async, dask"
    assert caught.value.source == "Settings(backend=...)"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Settings().backend = "thread"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("0", False),
    ],
)
def test_booleans_accept_exactly_six_words_in_any_case(text: str, value: bool) -> None:
    assert parse_bool(text) is value


@pytest.mark.parametrize("text", ["", "y", "n", "on", "off", "2", "truee", " true"])
def test_other_words_are_not_booleans(text: str) -> None:
    with pytest.raises(Invalid, match="true, false, yes, no, 1, 0"):
        parse_bool(text)


def _option(name: str) -> Any:
    return next(opt for opt in OPTIONS if opt.name == name)


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("backend", "thread", "thread"),
        ("on_error", "continue", "continue"),
        ("max_workers", "8", 8),
        ("max_concurrency", "100", 100),
        ("timeout", "2.5", 2.5),
        ("timeout", "3", 3.0),
        ("timeout", ".5", 0.5),
        ("timeout", "1e3", 1000.0),
        ("contracts", "off", "off"),
        ("cache", "yes", True),
        ("cache", "0", False),
        ("cache", "/tmp/cache.db", "/tmp/cache.db"),
        ("anyio_backend", "trio", "trio"),
        ("timeout", "inf", None),
        ("timeout", "Infinity", None),
        ("timeout", "1e999", None),
    ],
)
def test_texts_convert(name: str, text: str, value: Any) -> None:
    converted = _option(name).from_text(text)
    assert converted == value
    assert type(converted) is type(value)


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("backend", "Thread", "is not one of: serial, thread, async, dask"),
        ("backend", " thread", "is not one of"),
        ("max_workers", "lots", "must be a positive whole number"),
        ("max_workers", "0", "must be a positive whole number"),
        ("max_workers", "-2", "must be a positive whole number"),
        ("max_workers", "1.5", "must be a positive whole number"),
        ("max_workers", " 4", "must be a positive whole number"),
        ("max_workers", "1_000", "must be a positive whole number"),
        ("timeout", "0", "must be a positive number of seconds"),
        ("timeout", "-1", "must be a positive number of seconds"),
        ("timeout", "soon", "must be a positive number of seconds"),
        ("timeout", "nan", "must be a positive number of seconds"),
        ("contracts", "loose", "is not one of: strict, warn, off"),
    ],
)
def test_bad_texts_are_invalid(name: str, text: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        _option(name).from_text(text)


def test_a_bad_environment_text_names_the_variable_and_the_value() -> None:
    with pytest.raises(SettingsError) as caught:
        _option("max_workers").from_environment("lots")
    assert str(caught.value) == "FLOWDSL_MAX_WORKERS='lots' must be a positive whole number"
    assert caught.value.source == "environment FLOWDSL_MAX_WORKERS"
    assert isinstance(caught.value, ValueError)


def test_an_infinite_timeout_is_no_limit_however_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _option("timeout").check(math.inf, "argument") is None
    assert _option("timeout").from_environment("inf") is None
    assert flowdsl.settings(timeout=math.inf)["timeout"].value is None
    with flowdsl.configure(timeout=5):
        # An argument of inf lifts a configured limit for this call.
        assert flowdsl.settings(timeout=math.inf)["timeout"] == flowdsl.SettingValue(
            "timeout", None, "argument"
        )
    monkeypatch.setenv("FLOWDSL_TIMEOUT", "inf")
    assert flowdsl.settings()["timeout"] == flowdsl.SettingValue(
        "timeout", None, "environment FLOWDSL_TIMEOUT"
    )

    @flowdsl.vertex
    def double(x: int) -> int:
        return 2 * x

    flow = flowdsl.Flow.from_functions(double)
    assert flow.run({"x": 2})["double"] == 4
    assert flow.run({"x": 2}, timeout=math.inf)["double"] == 4
