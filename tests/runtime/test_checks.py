"""``Check(..., importance=...)`` through real runs: what raises, what warns, what is recorded."""

from __future__ import annotations

import logging
import warnings
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowdsl
from flowdsl import Check, CheckOutcome, ContractViolation, ContractWarning, vertex
from tests.quick import examples
from tests.runtime._modes import MODES, every_mode, run_in

Positive = Check(lambda xs: all(x > 0 for x in xs), "all positive")
Short = Check(lambda xs: len(xs) < 3, "fewer than 3", importance="warn")


def _flow() -> flowdsl.Flow:
    @vertex
    def raw(n: int) -> Annotated[list[int], Positive, Short]:
        return list(range(1, n + 1))

    @vertex
    def total(raw: Annotated[list[int], Check(lambda xs: sum(xs) < 100, "small sum")]) -> int:
        return sum(raw)

    return flowdsl.Flow.from_functions(raw, total)


def _summary(result: flowdsl.RunResult) -> dict[str, list[tuple[str, str, bool]]]:
    return {
        name: [(o.parameter, o.message, o.passed) for o in outcomes]
        for name, outcomes in result.checks.items()
    }


EXPECTED = {
    "raw": [("return", "all positive", True), ("return", "fewer than 3", False)],
    "total": [("raw", "small sum", True)],
}


@every_mode
def test_a_failed_warn_check_warns_once_logs_and_is_recorded(
    mode: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="flowdsl"),
        pytest.warns(ContractWarning) as caught,
    ):
        result = run_in(mode, _flow(), {"n": 4})
    assert result["total"] == 10
    assert _summary(result) == EXPECTED
    ours = [w for w in caught if issubclass(w.category, ContractWarning)]
    assert len(ours) == 1
    assert "'fewer than 3' failed at return" in str(ours[0].message)
    assert ours[0].filename.endswith("test_checks.py")
    records = [r for r in caplog.records if "fewer than 3" in r.getMessage()]
    assert len(records) == 1
    assert records[0].vertex == "raw"  # type: ignore[attr-defined]
    (warned,) = [o for o in result.checks["raw"] if o.warned]
    assert warned == CheckOutcome(
        "raw", "return", "fewer than 3", "warn", passed=False, path="return", actual=warned.actual
    )
    assert str(warned.actual).startswith("[1, 2, 3, 4]")


@every_mode
def test_a_failed_fail_check_raises_under_strict_and_is_recorded(mode: tuple[str, str]) -> None:
    with pytest.raises(ContractViolation) as caught, pytest.warns(ContractWarning):
        run_in(mode, _flow(), {"n": 20})
    assert (caught.value.vertex, caught.value.parameter) == ("total", "raw")
    assert caught.value.expected == "small sum"
    with pytest.warns(ContractWarning):
        result = run_in(mode, _flow(), {"n": 20}, on_error="continue")
    assert list(result.errors) == ["total"]
    assert [(o.message, o.passed) for o in result.checks["total"]] == [("small sum", False)]


def test_a_fail_check_only_logs_under_contracts_warn_like_a_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @vertex
    def half(x: Annotated[int, Check(lambda v: v % 2 == 0, "even")]) -> Any:
        return x // 2

    @vertex
    def shown(half: str) -> str:  # a type contract that fails: 3 is not a str
        return f"{half}"

    flow = flowdsl.Flow.from_functions(half, shown)
    with caplog.at_level(logging.WARNING, logger="flowdsl"), warnings.catch_warnings():
        warnings.simplefilter("error")  # a fail-check under "warn" logs; it is no ContractWarning
        result = flow.run({"x": 7}, contracts="warn")
    assert result["shown"] == "3"
    messages = [r.getMessage() for r in caplog.records]
    assert any("expected even" in m for m in messages)
    assert any("expected str" in m for m in messages)
    assert [(o.message, o.passed, o.path) for o in result.checks["half"]] == [("even", False, "x")]


def test_contracts_off_runs_no_check() -> None:
    called: list[int] = []

    def watched(xs: list[int]) -> bool:
        called.append(1)
        return False

    @vertex
    def raw(n: int) -> Annotated[list[int], Check(watched, "never", importance="warn")]:
        return [n]

    result = flowdsl.Flow.from_functions(raw).run({"n": 1}, contracts="off")
    assert called == []
    assert result.checks == {}


def test_a_vertex_of_its_own_mode_off_runs_no_check() -> None:
    @vertex(contracts="off")
    def raw(n: int) -> Annotated[int, Check(lambda v: False, "never")]:
        return n

    assert flowdsl.Flow.from_functions(raw).run({"n": 1}).checks == {}


def test_a_mapped_vertex_records_each_calls_checks() -> None:
    @vertex
    def numbers(n: int) -> list[int]:
        return list(range(n))

    @vertex(map_over="numbers")
    def inverse(
        numbers: Annotated[int, Check(lambda v: v != 0, "not zero", importance="warn")],
    ) -> float:
        return 1 / numbers if numbers else 0.0

    with pytest.warns(ContractWarning, match="not zero"):
        result = flowdsl.Flow.from_functions(numbers, inverse).run({"n": 3})
    assert [o.passed for o in result.checks["inverse"]] == [False, True, True]


