"""Conditional vertices (``when=``), dynamic fan-out (``map_over=``), bounded loops
(``until=``), and per-vertex limits (``max_concurrency=``, ``rate_limit=``), on every backend."""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any, TypedDict

import anyio
import pytest

import flowdsl
from flowdsl import (
    ContractViolation,
    IterationLimitError,
    Previous,
    VertexFailed,
    vertex,
)
from tests.runtime import _probe as probe
from tests.runtime._modes import every_mode, run_in

# --------------------------------------------------------------------------- conditions


class Order(TypedDict):
    total: float
    express: bool


def _branching_flow() -> flowdsl.Flow:
    @vertex
    def order(total: float, express: bool) -> Order:
        return {"total": total, "express": express}

    @vertex
    def is_large(order: Order) -> bool:
        return order["total"] > 100

    @vertex(when="is_large")
    def review(order: Order) -> str:
        return "reviewed"

    @vertex(when="order.express")
    async def courier(order: Order) -> str:
        await anyio.sleep(0)
        return "courier"

    @vertex
    def after_review(review: str) -> str:
        return review + "!"

    @vertex
    def join(review: str | None = None, courier: str | None = None) -> str:
        return f"{review}/{courier}"

    return flowdsl.Flow.from_functions(order, is_large, review, courier, after_review, join)


@every_mode
def test_a_true_condition_runs_the_vertex(mode: tuple[str, str]) -> None:
    result = run_in(mode, _branching_flow(), {"total": 500.0, "express": True})
    assert result["join"] == "reviewed/courier"
    assert result["after_review"] == "reviewed!"
    assert set(result.states.values()) == {flowdsl.VertexState.COMPLETED}
    assert result.skip_reasons == {}


@every_mode
def test_a_false_condition_skips_the_vertex_and_what_needs_it(mode: tuple[str, str]) -> None:
    result = run_in(mode, _branching_flow(), {"total": 5.0, "express": False})
    # join takes defaults for both skipped branches; after_review has no default: skipped.
    assert result["join"] == "None/None"
    assert result.states["review"] == "skipped"
    assert result.states["courier"] == "skipped"
    assert result.states["after_review"] == "skipped"
    assert result.skip_reasons == {
        "review": "condition 'is_large' was false",
        "courier": "condition 'order.express' was false",
        "after_review": "needs the output of 'review', which was skipped",
    }
    assert "review" not in result
    trace = result.lineage.trace("join")
    text = str(trace)
    assert "review [skipped]" in text
    assert "condition 'is_large' was false" in text
    review = next(step for step in trace.steps if step.vertex == "review")
    assert review.reason == "condition 'is_large' was false"
    assert [(e.parameter, e.source, e.value) for e in review.edges][-1] == (
        "when",
        "is_large",
        False,
    )


@every_mode
def test_one_branch_taken(mode: tuple[str, str]) -> None:
    result = run_in(mode, _branching_flow(), {"total": 5.0, "express": True})
    assert result["join"] == "None/courier"
    assert result.states["review"] == "skipped"


def test_a_condition_on_a_decorated_function_and_a_dict_key() -> None:
    @vertex
    def flags(n: int) -> dict[str, bool]:
        return {"even": n % 2 == 0}

    @vertex
    def positive(n: int) -> bool:
        return n > 0

    @vertex(when=positive)
    def half(n: int) -> float:
        return n / 2

    @vertex(when="flags.even")
    def even_only(n: int) -> str:
        return "even"

    flow = flowdsl.Flow.from_functions(flags, positive, half, even_only)
    assert dict(flow.run({"n": 4})) == {
        "flags": {"even": True},
        "positive": True,
        "half": 2.0,
        "even_only": "even",
    }
    skipped = flow.run({"n": -3})
    assert skipped.states["half"] == "skipped"
    assert skipped.states["even_only"] == "skipped"


def test_a_condition_reading_a_missing_key_fails_the_vertex() -> None:
    @vertex
    def flags(n: int) -> dict[str, bool]:
        return {}

    @vertex(when="flags.even")
    def even_only(n: int) -> str:
        return "even"

    with pytest.raises(flowdsl.DataResolutionError) as caught:
        flowdsl.Flow.from_functions(flags, even_only).run({"n": 1})
    assert caught.value.vertex == "even_only"
    assert caught.value.parameter == "when"
    assert "cannot read the condition 'flags.even'" in str(caught.value)


