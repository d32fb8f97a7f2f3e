"""Retries (``RetryPolicy``, ``retries=``, ``run(retry=...)``) and fallbacks, on every backend."""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import anyio
import pytest

import flowdsl
from flowdsl import ContractViolation, RetryPolicy, VertexFailed, vertex
from tests.runtime import _probe as probe
from tests.runtime._modes import every_mode, run_in


class Flaky:
    """A callable that fails its first ``failures`` calls, then returns ``value``."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise self.error(f"failure {self.calls}")


def _flaky_flow(flaky: Flaky, **options: Any) -> flowdsl.Flow:
    @vertex(**options)
    def fetch(x: int) -> int:
        flaky()
        return x * 2

    @vertex
    def after(fetch: int) -> int:
        return fetch + 1

    return flowdsl.Flow.from_functions(fetch, after)


# --------------------------------------------------------------------------- retries


@every_mode
@pytest.mark.parametrize("failures", [0, 1, 3])
def test_k_failures_within_the_limit_give_exactly_k_plus_one_calls(
    mode: tuple[str, str], failures: int
) -> None:
    flaky = Flaky(failures)
    result = run_in(mode, _flaky_flow(flaky, retries=3), {"x": 4})
    assert result["after"] == 9
    assert flaky.calls == failures + 1
    assert result.metrics.vertices["fetch"].attempts == failures + 1
    assert result.metrics.vertices["after"].attempts == 1


@every_mode
def test_exhausted_retries_raise_vertex_failed_with_attempts_and_last_cause(
    mode: tuple[str, str],
) -> None:
    flaky = Flaky(10)
    with pytest.raises(VertexFailed) as caught:
        run_in(mode, _flaky_flow(flaky, retries=2), {"x": 4})
    error = caught.value
    assert flaky.calls == 3
    assert error.attempts == 3
    assert error.vertex == "fetch"
    assert isinstance(error.__cause__, ConnectionError)
    assert str(error.__cause__) == "failure 3"  # the last one
    assert "after 3 attempts" in str(error)
    assert error.result is not None
    assert error.result.states["fetch"] == "failed"
    assert error.result.metrics.vertices["fetch"].attempts == 3


@every_mode
def test_exhausted_retries_under_continue_skip_the_dependents(mode: tuple[str, str]) -> None:
    flaky = Flaky(10)
    result = run_in(mode, _flaky_flow(flaky, retries=1), {"x": 4}, on_error="continue")
    assert dict(result.states) == {"fetch": "failed", "after": "skipped"}
    assert result.skip_reasons == {"after": "'fetch' failed"}
    assert isinstance(result.errors["fetch"], ConnectionError)
    assert result.metrics.vertices["fetch"].attempts == 2


def test_retry_on_a_tuple_retries_only_those_types() -> None:
    flaky = Flaky(1, error=KeyError)
    policy = RetryPolicy(max_retries=3, retry_on=(ConnectionError,))
    with pytest.raises(VertexFailed) as caught:
        _flaky_flow(flaky, retry=policy).run({"x": 1})
    assert flaky.calls == 1
    assert caught.value.attempts == 1
    assert isinstance(caught.value.__cause__, KeyError)


def test_retry_on_a_predicate() -> None:
    flaky = Flaky(2, error=ValueError)
    seen: list[BaseException] = []

    def transient(error: BaseException) -> bool:
        seen.append(error)
        return "failure" in str(error)

    result = _flaky_flow(flaky, retry=RetryPolicy(max_retries=5, retry_on=transient)).run({"x": 1})
    assert result["fetch"] == 2
    assert [str(e) for e in seen] == ["failure 1", "failure 2"]


@every_mode
def test_the_run_default_applies_where_a_vertex_has_no_policy(mode: tuple[str, str]) -> None:
    flaky = Flaky(2)
    result = run_in(mode, _flaky_flow(flaky), {"x": 1}, retry=2)
    assert result["fetch"] == 2
    assert flaky.calls == 3

    flaky = Flaky(2)
    result = run_in(mode, _flaky_flow(flaky), {"x": 1}, retry=RetryPolicy(max_retries=5))
    assert flaky.calls == 3


def test_a_vertex_policy_overrides_the_run_default() -> None:
    flaky = Flaky(2)
    with pytest.raises(VertexFailed) as caught:
        _flaky_flow(flaky, retries=0).run({"x": 1}, retry=5)
    assert flaky.calls == 1
    assert caught.value.attempts == 1

    flaky = Flaky(4)
    result = _flaky_flow(flaky, retries=4).run({"x": 1}, retry=1)
    assert flaky.calls == 5
    assert result.metrics.vertices["fetch"].attempts == 5


def test_contract_violations_are_never_retried() -> None:
    calls = []

    @vertex(retries=5)
    def bad(x: int) -> int:
        calls.append(x)
        return "not an int"  # type: ignore[return-value]

    with pytest.raises(ContractViolation) as caught:
        flowdsl.Flow.from_functions(bad).run({"x": 1})
    assert caught.value.parameter == "return"
    assert calls == [1]


def test_an_argument_contract_violation_is_not_retried_and_calls_nothing() -> None:
    calls = []

    @vertex(retries=5)
    def strict(x: int) -> int:
        calls.append(x)
        return x

    with pytest.raises(ContractViolation):
        flowdsl.Flow.from_functions(strict).run({"x": "seven"})
    assert calls == []


@every_mode
def test_delays_grow_by_the_backoff(mode: tuple[str, str]) -> None:
    stamps: list[float] = []

    @vertex(retry=RetryPolicy(max_retries=3, delay=0.02, backoff=2.0))
    def slow_start(x: int) -> int:
        stamps.append(time.monotonic())
        if len(stamps) < 4:
            raise ConnectionError("again")
        return x

    assert run_in(mode, flowdsl.Flow.from_functions(slow_start), {"x": 3})["slow_start"] == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    # Waits of 20, 40 and 80 ms: each gap at least its wait (upper bounds would flake).
    for gap, wait in zip(gaps, [0.02, 0.04, 0.08], strict=True):
        assert gap >= wait * 0.9


def test_delay_before_is_capped_and_jittered() -> None:
    policy = RetryPolicy(max_retries=5, delay=1.0, backoff=3.0, max_delay=5.0)
    assert [policy.delay_before(n) for n in (1, 2, 3, 4)] == [1.0, 3.0, 5.0, 5.0]
    jittered = RetryPolicy(max_retries=1, delay=0.1, jitter=0.05)
    for _ in range(50):
        assert 0.1 <= jittered.delay_before(1) <= 0.15
    assert RetryPolicy(max_retries=2).delay_before(1) == 0.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_retries": -1}, "max_retries=-1"),
        ({"max_retries": True}, "max_retries=True"),
        ({"delay": -0.5}, "delay=-0.5"),
        ({"backoff": 0.5}, "backoff=0.5"),
        ({"max_delay": -1}, "max_delay=-1"),
        ({"jitter": "x"}, "jitter='x'"),
        ({"retry_on": 3}, "retry_on=3"),
    ],
)
def test_bad_policies_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        RetryPolicy(**options)


def test_a_bad_run_retry_is_a_settings_error() -> None:
    with pytest.raises(flowdsl.SettingsError, match="retry='often'"):
        _flaky_flow(Flaky(0)).run({"x": 1}, retry="often")


@pytest.mark.slow  # waits or starts processes on purpose: not in the quick loop
@pytest.mark.parametrize("backend", ["thread", "async"])
def test_the_wait_between_attempts_holds_no_worker_thread(backend: str) -> None:
    # One worker thread: while "waiting" sleeps between its attempts, "other"
    # (a sync vertex on the only thread) must be able to run. The wait is long
    # enough for "other" to be scheduled and run on a heavily loaded machine.
    other_ran = threading.Event()
    attempts = []

    @vertex(retry=RetryPolicy(max_retries=1, delay=2.0), blocking=True)
    def waiting(x: int) -> int:
        attempts.append(other_ran.is_set())
        if len(attempts) == 1:
            raise ConnectionError("first")
        return x

    @vertex(blocking=True)
    def other(x: int) -> int:
        time.sleep(0.05)  # starts after waiting's first attempt has taken the thread
        other_ran.set()
        return x

    flow = flowdsl.Flow.from_functions(waiting, other)
    result = flow.run({"x": 1}, backend=backend, max_workers=1)
    assert result["waiting"] == 1
    assert attempts == [False, True]


@pytest.mark.anyio
async def test_retries_under_arun() -> None:
    flaky = Flaky(2)

    @vertex(retry=RetryPolicy(max_retries=2, delay=0.001))
    async def remote(x: int) -> int:
        await anyio.sleep(0)
        flaky()
        return x + 1

    result = await flowdsl.Flow.from_functions(remote).arun({"x": 1}, backend="async")
    assert result["remote"] == 2
    assert result.metrics.vertices["remote"].attempts == 3


@pytest.mark.anyio
async def test_cancelling_a_retry_wait_propagates_and_is_not_retried() -> None:
    flaky = Flaky(100)

    @vertex(retry=RetryPolicy(max_retries=100, delay=10.0))
    async def hopeless(x: int) -> int:
        flaky()
        return x

    with anyio.move_on_after(0.2) as scope:
        await flowdsl.Flow.from_functions(hopeless).arun({"x": 1}, backend="async")
    assert scope.cancelled_caught
    assert flaky.calls == 1


@every_mode
def test_a_timed_out_attempt_is_retried(mode: tuple[str, str]) -> None:
    calls = []

    @vertex(timeout=0.1, retries=1)
    async def sometimes_slow(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            await anyio.sleep(5)
        return x

    result = run_in(mode, flowdsl.Flow.from_functions(sometimes_slow), {"x": 2})
    assert result["sometimes_slow"] == 2
    assert len(calls) == 2


def test_pure_vertices_with_retries_cache_the_success_only() -> None:
    probe.calls = []

    @vertex(pure=True, retries=2)
    def priced(x: int) -> int:
        probe.calls.append(x)
        if len(probe.calls) == 1:
            raise ConnectionError("first call fails")
        return x * 10

    flow = flowdsl.Flow.from_functions(priced)
    store = flowdsl.MemoryCache()
    first = flow.run({"x": 3}, cache=store)
    second = flow.run({"x": 3}, cache=store)
    assert first["priced"] == second["priced"] == 30
    assert probe.calls == [3, 3]
    assert first.metrics.vertices["priced"].cache == "miss"
    assert second.metrics.vertices["priced"].cache_hit
    assert second.metrics.vertices["priced"].attempts == 0


# --------------------------------------------------------------------------- fallbacks


def cached_price(item: str) -> float:
    return 9.5


def last_resort() -> float:
    return 1.0


def broken_fallback(item: str, region: str) -> float:
    raise LookupError(f"no price for {item} in {region}")


@every_mode
def test_a_fallback_stands_in_after_the_retries(mode: tuple[str, str]) -> None:
    flaky = Flaky(10)

    @vertex(retries=1, fallback=cached_price)
    def price(item: str, region: str) -> float:
        flaky()
        return 1.0

    @vertex
    def total(price: float) -> float:
        return price * 2

    result = run_in(
        mode, flowdsl.Flow.from_functions(price, total), {"item": "tea", "region": "eu"}
    )
    assert result["total"] == 19.0
    assert flaky.calls == 2
    metrics = result.metrics.vertices["price"]
    assert metrics.fallback == "cached_price"
    assert metrics.attempts == 2
    assert result.states["price"] == "completed"
    step = result.lineage.trace("price").steps[-1]
    assert step.fallback == "cached_price"
    assert "fallback cached_price used" in str(result.lineage.trace("total"))


@every_mode
def test_fallbacks_are_tried_in_order(mode: tuple[str, str]) -> None:
    @vertex(fallback=[broken_fallback, last_resort, cached_price])
    async def price(item: str, region: str) -> float:
        raise ConnectionError("down")

    result = run_in(mode, flowdsl.Flow.from_functions(price), {"item": "tea", "region": "eu"})
    assert result["price"] == 1.0
    assert result.metrics.vertices["price"].fallback == "last_resort"


def test_when_every_fallback_fails_the_original_error_is_raised_and_theirs_listed() -> None:
    @vertex(fallback=broken_fallback)
    def price(item: str, region: str) -> float:
        raise ConnectionError("down")

    with pytest.raises(VertexFailed) as caught:
        flowdsl.Flow.from_functions(price).run({"item": "tea", "region": "eu"})
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert "broken_fallback raised LookupError: no price for tea in eu" in str(caught.value)


def test_a_fallback_result_is_checked_against_the_return_contract() -> None:
    def wrong_type(item: str) -> Any:
        return "cheap"

    @vertex(fallback=[wrong_type, cached_price])
    def price(item: str) -> float:
        raise ConnectionError("down")

    result = flowdsl.Flow.from_functions(price).run({"item": "tea"})
    assert result["price"] == 9.5  # the first fallback broke the contract: the next one stood in

    @vertex(name="price", fallback=wrong_type)
    def price_only(item: str) -> float:
        raise ConnectionError("down")

    with pytest.raises(VertexFailed) as caught:
        flowdsl.Flow.from_functions(price_only).run({"item": "tea"})
    assert "wrong_type raised ContractViolation" in str(caught.value)


def test_a_return_contract_violation_falls_back() -> None:
    @vertex(fallback=cached_price)
    def price(item: str) -> float:
        return "free"  # type: ignore[return-value]

    result = flowdsl.Flow.from_functions(price).run({"item": "tea"})
    assert result["price"] == 9.5


def test_an_async_fallback_for_a_sync_vertex() -> None:
    async def remote_price(item: str) -> float:
        await anyio.sleep(0)
        return 3.0

    @vertex(fallback=remote_price)
    def price(item: str) -> float:
        raise ConnectionError("down")

    for backend in ("serial", "thread", "async"):
        result = flowdsl.Flow.from_functions(price).run({"item": "x"}, backend=backend)
        assert result["price"] == 3.0


def test_a_fallback_result_is_not_cached() -> None:
    probe.calls = []

    @vertex(pure=True, fallback=last_resort)
    def price(item: str) -> float:
        probe.calls.append(item)
        raise ConnectionError("down")

    store = flowdsl.MemoryCache()
    flow = flowdsl.Flow.from_functions(price)
    assert flow.run({"item": "x"}, cache=store)["price"] == 1.0
    assert flow.run({"item": "x"}, cache=store)["price"] == 1.0
    assert probe.calls == ["x", "x"]
    assert store.stats().entries == 0


def test_a_fallback_is_named_by_its_functions_name_not_its_qualname() -> None:
    def build() -> flowdsl.Flow:
        def last_known_price(item: str) -> float:
            return 9.99

        @vertex(fallback=last_known_price)
        def price(item: str) -> float:
            raise ConnectionError("down")

        return flowdsl.Flow.from_functions(price)

    flow = build()
    result = flow.run({"item": "tea"})
    assert result.metrics.vertices["price"].fallback == "last_known_price"
    assert result.lineage.trace("price").steps[-1].fallback == "last_known_price"
    assert "fallback last_known_price used" in str(result.lineage.trace("price"))
    exported = json.loads(flow.to_json())["vertices"]
    assert exported[0]["control"]["fallbacks"] == ["last_known_price"]
