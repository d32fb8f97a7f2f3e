"""``run(progress=True)``: plain lines when stderr is not a terminal, a rich bar when it is."""

from __future__ import annotations

import io
import re
import sys

import pytest

import flowdsl
from flowdsl import vertex
from flowdsl._progress import PlainProgress, RichProgress, progress_listener


def _flow() -> flowdsl.Flow:
    @vertex
    def one(x: int) -> int:
        return x

    @vertex
    def two(one: int) -> int:
        return one + 1

    @vertex
    def broken(one: int) -> int:
        raise ValueError("no")

    @vertex
    def after(broken: int) -> int:
        return broken

    return flowdsl.Flow.from_functions(one, two, broken, after)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_true_writes_plain_lines_to_stderr_when_it_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = _flow().run({"x": 1}, progress=True, on_error="continue")
    captured = capsys.readouterr()
    assert captured.out == ""
    # Under on_error="continue" the run returned: it finished with errors, and
    # only completed vertices count as done.
    assert captured.err.splitlines()[-1].startswith(
        "flowdsl: run finished with errors: 2/4 vertices done, 0 running, 1 failed, 1 skipped, "
    )
    assert "\r" not in captured.err
    assert "\x1b" not in captured.err  # no terminal control codes
    assert result["two"] == 2


def test_a_run_that_raises_ends_with_run_failed() -> None:
    stream = io.StringIO()
    with pytest.raises(flowdsl.VertexFailed):
        _flow().run({"x": 1}, listeners=[PlainProgress(stream)], backend="serial")
    last = stream.getvalue().splitlines()[-1]
    assert re.match(r"flowdsl: run failed: 2/4 vertices done, 0 running, 1 failed, 0 skipped", last)


def test_plain_lines_come_at_most_every_interval() -> None:
    stream = io.StringIO()
    listener = PlainProgress(stream, interval=0.0)  # every event writes a line
    _flow().run({"x": 1}, listeners=[listener], on_error="continue")
    lines = stream.getvalue().splitlines()
    assert len(lines) > 4
    assert all(re.match(r"flowdsl: (run \w+: )?\d/4 vertices done", line) for line in lines)
    quiet = io.StringIO()
    _flow().run({"x": 1}, listeners=[PlainProgress(quiet, interval=3600)], on_error="continue")
    assert len(quiet.getvalue().splitlines()) == 1  # only the last line


def test_a_terminal_gets_a_rich_bar() -> None:
    stream = Terminal()
    listener = progress_listener(stream)
    assert isinstance(listener, RichProgress)
    _flow().run({"x": 1}, listeners=[listener], on_error="continue")
    assert "flowdsl" in stream.getvalue()
    assert "2/4 done, 0 running, 1 failed, 1 skipped" in stream.getvalue()


def test_a_terminal_without_rich_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    listener = progress_listener(Terminal())
    assert type(listener) is PlainProgress
