"""The command line's help speaks the shell's language, derived from the option table."""

from __future__ import annotations

import argparse

import pytest

from flowdsl._cli.parser import build_parser
from flowdsl._options import OPTIONS


def _help(command: str) -> str:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(commands.choices[command].format_help().split())


@pytest.mark.parametrize("command", ["run", "settings"])
def test_enumerated_options_list_their_choices(command: str) -> None:
    text = _help(command)
    assert "--backend {serial,thread,async,dask}" in text
    assert "--on-error {raise,continue}" in text
    assert "--contracts {strict,warn,off}" in text
    assert "--anyio-backend {asyncio,trio}" in text


@pytest.mark.parametrize("command", ["run", "settings"])
def test_each_option_shows_its_default_as_typed_and_its_variable(command: str) -> None:
    text = _help(command)
    for opt in OPTIONS:
        assert f"default: {opt.shown_default}; environment: {opt.env}" in text
    assert "--max-workers N" in text
    assert "--timeout SECONDS" in text
    assert "--progress [yes|no]" in text


@pytest.mark.parametrize("command", ["run", "graph", "check", "explain", "cache", "runs"])
def test_no_python_words_in_the_help(command: str) -> None:
    text = _help(command)
    for word in ("RetryPolicy", "None", "a store", "True", "False"):
        assert word not in text


def test_a_word_outside_the_choices_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["run", "m.py", "--backend", "threads"])
    assert exc.value.code == 2
    assert "invalid choice: 'threads'" in capsys.readouterr().err
