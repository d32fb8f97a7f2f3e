"""Each vertex option is declared once: a keyword of ``vertex``, a field of ``VertexOptions``."""

from __future__ import annotations

import textwrap
import typing
from pathlib import Path

import attrs
import pytest
from mypy import api as mypy_api

import flowdsl
from flowdsl import InvalidVertexError, RetryPolicy, vertex
from flowdsl._dsl import VertexKeywords, spec_of
from flowdsl._model.options import DEFAULT_OPTIONS, VertexOptions
from flowdsl._vertex_options import OPTION_KEYWORDS

# Keywords stored under another name, or folded into another field.
STORED_AS = {"retries": "retry", "fallback": "fallbacks"}


def test_every_keyword_is_an_option_field_and_every_field_a_keyword() -> None:
    keywords = set(typing.get_type_hints(VertexKeywords))
    fields = {field.name for field in attrs.fields(VertexOptions)}
    assert keywords == OPTION_KEYWORDS
    assert {STORED_AS.get(k, k) for k in keywords} == fields


def test_spec_and_node_share_one_options_record() -> None:
    @vertex(pure=True, flows="daily", retries=2, timeout=3)
    def double(x: int) -> int:
        return 2 * x

    spec = spec_of(double)
    assert spec is not None
    node = flowdsl.compile(double).vertices["double"]
    assert node.options is spec.options
    assert node.options == VertexOptions(
        pure=True, flows=("daily",), retry=RetryPolicy(max_retries=2), timeout=3.0
    )


def test_a_bare_vertex_has_the_default_options() -> None:
    @vertex
    def double(x: int) -> int:
        return 2 * x

    spec = spec_of(double)
    assert spec is not None
    assert spec.options is DEFAULT_OPTIONS


def test_vertices_given_the_same_plain_options_share_one_record() -> None:
    # A module of @vertex(pure=True) functions builds and checks that record once.
    def double(x: int) -> int:
        return 2 * x

    def triple(x: int) -> int:
        return 3 * x

    first = spec_of(vertex(double, pure=True, flows="daily", timeout=3))
    second = spec_of(vertex(triple, pure=True, flows="daily", timeout=3))
    other = spec_of(vertex(triple, name="t2", pure=True, flows="daily", timeout=4))
    assert first is not None
    assert second is not None
    assert other is not None
    assert second.options is first.options
    assert other.options is not first.options
    assert other.options.timeout == 4.0


def test_a_shared_record_does_not_let_an_equal_value_of_another_type_through() -> None:
    # pure=1 equals pure=True (and hashes alike), yet is still an error.
    def double(x: int) -> int:
        return 2 * x

    assert spec_of(vertex(double, pure=True)).options.pure is True  # type: ignore[union-attr]
    with pytest.raises(InvalidVertexError, match=r"pure= takes True or False; got 1"):
        vertex(double, name="again", pure=1)


def test_options_that_read_the_function_are_checked_for_each_function() -> None:
    # map_over="xs" is valid for a function with a parameter xs, not for another.
    def total(xs: list[int]) -> int:
        return sum(xs)

    def other(ys: list[int]) -> int:
        return sum(ys)

    assert spec_of(vertex(total, map_over="xs")) is not None
    with pytest.raises(InvalidVertexError, match="xs"):
        vertex(other, map_over="xs")


def test_every_option_given_is_checked_into_its_field() -> None:
    # Only the options given are checked; given all of them, every field is set.
    group = flowdsl.AtomicGroup("g", on_failure="compensate")

    def undo(x: int) -> None:
        return None

    def fallback(x: int) -> int:
        return 0

    def double(x: int) -> int:
        return 2 * x

    given: dict[str, typing.Any] = {
        "pure": True,
        "flows": "daily",
        "blocking": True,
        "timeout": 2,
        "contracts": "warn",
        "version": "v2",
        "retries": 1,
        "fallback": fallback,
        "when": "gate",
        "map_over": "x",
        "until": bool,
        "max_iterations": 3,
        "max_concurrency": 2,
        "rate_limit": 5,
        "group": group,
        "compensate": undo,
        "bind": {"x": 1},
        "config": {"mode": "a"},
        "unpack": ("a",),
        "after": "gate",
        "tags": {"owner": "me"},
    }
    assert set(given) | {"retry"} == OPTION_KEYWORDS
    made = vertex(double, **given)
    options = spec_of(made).options  # type: ignore[union-attr]
    changed = {f.name for f in attrs.fields(VertexOptions) if getattr(options, f.name) != f.default}
    assert changed == {f.name for f in attrs.fields(VertexOptions)}
    assert (options.timeout, options.rate_limit, options.bind) == (2.0, 5.0, (("x", 1),))
    # A new vertex of it checks them all again, against its own function.
    assert spec_of(vertex(made, name="again")).options == options  # type: ignore[union-attr]


def test_an_unknown_option_is_an_invalid_vertex_error_with_a_suggestion() -> None:
    with pytest.raises(InvalidVertexError, match=r"unknown option 'pur'.*did you mean 'pure'"):

        @vertex(pur=True)  # type: ignore[call-overload]
        def double(x: int) -> int:
            return 2 * x


@pytest.mark.slow  # runs mypy
def test_the_keywords_type_check_and_keep_the_decorated_signature(tmp_path: Path) -> None:
    # What an IDE sees: options are checked keywords, and a decorated function
    # keeps its parameters and return type.
    source = tmp_path / "uses_vertex.py"
    source.write_text(
        textwrap.dedent(
            """
            from flowdsl import vertex

            @vertex(pure=True, flows="daily", retries=2)
            def double(x: int) -> int:
                return 2 * x

            @vertex
            def triple(x: int) -> int:
                return 3 * x

            reveal_type(double)
            reveal_type(triple)
            double("no")
            vertex(pure="yes")
            vertex(timeout="soon")
            vertex(retires=2)
            """
        ),
        encoding="utf-8",
    )
    out, _, _ = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--config-file",
            "",
            str(source),
        ]
    )
    lines = out.splitlines()
    revealed = [line for line in lines if "Revealed type" in line]
    assert len(revealed) == 2
    assert all('def (x: int) -> int"' in line for line in revealed), revealed
    errors = [line for line in lines if ": error:" in line]
    assert any(":14:" in line and '"str"' in line for line in errors), errors  # double("no")
    assert any(":15:" in line for line in errors), errors  # pure="yes"
    assert any(":16:" in line for line in errors), errors  # timeout="soon"
    # The options the overload lists, as an IDE completes them.
    assert "pure: bool" in out
    assert "timeout: float | None" in out
    assert any(":17:" in line and "retires" in line for line in errors), errors
