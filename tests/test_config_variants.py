"""Config variants: ``@vertex(config={...})``, chosen at compile time (``@config.when``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import pytest

import flowdsl
from flowdsl import BindingError, DuplicateVertexError, From, InvalidVertexError, vertex
from tests.compiler._modules import ModuleMaker

TAXES = """
from typing import Annotated
from flowdsl import From, vertex

@vertex(name="tax", config={"region": "EU"})
def tax_eu(amount: float) -> float:
    return amount * 0.2

@vertex(name="tax", config={"region": ("US", "CA")})
def tax_na(amount: float) -> float:
    return amount * 0.07

@vertex
def total(amount: float, tax: float) -> float:
    return amount + tax
"""


@pytest.fixture
def taxes(tmp_path: Path) -> ModuleType:
    return ModuleMaker(tmp_path)(TAXES, name="taxes_module")


def test_the_matching_variant_is_chosen(taxes: ModuleType) -> None:
    eu = flowdsl.Flow.from_module(taxes, config={"region": "EU"})
    us = flowdsl.Flow.from_module(taxes, config={"region": "US", "unused": 1})
    ca = flowdsl.compile(taxes, config={"region": "CA"})
    assert eu.run({"amount": 100.0})["total"] == pytest.approx(120.0)
    assert us.run({"amount": 100.0})["total"] == pytest.approx(107.0)
    assert ca.vertices["tax"].function.__name__ == "tax_na"


@pytest.mark.parametrize("config", [None, {"region": "JP"}, {"other": "EU"}])
def test_a_name_whose_variants_all_fail_is_an_error_that_shows_the_config(
    taxes: ModuleType, config: dict[str, str] | None
) -> None:
    with pytest.raises(BindingError, match="exists only under config") as info:
        flowdsl.Flow.from_module(taxes, config=config)
    message = str(info.value)
    assert "region='EU'" in message
    assert "region in ('US', 'CA')" in message
    assert (info.value.vertex, info.value.parameter) == ("total", "tax")
    assert ("no config" if config is None else repr(config)) in message


def test_from_and_when_on_an_absent_name_show_the_config() -> None:
    @vertex(config={"mode": "fast"})
    def speed() -> int:
        return 1

    @vertex
    def reader(value: Annotated[int, From("speed")]) -> int:
        return value

    @vertex(when="speed")
    def gated() -> int:
        return 2

    with pytest.raises(flowdsl.CompileError) as info:
        flowdsl.compile(speed, reader, gated, config={"mode": "slow"})
    text = str(info.value)
    assert text.count("exists only under config mode='fast'") == 2


def test_vertices_without_config_always_exist_and_variants_need_a_config() -> None:
    @vertex(config={"flag": True})
    def extra() -> int:
        return 1

    @vertex
    def always() -> int:
        return 2

    assert list(flowdsl.compile(extra, always).vertices) == ["always"]
    assert sorted(flowdsl.compile(extra, always, config={"flag": True}).vertices) == [
        "always",
        "extra",
    ]


def test_two_matching_variants_are_a_duplicate_naming_both() -> None:
    @vertex(name="rate", config={"region": "EU"})
    def rate_a() -> float:
        return 1.0

    @vertex(name="rate", config={"region": ("EU", "US")})
    def rate_b() -> float:
        return 2.0

    with pytest.raises(DuplicateVertexError, match="two config variants of 'rate'") as info:
        flowdsl.compile(rate_a, rate_b, config={"region": "EU"})
    assert "region='EU'" in str(info.value)
    assert "region in ('EU', 'US')" in str(info.value)


def test_made_and_expanded_vertices_can_be_variants() -> None:
    def scale(x: float, factor: float) -> float:
        return x * factor

    small = vertex(scale, name="scaled", bind={"factor": 2.0}, config={"size": "small"})
    large = vertex.expand(scale, {"scaled": {"factor": 100.0}}, config={"size": "large"})
    flow = flowdsl.Flow.from_functions(small, large, config={"size": "large"})
    assert flow.run({"x": 1.0})["scaled"] == 100.0


@pytest.mark.parametrize("bad", [3, {"": 1}, {"k": ()}])
def test_a_bad_config_option_is_an_invalid_vertex_error(bad: object) -> None:
    def step() -> int:
        return 1

    with pytest.raises(InvalidVertexError, match="config="):
        vertex(config=bad)(step)  # type: ignore[arg-type]


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
def test_the_cli_takes_config_entries(tmp_path: Path) -> None:
    module = tmp_path / "taxes_cli.py"
    module.write_text(TAXES, encoding="utf-8")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flowdsl", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
            timeout=60,
        )

    ran = cli("run", str(module), "--input", "amount=10", "--config", "region=EU", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["outputs"]["total"] == pytest.approx(12.0)
    checked = cli("check", str(module), "--config", "region=JP")
    assert checked.returncode == 1
    assert "exists only under config" in checked.stdout + checked.stderr
    # A value that parses as JSON is that value: here the number 1, which no variant takes.
    numeric = cli("graph", str(module), "--config", "region=1", "--format", "json")
    assert "{'region': 1}" in numeric.stderr
    bad = cli("graph", str(module), "--config", "region")
    assert bad.returncode != 0
    assert "KEY=VALUE" in bad.stderr
