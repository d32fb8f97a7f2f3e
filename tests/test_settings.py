"""Resolution of run options: argument > configure(...) > FLOWDSL_* > default, and its sources."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import flowdsl
from flowdsl import SettingsError, configure, settings, vertex
from flowdsl import _settings as settings_module
from flowdsl._settings import resolve


@pytest.fixture(autouse=True)
def _fresh_configuration() -> Iterator[None]:
    assert not settings_module._configured, "a previous test left something configured"
    yield
    with settings_module._lock:
        settings_module._layers.clear()
        settings_module._rebuild()


def source_of(name: str) -> str:
    return settings()[name].source


def value_of(name: str) -> Any:
    return settings()[name].value


@vertex
def double(x: int) -> int:
    return 2 * x


@vertex
def fail(double: int) -> int:
    raise RuntimeError("boom")


# --- precedence -----------------------------------------------------------------------------


def test_defaults() -> None:
    report = settings()
    assert report.values == flowdsl.Settings()
    assert {r.source for r in report.records} == {"default"}


def test_environment_over_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_BACKEND", "thread")
    assert settings()["backend"] == flowdsl.SettingValue(
        "backend", "thread", "environment FLOWDSL_BACKEND"
    )


def test_configure_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_BACKEND", "thread")
    configure(backend="async")
    assert (value_of("backend"), source_of("backend")) == ("async", "configure")


def test_argument_over_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_BACKEND", "thread")
    configure(backend="async")
    record = settings(backend="serial")["backend"]
    assert (record.value, record.source) == ("serial", "argument")


def test_each_option_resolves_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_TIMEOUT", "5")
    monkeypatch.setenv("FLOWDSL_CACHE", "false")
    configure(max_workers=3)
    report = settings(on_error="continue")
    assert {r.name: r.source for r in report.records} == {
        "backend": "default",
        "on_error": "argument",
        "max_workers": "configure",
        "max_concurrency": "default",
        "timeout": "environment FLOWDSL_TIMEOUT",
        "contracts": "default",
        "cache": "environment FLOWDSL_CACHE",
        "anyio_backend": "default",
        "retry": "default",
        "checkpoint": "default",
        "progress": "default",
        "dask_address": "default",
    }
    assert (report.values.timeout, report.values.cache, report.values.max_workers) == (
        5.0,
        False,
        3,
    )


def test_the_environment_is_read_at_each_run_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flow = flowdsl.Flow.from_functions(double, fail)
    with pytest.raises(flowdsl.VertexFailed):
        flow.run({"x": 1})
    monkeypatch.setenv("FLOWDSL_ON_ERROR", "continue")
    result = flow.run({"x": 1})
    assert result["double"] == 2
    assert set(result.errors) == {"fail"}
    monkeypatch.delenv("FLOWDSL_ON_ERROR")
    with pytest.raises(flowdsl.VertexFailed):
        flow.run({"x": 1})


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_MAX_WORKERS", "")
    assert source_of("max_workers") == "default"


def test_a_bad_variable_fails_the_run_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    @vertex
    def record(x: int) -> int:
        calls.append(x)
        return x

    monkeypatch.setenv("FLOWDSL_MAX_WORKERS", "lots")
    with pytest.raises(SettingsError) as caught:
        flowdsl.Flow.from_functions(record).run({"x": 1})
    assert "FLOWDSL_MAX_WORKERS='lots'" in str(caught.value)
    assert caught.value.source == "environment FLOWDSL_MAX_WORKERS"
    assert calls == []
    with pytest.raises(SettingsError, match="FLOWDSL_MAX_WORKERS='lots'"):
        settings()


def test_a_shadowed_variable_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_MAX_WORKERS", "lots")
    assert settings(max_workers=2)["max_workers"].value == 2
    configure(max_workers=3)
    assert value_of("max_workers") == 3


def test_the_cache_variable_takes_booleans_or_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_CACHE", "Yes")
    assert value_of("cache") is True
    monkeypatch.setenv("FLOWDSL_CACHE", "0")
    assert value_of("cache") is False
    monkeypatch.setenv("FLOWDSL_CACHE", "/no/such/dir/cache.db")
    assert value_of("cache") == "/no/such/dir/cache.db"  # not opened, not even looked at


def test_resolving_never_touches_the_file_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_CACHE", "cache.db")

    def no_stat(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("resolving settings looked at the file system")

    monkeypatch.setattr(os, "stat", no_stat)
    monkeypatch.setattr(os, "lstat", no_stat)
    assert resolve({}).cache == "cache.db"


def test_a_plain_mapping_as_os_environ_is_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Some tools swap os.environ for a dict; resolution then uses the mapping interface.
    monkeypatch.setattr(os, "environ", {"FLOWDSL_BACKEND": "async", "FLOWDSL_TIMEOUT": ""})
    assert resolve({}).backend == "async"
    assert resolve({}).timeout is None


def test_arguments_other_than_options_are_ignored_by_resolve() -> None:
    assert resolve({"self": object(), "inputs": {}, "backend": "thread"}).backend == "thread"


# --- configure ------------------------------------------------------------------------------


def test_configure_merges_with_what_was_configured_before() -> None:
    configure(backend="thread")
    configure(max_workers=4)
    configure(backend="async")
    assert (value_of("backend"), value_of("max_workers")) == ("async", 4)


def test_configure_none_takes_an_option_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_BACKEND", "thread")
    configure(backend="async", max_workers=4)
    configure(backend=None)
    assert source_of("backend") == "environment FLOWDSL_BACKEND"
    assert value_of("max_workers") == 4


def test_configure_checks_values_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        configure(backend="thread", max_workers=0)
    assert str(caught.value) == "configure(max_workers=0) must be a positive whole number"
    assert caught.value.source == "configure(max_workers=...)"
    # Nothing of a rejected call is applied.
    assert source_of("backend") == "default"


def test_configure_rejects_unknown_options_with_a_suggestion() -> None:
    with pytest.raises(
        SettingsError, match=r"unknown option 'max_wrokers'; did you mean 'max_workers'"
    ):
        configure(max_wrokers=3)
    with pytest.raises(SettingsError, match="unknown option 'speed'"):
        settings(speed=3)


def test_configure_as_a_context_manager_restores_on_exit() -> None:
    configure(max_workers=2)
    with configure(backend="thread", max_workers=8) as entered:
        assert entered is None
        assert (value_of("backend"), value_of("max_workers")) == ("thread", 8)
        with configure(backend="async"):
            assert (value_of("backend"), value_of("max_workers")) == ("async", 8)
        assert value_of("backend") == "thread"
    assert (source_of("backend"), value_of("max_workers")) == ("default", 2)


def test_configure_block_restores_when_it_raises() -> None:
    with pytest.raises(KeyError), configure(contracts="off"):
        raise KeyError("x")
    assert source_of("contracts") == "default"


def test_plain_configure_inside_a_block_wins_and_outlives_it() -> None:
    with configure(backend="thread"):
        configure(backend="async", timeout=3)
        assert value_of("backend") == "async"
    assert (value_of("backend"), value_of("timeout")) == ("async", 3.0)


def test_blocks_that_exit_out_of_order_do_not_undo_each_other() -> None:
    first = configure(backend="thread")
    second = configure(backend="async", max_workers=5)
    with first, second:
        pass
    assert source_of("backend") == "default"
    # Exiting in creation order (as two threads might) still leaves nothing behind.
    first, second = configure(backend="thread"), configure(backend="async")
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert value_of("backend") == "async"
    second.__exit__(None, None, None)
    assert source_of("backend") == "default"


def test_configure_from_many_threads_leaves_nothing_behind() -> None:
    barrier = threading.Barrier(8)
    seen: list[int] = []

    def worker(n: int) -> None:
        barrier.wait()
        for _ in range(200):
            with configure(max_workers=n + 1):
                seen.append(value_of("max_workers"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 1600
    assert set(seen) <= set(range(1, 9))
    assert source_of("max_workers") == "default"
    assert settings_module._layers == []


def test_plain_configure_calls_do_not_pile_up() -> None:
    for n in range(1, 1000):
        configure(max_workers=n)
    assert value_of("max_workers") == 999
    assert len(settings_module._layers) <= 2


def test_configure_has_a_readable_repr() -> None:
    assert (
        repr(configure(backend="thread", timeout=None))
        == "configure(backend='thread', timeout=None)"
    )


# --- runs resolve through the settings ------------------------------------------------------


def test_run_uses_configure_and_arguments() -> None:
    flow = flowdsl.Flow.from_functions(double)
    with configure(backend="thread"):
        assert flow.run({"x": 1}).metrics.backend == "thread"
        assert flow.run({"x": 1}, backend="async").metrics.backend == "async"
    assert flow.run({"x": 1}).metrics.backend == "serial"


def test_start_uses_the_settings_of_the_calling_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_BACKEND", "async")
    handle = flowdsl.Flow.from_functions(double).start({"x": 2})
    monkeypatch.delenv("FLOWDSL_BACKEND")
    result = handle.result(timeout=10)
    assert (result["double"], result.metrics.backend) == (4, "async")


@pytest.mark.anyio
async def test_arun_uses_configure(anyio_backend: str) -> None:
    flow = flowdsl.Flow.from_functions(double)
    with configure(backend="thread"):
        result = await flow.arun({"x": 3})
    assert (result["double"], result.metrics.backend) == (6, "thread")


def test_a_bad_argument_still_names_the_argument() -> None:
    with pytest.raises(SettingsError) as caught:
        flowdsl.Flow.from_functions(double).run({"x": 1}, max_workers=0)
    assert str(caught.value) == "max_workers=0 must be a positive whole number"
    assert caught.value.source == "argument max_workers"


# --- the report -----------------------------------------------------------------------------


def test_the_report_prints_as_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDSL_TIMEOUT", "2.5")
    configure(backend="thread")
    assert str(settings(on_error="continue")) == (
        "option           value       source\n"
        "backend          'thread'    configure\n"
        "on_error         'continue'  argument\n"
        "max_workers      None        default\n"
        "max_concurrency  None        default\n"
        "timeout          2.5         environment FLOWDSL_TIMEOUT\n"
        "contracts        'strict'    default\n"
        "cache            False       default\n"
        "anyio_backend    'asyncio'   default\n"
        "retry            None        default\n"
        "checkpoint       None        default\n"
        "progress         False       default\n"
        "dask_address     None        default"
    )


def test_the_report_names_unknown_options() -> None:
    with pytest.raises(KeyError, match="did you mean 'timeout'"):
        settings()["timeuot"]
