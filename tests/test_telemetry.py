"""OpenTelemetry: a span per stream with its events, and metrics, seen by the SDK's in-memory
exporters; both flavours."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from streamstraight_server import AsyncStreamstraight, DataLossError, Streamstraight
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.server_process import ServerProcess

FLAVOURS = ["blocking", "asyncio"]


@dataclass
class Otel:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def settings(self) -> dict[str, Any]:
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def stream_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if s.name == "streamstraight.stream"]

    def points(self) -> dict[str, list[Any]]:
        """Data points by metric name (units checked on the way)."""
        found: dict[str, list[Any]] = {}
        data = self.metrics.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                assert scope.scope.name == "streamstraight_server"
                for metric in scope.metrics:
                    assert metric.unit == UNITS[metric.name], metric.name
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


UNITS = {
    "streamstraight.producer.sent.chunks": "{chunk}",
    "streamstraight.producer.confirmed.chunks": "{chunk}",
    "streamstraight.producer.resent.chunks": "{chunk}",
    "streamstraight.producer.sent.bytes": "By",
    "streamstraight.producer.confirmed.bytes": "By",
    "streamstraight.producer.resent.bytes": "By",
    "streamstraight.producer.streams": "{stream}",
    "streamstraight.producer.ack.duration": "s",
    "streamstraight.producer.time_to_first_confirm": "s",
    "streamstraight.producer.stream.duration": "s",
}


@pytest.fixture
def otel() -> Iterator[Otel]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Otel(spans, reader, tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()


def write(flavour: str, settings: dict[str, Any], stream_id: str, count: int) -> None:
    """``count`` chunks through a writer of the given flavour."""
    if flavour == "blocking":
        with Streamstraight(**settings).stream_writer(stream_id=stream_id) as writer:
            for i in range(count):
                writer.send(f"chunk {i:03d}")
        return

    async def run() -> None:
        client = AsyncStreamstraight(**settings)
        async with client.stream_writer(stream_id=stream_id) as writer:
            for i in range(count):
                await writer.send(f"chunk {i:03d}")
        await client.aclose()

    asyncio.run(run())


def total(points: list[Any]) -> int:
    return sum(int(p.value) for p in points)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_stream_that_dropped_and_resumed(
    server: ThreadedDevServer, options: dict[str, Any], otel: Otel, flavour: str
) -> None:
    server.faults.drop_after_chunks = 40
    write(flavour, {**options, **otel.settings()}, "traced", 100)

    (span,) = otel.stream_spans()
    assert span.kind is SpanKind.PRODUCER and span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes["streamstraight.stream.id"] == "traced"
    assert attributes["server.address"] == "127.0.0.1" and attributes["server.port"] == server.port
    assert attributes["streamstraight.stream.outcome"] == "delivered"
    assert attributes["streamstraight.chunks.sent"] == 100
    assert attributes["streamstraight.chunks.confirmed"] == 100
    assert attributes["streamstraight.stream.reconnects"] == 1
    names = [event.name for event in span.events]
    assert names == ["streamstraight.connection.dropped", "streamstraight.stream.resumed"]
    dropped: dict[str, Any] = dict(span.events[0].attributes or {})
    assert dropped["streamstraight.chunks.confirmed"] < dropped["streamstraight.chunks.sent"]

    points = otel.points()
    assert set(points) == set(UNITS)
    assert total(points["streamstraight.producer.sent.chunks"]) == 100
    assert total(points["streamstraight.producer.confirmed.chunks"]) == 100
    resent = total(points["streamstraight.producer.resent.chunks"])
    assert resent >= 1
    assert total(points["streamstraight.producer.sent.bytes"]) == 100 * 11
    assert total(points["streamstraight.producer.confirmed.bytes"]) == 100 * 11
    assert total(points["streamstraight.producer.resent.bytes"]) == resent * 11
    (streams,) = points["streamstraight.producer.streams"]
    assert streams.value == 1
    assert dict(streams.attributes) == {
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "streamstraight.stream.outcome": "delivered",
    }
    (ack,) = points["streamstraight.producer.ack.duration"]
    assert ack.count >= 100 // 16 and 0 < ack.max < 10
    assert list(ack.explicit_bounds)[:3] == [0.005, 0.01, 0.025]  # seconds, not ms
    (first,) = points["streamstraight.producer.time_to_first_confirm"]
    (duration,) = points["streamstraight.producer.stream.duration"]
    assert first.count == duration.count == 1 and first.sum <= duration.sum


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_stop_is_an_event_and_an_outcome(
    server: ThreadedDevServer, options: dict[str, Any], otel: Otel, flavour: str
) -> None:
    settings = {**options, **otel.settings()}
    if flavour == "blocking":
        client = Streamstraight(**settings)
        with client.stream_writer(stream_id="stopped") as writer:
            writer.send("a")
            assert client.cancel("stopped", "[stopped]", reason="producer-error")
    else:

        async def run() -> None:
            client = AsyncStreamstraight(**settings)
            async with client.stream_writer(stream_id="stopped") as writer:
                await writer.send("a")
                assert await client.cancel("stopped", "[stopped]", reason="producer-error")
            await client.aclose()

        asyncio.run(run())
    (span,) = otel.stream_spans()
    (event,) = span.events
    assert event.name == "streamstraight.stream.stopped"
    assert dict(event.attributes or {}) == {
        "streamstraight.stop.reason": "producer-error",
        "streamstraight.stop.final_chunk": True,
    }
    assert dict(span.attributes or {})["streamstraight.stream.outcome"] == "stopped"
    (streams,) = otel.points()["streamstraight.producer.streams"]
    assert streams.attributes["streamstraight.stream.outcome"] == "stopped"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_data_loss_is_an_event_and_the_span_an_error(
    server_process: ServerProcess, otel: Otel, flavour: str
) -> None:
    settings = {
        "api_key": server_process.api_key,
        "base_url": server_process.base_url,
        "connect_retry_delay_ms": 20,
        "max_in_flight_chunks": 16,
        **otel.settings(),
    }

    def restart_after_60(i: int) -> None:
        if i == 60:
            server_process.restart(keep_store=False)

    with pytest.raises(DataLossError):
        if flavour == "blocking":
            client = Streamstraight(**settings)
            with client.stream_writer(stream_id="hole") as writer:
                for i in range(200):
                    if i == 60:
                        writer.flush()
                    restart_after_60(i)
                    writer.send(i)
        else:

            async def run() -> None:
                client = AsyncStreamstraight(**settings)
                async with client.stream_writer(stream_id="hole") as writer:
                    for i in range(200):
                        if i == 60:
                            await writer.flush()
                        restart_after_60(i)
                        await writer.send(i)

            asyncio.run(run())
    (span,) = otel.stream_spans()
    assert span.status.status_code is StatusCode.ERROR
    names = [event.name for event in span.events]
    assert "streamstraight.stream.data_loss" in names and "exception" in names
    loss = dict(span.events[names.index("streamstraight.stream.data_loss")].attributes or {})
    assert loss["streamstraight.missing.first_seq"] == 0
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "DataLossError"
    assert attributes["streamstraight.stream.outcome"] == "failed"
    (streams,) = otel.points()["streamstraight.producer.streams"]
    assert streams.attributes["error.type"] == "DataLossError"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_tee_span_is_a_child_of_the_request_that_started_it(
    server: ThreadedDevServer, options: dict[str, Any], otel: Otel, flavour: str
) -> None:
    settings = {**options, **otel.settings()}
    tracer = otel.tracer_provider.get_tracer("the-app")
    if flavour == "blocking":
        with tracer.start_as_current_span("request"):
            tee = Streamstraight(**settings).tee(["a", "b"], stream_id="child")
        tee.wait()
    else:

        async def run() -> None:
            with tracer.start_as_current_span("request"):
                tee = AsyncStreamstraight(**settings).tee(["a", "b"], stream_id="child")
            await tee.wait()

        asyncio.run(run())
    (request,) = [s for s in otel.spans.get_finished_spans() if s.name == "request"]
    (stream,) = otel.stream_spans()
    assert stream.parent is not None and request.context is not None
    assert stream.parent.span_id == request.context.span_id
    assert stream.context is not None and stream.context.trace_id == request.context.trace_id


def test_telemetry_settings_are_checked(options: dict[str, Any], otel: Otel) -> None:
    from streamstraight_server import ConfigurationError

    with pytest.raises(ConfigurationError, match="telemetry must be"):
        Streamstraight(**options, telemetry="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="drop one of them"):
        AsyncStreamstraight(**options, telemetry=False, tracer_provider=otel.tracer_provider)
