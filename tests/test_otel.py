"""The OpenTelemetry listener, against the SDK's in-memory exporter."""

from __future__ import annotations

from typing import Any

import pytest

import flowdsl
from flowdsl import RetryPolicy, vertex
from tests.runtime import _probe as probe
from tests.runtime._modes import diamond, every_mode, run_in

pytest.importorskip("opentelemetry.sdk", reason="the otel test needs opentelemetry-sdk")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

from flowdsl.otel import OpenTelemetryListener


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def listener(exporter: InMemorySpanExporter) -> OpenTelemetryListener:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OpenTelemetryListener(provider)


def _by_name(exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    spans: dict[str, list[ReadableSpan]] = {}
    for span in exporter.get_finished_spans():
        spans.setdefault(span.name, []).append(span)
    return spans


def _attr(span: ReadableSpan, name: str) -> Any:
    assert span.attributes is not None
    return span.attributes.get(name)


@every_mode
def test_one_span_per_run_and_per_vertex_parent_linked(
    mode: tuple[str, str], exporter: InMemorySpanExporter, listener: OpenTelemetryListener
) -> None:
    result = run_in(mode, diamond(), {"x": 1}, listeners=[listener])
    spans = _by_name(exporter)
    (run,) = spans["flowdsl.run"]
    assert run.parent is None
    assert _attr(run, "flowdsl.run_id") == result.run_id
    assert _attr(run, "flowdsl.backend") == mode[0]
    assert _attr(run, "flowdsl.outcome") == "completed"
    assert run.status.status_code is StatusCode.OK
    for name in ("base", "left", "right", "join"):
        (span,) = spans[f"flowdsl.vertex {name}"]
        assert span.parent is not None
        assert span.parent.span_id == run.context.span_id
        assert span.context.trace_id == run.context.trace_id
        assert _attr(span, "flowdsl.vertex") == name
        assert _attr(span, "flowdsl.attempt") == 1
        assert _attr(span, "flowdsl.backend") == mode[0]
        assert _attr(span, "flowdsl.cache_hit") is False
        assert span.status.status_code is StatusCode.OK
        assert run.start_time <= span.start_time <= span.end_time <= run.end_time


def test_each_attempt_is_a_span_and_failures_carry_the_error(
    exporter: InMemorySpanExporter, listener: OpenTelemetryListener
) -> None:
    calls = []

    @vertex(retry=RetryPolicy(max_retries=1))
    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise ConnectionError("reset")
        return x

    @vertex
    def broken(flaky: int) -> int:
        raise ValueError("bad value")

    flow = flowdsl.Flow.from_functions(flaky, broken)
    with pytest.raises(flowdsl.VertexFailed):
        flow.run({"x": 1}, listeners=[listener])
    spans = _by_name(exporter)
    attempts = sorted(spans["flowdsl.vertex flaky"], key=lambda s: _attr(s, "flowdsl.attempt"))
    assert [_attr(s, "flowdsl.attempt") for s in attempts] == [1, 2]
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert _attr(attempts[0], "flowdsl.error") == "ConnectionError"
    assert attempts[0].events[0].name == "exception"
    assert attempts[1].status.status_code is StatusCode.OK
    (failed,) = spans["flowdsl.vertex broken"]
    assert failed.status.status_code is StatusCode.ERROR
    assert "ValueError: bad value" in (failed.status.description or "")
    (run,) = spans["flowdsl.run"]
    assert _attr(run, "flowdsl.outcome") == "failed"
    assert run.status.status_code is StatusCode.ERROR


def test_cache_hits_and_skips(
    exporter: InMemorySpanExporter, listener: OpenTelemetryListener
) -> None:
    probe.calls = []

    @vertex(pure=True)
    def square(x: int) -> int:
        probe.calls.append(x)
        return x * x

    @vertex
    def gate(x: int) -> bool:
        return False

    @vertex(when="gate")
    def gated(square: int) -> int:
        return square

    flow = flowdsl.Flow.from_functions(square, gate, gated)
    store = flowdsl.MemoryCache()
    flow.run({"x": 2}, cache=store)
    flow.run({"x": 2}, cache=store, listeners=[listener])
    spans = _by_name(exporter)
    (hit,) = spans["flowdsl.vertex square"]
    assert _attr(hit, "flowdsl.cache_hit") is True
    (skipped,) = spans["flowdsl.vertex gated"]
    assert _attr(skipped, "flowdsl.skipped") is True
    assert _attr(skipped, "flowdsl.skip_reason") == "condition 'gate' was false"