@every_mode
def test_a_condition_whose_vertex_was_skipped_skips(mode: tuple[str, str]) -> None:
    @vertex
    def gate(n: int) -> bool:
        return n > 0

    @vertex(when="gate")
    def inner(n: int) -> bool:
        return True

    @vertex(when="inner")
    def innermost(n: int) -> str:
        return "ran"

    result = run_in(mode, flowdsl.Flow.from_functions(gate, inner, innermost), {"n": -1})
    assert result.states["innermost"] == "skipped"
    assert "its vertex was skipped" in result.skip_reasons["innermost"]


@every_mode
def test_a_failure_upstream_skips_even_a_parameter_with_a_default(
    mode: tuple[str, str],
) -> None:
    @vertex
    def broken(n: int) -> int:
        raise RuntimeError("down")

    @vertex
    def tolerant(broken: int | None = None) -> str:
        return "ran"

    flow = flowdsl.Flow.from_functions(broken, tolerant)
    result = run_in(mode, flow, {"n": 1}, on_error="continue")
    assert dict(result.states) == {"broken": "failed", "tolerant": "skipped"}


def test_outputs_pruning_keeps_the_condition_vertex() -> None:
    flow = _branching_flow()
    result = flow.run({"total": 500.0, "express": False}, outputs=["review"])
    assert dict(result) == {"review": "reviewed"}
    assert set(result.states) == {"order", "is_large", "review"}


# --------------------------------------------------------------------------- map


@every_mode
def test_map_over_calls_once_per_element_in_order(mode: tuple[str, str]) -> None:
    @vertex
    def numbers(n: int) -> list[int]:
        return list(range(n))

    @vertex(map_over="numbers")
    async def squared(numbers: int, offset: int = 0) -> int:
        await anyio.sleep(0.001 * (5 - numbers % 5))  # finish out of order
        return numbers * numbers + offset

    @vertex
    def total(squared: list[int]) -> int:
        return sum(squared)

    flow = flowdsl.Flow.from_functions(numbers, squared, total)
    result = run_in(mode, flow, {"n": 6, "offset": 1})
    assert result["squared"] == [1, 2, 5, 10, 17, 26]
    assert result["total"] == 61
    assert result.metrics.vertices["squared"].elements == 6
    assert result.metrics.vertices["squared"].attempts == 6
    empty = run_in(mode, flow, {"n": 0})
    assert empty["squared"] == []
    assert empty["total"] == 0


@every_mode
def test_mapping_over_an_empty_list_makes_no_calls_and_counts_no_attempts(
    mode: tuple[str, str],
) -> None:
    # Found by tests/runtime/test_random_control_flow.py: attempts read 1.
    calls = []

    @vertex
    def numbers() -> list[int]:
        return []

    @vertex(map_over="numbers", retries=2)
    def doubled(numbers: int) -> int:
        calls.append(numbers)
        return 2 * numbers

    result = run_in(mode, flowdsl.Flow.from_functions(numbers, doubled))
    assert result["doubled"] == []
    assert calls == []
    metrics = result.metrics.vertices["doubled"]
    assert (metrics.elements, metrics.attempts) == (0, 0)


@pytest.mark.parametrize("backend", ["thread", "async"])
def test_mapped_elements_run_concurrently(backend: str) -> None:
    # Every element waits until all four have started: only concurrency finishes.
    barrier = threading.Barrier(4, timeout=10)

    @vertex(map_over="items", blocking=True)
    def meet(items: int) -> int:
        barrier.wait()
        return items

    result = flowdsl.Flow.from_functions(meet).run({"items": [1, 2, 3, 4]}, backend=backend)
    assert result["meet"] == [1, 2, 3, 4]


@every_mode
def test_a_failing_element_names_its_index(mode: tuple[str, str]) -> None:
    @vertex(map_over="items")
    def invert(items: int) -> float:
        return 1 / items

    flow = flowdsl.Flow.from_functions(invert)
    with pytest.raises(VertexFailed) as caught:
        run_in(mode, flow, {"items": [1, 2, 0, 4]})
    error = caught.value
    assert error.element == 2
    assert "element 2 of 4 raised ZeroDivisionError" in str(error)
    assert isinstance(error.__cause__, ZeroDivisionError)