def test_a_check_that_raises_has_failed_and_says_why() -> None:
    @vertex
    def ratio(
        x: Annotated[float, Check(lambda v: 1 / v > 0, "positive", importance="warn")],
    ) -> float:
        return x

    with pytest.warns(ContractWarning, match="ZeroDivisionError"):
        result = flowdsl.Flow.from_functions(ratio).run({"x": 0.0})
    (outcome,) = result.checks["ratio"]
    assert outcome.failed
    assert "raised ZeroDivisionError" in str(outcome.actual)


def test_importance_is_fail_or_warn() -> None:
    assert Check(bool, "x").importance == "fail"
    with pytest.raises(ValueError, match="importance is 'fail'"):
        Check(bool, "x", importance="error")


def test_a_warn_check_inside_a_type_is_reported_at_compile_time() -> None:
    @vertex
    def items(
        n: int,
    ) -> list[Annotated[int, Check(lambda v: v > 0, "positive", importance="warn")]]:
        return [n]

    with pytest.warns(ContractWarning, match="importance='warn' applies to a parameter's"):
        flow = flowdsl.Flow.from_functions(items)
    assert flow.run({"n": -1})["items"] == [-1]


def test_a_given_output_is_held_to_fail_checks() -> None:
    @vertex
    def raw(n: int) -> Annotated[int, Check(lambda v: v > 0, "positive")]:
        return n

    @vertex
    def twice(raw: int) -> int:
        return 2 * raw

    flow = flowdsl.Flow.from_functions(raw, twice)
    with pytest.raises(ContractViolation, match="expected positive"):
        flow.run(overrides={"raw": -1})


def test_a_cache_hit_runs_no_checks() -> None:
    @vertex(pure=True)
    def raw(n: int) -> Annotated[int, Check(lambda v: v > 0, "positive")]:
        return n

    flow = flowdsl.Flow.from_functions(raw)
    store = flowdsl.MemoryCache()
    assert len(flow.run({"n": 1}, cache=store).checks["raw"]) == 1
    assert flow.run({"n": 1}, cache=store).checks == {}


def test_checks_on_dask_are_recorded_and_warned_on_the_driver(dask_client: Any) -> None:
    pytest.importorskip("distributed")

    @vertex
    def numbers(n: int) -> Annotated[list[int], Short]:
        return list(range(n))

    @vertex(map_over="numbers")
    def doubled(
        numbers: Annotated[int, Check(lambda v: v < 2, "below 2", importance="warn")],
    ) -> int:
        return 2 * numbers

    flow = flowdsl.Flow.from_functions(numbers, doubled)
    with pytest.warns(ContractWarning) as caught:
        result = flow.run({"n": 3}, backend="dask", dask_client=dask_client)
    assert result["doubled"] == [0, 2, 4]
    assert [o.passed for o in result.checks["numbers"]] == [False]
    assert sorted(o.passed for o in result.checks["doubled"]) == [False, True, True]
    assert len([w for w in caught if issubclass(w.category, ContractWarning)]) == 2


def _random_flow(thresholds: list[tuple[int, str]]) -> flowdsl.Flow:
    # A fan of vertices over one input, each adding its index and checking its own output.
    vertices = []
    for index, (threshold, importance) in enumerate(thresholds):

        def make(i: int, t: int, how: str) -> Any:
            @vertex(name=f"v{i}")
            def step(
                x: int,
            ) -> Annotated[int, Check(lambda v, t=t: v > t, f"above {t}", importance=how)]:
                return x + i

            return step

        vertices.append(make(index, threshold, importance))

    @vertex
    def total(v0: int) -> int:
        return v0

    return flowdsl.Flow.from_functions(*vertices, total)


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=st.integers(-3, 3),
    thresholds=st.lists(
        st.tuples(st.integers(-4, 6), st.sampled_from(["warn", "warn", "fail"])),
        min_size=1,
        max_size=5,
    ),
)
def test_random_checks_give_the_reference_outcomes_on_every_mode(
    x: int, thresholds: list[tuple[int, str]]
) -> None:
    flow = _random_flow(thresholds)
    # The reference: vertex i outputs x + i; its check holds when that exceeds its threshold.
    expected = {f"v{i}": [(f"above {t}", how, x + i > t)] for i, (t, how) in enumerate(thresholds)}
    failing = sorted(n for n, [(_, how, ok)] in expected.items() if how == "fail" and not ok)
    warned = sum(1 for [(_, how, ok)] in expected.values() if how == "warn" and not ok)
    for mode in MODES:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_in(mode, flow, {"x": x}, on_error="continue")
        got = {
            n: [(o.message, o.importance, o.passed) for o in v] for n, v in result.checks.items()
        }
        assert got == expected, mode
        assert sorted(result.errors) == failing, mode
        ours = [w for w in caught if issubclass(w.category, ContractWarning)]
        assert len(ours) == warned, mode
