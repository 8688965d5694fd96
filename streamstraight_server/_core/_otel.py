"""The OpenTelemetry side of ``telemetry.py``; imported only when telemetry is on.

Names follow OpenTelemetry's semantic-convention style: a ``streamstraight.producer``
namespace, units in ``unit`` rather than in names, ``{chunk}`` and ``By`` for counts and bytes,
seconds for durations, ``error.type`` and ``server.address``/``server.port`` as attributes.
The stream id is an attribute of the span only: it would make metric series unbounded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .stats import StreamCounters, WriterStats
from .version import sdk_version

SCOPE = "streamstraight_server"
SPAN_NAME = "streamstraight.stream"
#: seconds; OpenTelemetry's default buckets are made for milliseconds
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
STREAM_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

ATTR_STREAM_ID = "streamstraight.stream.id"
ATTR_OUTCOME = "streamstraight.stream.outcome"
ATTR_ERROR_TYPE = "error.type"


class OtelTelemetry:
    """The instruments of one client, created once; a ``_Trace`` per stream."""

    def __init__(self, base_url: str, tracer_provider: Any, meter_provider: Any) -> None:
        version = sdk_version()
        self.tracer = (
            tracer_provider.get_tracer(SCOPE, version)
            if tracer_provider is not None
            else trace.get_tracer(SCOPE, version)
        )
        meter = (
            meter_provider.get_meter(SCOPE, version)
            if meter_provider is not None
            else metrics.get_meter(SCOPE, version)
        )
        parts = urlsplit(base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.server: dict[str, Any] = {"server.address": parts.hostname or "", "server.port": port}
        ns = "streamstraight.producer"
        self.sent_chunks = meter.create_counter(
            f"{ns}.sent.chunks", "{chunk}", "Chunks handed to Streamstraight (resends excluded)"
        )
        self.confirmed_chunks = meter.create_counter(
            f"{ns}.confirmed.chunks", "{chunk}", "Chunks Streamstraight confirmed it stores"
        )
        self.resent_chunks = meter.create_counter(
            f"{ns}.resent.chunks", "{chunk}", "Chunks sent again after a reconnect"
        )
        self.sent_bytes = meter.create_counter(
            f"{ns}.sent.bytes", "By", "UTF-8 bytes of the chunks handed to Streamstraight"
        )
        self.confirmed_bytes = meter.create_counter(
            f"{ns}.confirmed.bytes", "By", "UTF-8 bytes of the chunks Streamstraight confirmed"
        )
        self.resent_bytes = meter.create_counter(
            f"{ns}.resent.bytes", "By", "UTF-8 bytes of the chunks sent again after a reconnect"
        )
        self.streams = meter.create_counter(
            f"{ns}.streams", "{stream}", "Streams written, by outcome"
        )
        self.ack_duration = meter.create_histogram(
            f"{ns}.ack.duration",
            "s",
            "Time from sending a chunk to its confirmation (one chunk in 16 is measured)",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.first_confirm = meter.create_histogram(
            f"{ns}.time_to_first_confirm",
            "s",
            "Time from opening a stream to the confirmation of its first chunk",
            explicit_bucket_boundaries_advisory=STREAM_BUCKETS,
        )
        self.stream_duration = meter.create_histogram(
            f"{ns}.stream.duration",
            "s",
            "Time from opening a stream to its end",
            explicit_bucket_boundaries_advisory=STREAM_BUCKETS,
        )

    def start(self, stream_id: str) -> _Trace:
        span = self.tracer.start_span(
            SPAN_NAME,
            kind=SpanKind.PRODUCER,
            attributes={ATTR_STREAM_ID: stream_id, **self.server},
        )
        return _Trace(self, span)


class _Trace:
    __slots__ = ("_span", "_telemetry")

    def __init__(self, telemetry: OtelTelemetry, span: trace.Span) -> None:
        self._telemetry = telemetry
        self._span = span

    def event(self, name: str, attributes: dict[str, Any]) -> None:
        self._span.add_event(name, attributes)

    def end(
        self, stats: WriterStats, counters: StreamCounters, error: BaseException | None
    ) -> None:
        telemetry, span = self._telemetry, self._span
        outcome = stats.outcome or "abandoned"
        labels: dict[str, Any] = {**telemetry.server, ATTR_OUTCOME: outcome}
        if error is not None:
            labels[ATTR_ERROR_TYPE] = type(error).__name__
        span.set_attributes(
            {
                ATTR_OUTCOME: outcome,
                "streamstraight.chunks.sent": stats.chunks_sent,
                "streamstraight.chunks.confirmed": stats.chunks_confirmed,
                "streamstraight.chunks.resent": stats.chunks_resent,
                "streamstraight.bytes.sent": stats.bytes_sent,
                "streamstraight.stream.reconnects": stats.reconnects,
            }
        )
        if error is not None:
            span.set_attribute(ATTR_ERROR_TYPE, type(error).__name__)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, str(error)))
        span.end()
        telemetry.streams.add(1, labels)
        for counter, value in (
            (telemetry.sent_chunks, stats.chunks_sent),
            (telemetry.confirmed_chunks, stats.chunks_confirmed),
            (telemetry.resent_chunks, stats.chunks_resent),
            (telemetry.sent_bytes, stats.bytes_sent),
            (telemetry.confirmed_bytes, stats.bytes_confirmed),
            (telemetry.resent_bytes, stats.bytes_resent),
        ):
            if value:
                counter.add(value, labels)
        for latency in counters.latencies():
            telemetry.ack_duration.record(latency, labels)
        if stats.time_to_first_confirm is not None:
            telemetry.first_confirm.record(stats.time_to_first_confirm, labels)
        telemetry.stream_duration.record(stats.duration, labels)