@every_mode
def test_under_continue_every_element_runs_and_errors_are_per_element(
    mode: tuple[str, str],
) -> None:
    seen = []
    lock = threading.Lock()

    @vertex(map_over="items")
    def invert(items: int) -> float:
        with lock:
            seen.append(items)
        return 1 / items

    @vertex
    def other(items: list[int]) -> int:
        return len(items)

    flow = flowdsl.Flow.from_functions(invert, other)
    result = run_in(mode, flow, {"items": [0, 1, 0, 3]}, on_error="continue")
    assert sorted(seen) == [0, 0, 1, 3]
    assert result.states["invert"] == "failed"
    assert result["other"] == 4
    errors = result.element_errors["invert"]
    assert sorted(errors) == [0, 2]
    assert all(isinstance(e, ZeroDivisionError) for e in errors.values())
    assert isinstance(result.errors["invert"], ZeroDivisionError)


def test_contracts_check_each_element() -> None:
    @vertex(map_over="items")
    def double(items: int) -> int:
        return items * 2

    flow = flowdsl.Flow.from_functions(double)
    assert flow.run({"items": (1, 2)})["double"] == [2, 4]
    with pytest.raises(ContractViolation) as caught:
        flow.run({"items": [1, "two"]})
    assert caught.value.parameter == "items"


@pytest.mark.parametrize("bad", [5, "abc", {"a": 1}, {1, 2}])
def test_mapping_over_a_non_sequence_is_a_contract_violation(bad: Any) -> None:
    @vertex(map_over="items")
    def echo(items: Any) -> Any:
        return items

    with pytest.raises(ContractViolation, match="map_over='items' needs"):
        flowdsl.Flow.from_functions(echo).run({"items": bad})


def test_a_generator_and_a_range_can_be_mapped_over() -> None:
    @vertex(map_over="items")
    def echo(items: int) -> int:
        return items

    flow = flowdsl.Flow.from_functions(echo)
    assert flow.run({"items": range(3)})["echo"] == [0, 1, 2]
    assert flow.run({"items": (i for i in range(2))})["echo"] == [0, 1]


def test_elements_are_passed_as_they_are_not_copied() -> None:
    blocks = [bytearray(10), bytearray(10)]

    @vertex(map_over="items")
    def identity(items: bytearray) -> int:
        return id(items)

    result = flowdsl.Flow.from_functions(identity).run({"items": blocks})
    assert result["identity"] == [id(b) for b in blocks]


def test_pure_mapped_vertices_cache_per_element() -> None:
    probe.calls = []

    @vertex(pure=True, map_over="items")
    def slow_square(items: int) -> int:
        probe.calls.append(items)
        return items * items

    flow = flowdsl.Flow.from_functions(slow_square)
    store = flowdsl.MemoryCache()
    assert flow.run({"items": [1, 2]}, cache=store)["slow_square"] == [1, 4]
    again = flow.run({"items": [2, 3, 1]}, cache=store)
    assert again["slow_square"] == [4, 9, 1]
    assert probe.calls == [1, 2, 3]  # only the new element ran
    assert again.metrics.vertices["slow_square"].cache == "miss"
    assert flow.run({"items": [3]}, cache=store).metrics.vertices["slow_square"].cache_hit


def test_a_mapped_vertex_compiles_to_a_list_output() -> None:
    @vertex
    def words(text: str) -> list[str]:
        return text.split()

    @vertex(map_over="words")
    def length(words: str) -> int:
        return len(words)

    @vertex
    def longest(length: list[int]) -> int:
        return max(length)

    flow = flowdsl.Flow.from_functions(words, length, longest)
    assert flow.graph.vertices["length"].returns == list[int]
    assert flow.run({"text": "a bb ccc"})["longest"] == 3


def test_a_mapped_flow_input_is_a_list_of_the_parameter_type() -> None:
    @vertex(map_over="item")
    def length(item: str) -> int:
        return len(item)

    flow = flowdsl.Flow.from_functions(length)
    assert flow.inputs["item"].annotation == list[str]


# --------------------------------------------------------------------------- loops


@every_mode
def test_a_loop_runs_until_its_predicate_holds(mode: tuple[str, str]) -> None:
    seen: list[int | None] = []

    @vertex(until=lambda value: value >= 40, max_iterations=10)
    def grow(start: int, last: Annotated[int | None, Previous()]) -> int:
        seen.append(last)
        return start if last is None else last * 2

    @vertex
    def report(grow: int) -> str:
        return f"reached {grow}"

    result = run_in(mode, flowdsl.Flow.from_functions(grow, report), {"start": 5})
    assert result["report"] == "reached 40"
    assert seen == [None, 5, 10, 20]
    assert result.metrics.vertices["grow"].iterations == 4
    assert result.metrics.vertices["grow"].attempts == 4
    trace = result.lineage.trace("report")
    assert trace.steps[0].iterations == 4
    assert "4 iterations" in str(trace)


@pytest.mark.parametrize("limit", [1, 3])
def test_max_iterations_allows_exactly_n_runs(limit: int) -> None:
    calls = []

    @vertex(until=lambda value: value >= limit, max_iterations=limit)
    def count(last: Annotated[int | None, Previous()]) -> int:
        calls.append(last)
        return 1 if last is None else last + 1

    result = flowdsl.Flow.from_functions(count).run()
    assert result["count"] == limit
    assert len(calls) == limit


@every_mode
def test_going_past_max_iterations_names_the_vertex_and_n(mode: tuple[str, str]) -> None:
    calls = []

    @vertex(until=lambda value: False, max_iterations=3)
    def never(last: Annotated[int | None, Previous()] = None) -> int:
        calls.append(last)
        return len(calls)

    with pytest.raises(IterationLimitError) as caught:
        run_in(mode, flowdsl.Flow.from_functions(never))
    error = caught.value
    assert len(calls) == 3
    assert error.vertex == "never"
    assert error.max_iterations == 3
    assert "max_iterations=3" in str(error)
    assert error.result is not None
    assert error.result.states["never"] == "failed"


def test_a_loop_without_previous_polls() -> None:
    state = {"polls": 0}

    @vertex(until=lambda status: status == "done", max_iterations=5)
    def poll(job: str) -> str:
        state["polls"] += 1
        return "done" if state["polls"] == 3 else "running"

    result = flowdsl.Flow.from_functions(poll).run({"job": "j1"})
    assert result["poll"] == "done"
    assert result.metrics.vertices["poll"].iterations == 3


def test_a_loop_inside_a_map_loops_per_element() -> None:
    @vertex(map_over="targets", until=lambda v: v[0] >= v[1], max_iterations=20)
    def climb(targets: int, last: Annotated[tuple[int, int] | None, Previous()]) -> tuple[int, int]:
        return (0 if last is None else last[0] + 1, targets)

    result = flowdsl.Flow.from_functions(climb).run({"targets": [2, 0, 3]})
    assert result["climb"] == [(2, 2), (0, 0), (3, 3)]
    assert result.metrics.vertices["climb"].iterations == 3 + 1 + 4


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize("backend", ["thread", "async"])
def test_max_concurrency_bounds_calls_of_one_vertex(backend: str) -> None:
    lock = threading.Lock()
    running = [0]
    peak = [0]

    @vertex(map_over="items", max_concurrency=2, blocking=True)
    def call_api(items: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return items

    result = flowdsl.Flow.from_functions(call_api).run(
        {"items": list(range(8))}, backend=backend, max_workers=8
    )
    assert result["call_api"] == list(range(8))
    assert peak[0] == 2


@pytest.mark.anyio
async def test_max_concurrency_bounds_coroutines() -> None:
    running = 0
    peak = 0

    @vertex(map_over="items", max_concurrency=3)
    async def fetch(items: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.01)
        running -= 1
        return items

    result = await flowdsl.Flow.from_functions(fetch).arun(
        {"items": list(range(10))}, backend="async"
    )
    assert result["fetch"] == list(range(10))
    assert peak == 3


@every_mode
def test_rate_limit_spaces_the_calls(mode: tuple[str, str]) -> None:
    starts: list[float] = []
    lock = threading.Lock()

    @vertex(map_over="items", rate_limit=50)  # one call per 20 ms
    def ping(items: int) -> int:
        with lock:
            starts.append(time.monotonic())
        return items

    begin = time.monotonic()
    result = run_in(mode, flowdsl.Flow.from_functions(ping), {"items": list(range(5))})
    assert result["ping"] == list(range(5))
    # Turns come at least 20 ms apart from the run's start and a call starts
    # after its turn, so call k starts k intervals after the run began or
    # later: never more than k + 1 calls in the first k intervals. (A gap
    # between two calls may still be shorter, when a busy machine delays one
    # call after its turn and not the next.)
    for k, start in enumerate(sorted(starts)):
        assert start - begin >= k * 0.02, (k, [s - begin for s in sorted(starts)])
