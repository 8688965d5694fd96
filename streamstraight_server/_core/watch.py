"""Watching streams: each writer's figures and events, and the client's totals.

A ``StreamWatch`` per writer holds its counters (``stats.py``), its telemetry trace when
telemetry is on, and its outcome. ``WatchedMachine`` is the stream machine as the session
drives it, reporting the transitions worth an event (drop, resume, data loss, failure) by
comparing the state around the machine's own event methods; ``ack`` is not touched. A
``WatchHub`` per client keeps the live watches and the totals of finished ones.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .errors import DataLossError, StreamstraightServerError
from .machine import State, StreamMachine
from .protocol import ProducerEndReason
from .stats import (
    ABANDONED,
    DELIVERED,
    FAILED,
    PRODUCER_ERROR,
    STOPPED,
    ClientStats,
    StreamCounters,
    Totals,
    WriterStats,
    percentile,
)
from .telemetry import StreamTrace, TelemetryChoice

logger = logging.getLogger("streamstraight_server")

EVENT_DROPPED = "streamstraight.connection.dropped"
EVENT_RESUMED = "streamstraight.stream.resumed"
EVENT_DATA_LOSS = "streamstraight.stream.data_loss"
EVENT_STOPPED = "streamstraight.stream.stopped"


class WatchHub:
    """A client's writers as a whole: the live ones, the totals of the finished ones, and
    the telemetry setting."""

    def __init__(self, telemetry: TelemetryChoice) -> None:
        self.telemetry = telemetry
        self._lock = threading.Lock()
        self._live: set[StreamWatch] = set()
        self._totals = Totals()
        self._started = 0

    def watch(self, stream_id: str, now: float) -> StreamWatch:
        watch = StreamWatch(stream_id, now, self)
        with self._lock:
            self._live.add(watch)
            self._started += 1
        return watch

    def _finished(self, watch: StreamWatch, stats: WriterStats) -> None:
        failure = type(watch.error).__name__ if watch.error is not None else None
        with self._lock:
            self._live.discard(watch)
            self._totals.add(stats, failure)

    def snapshot(self) -> ClientStats:
        with self._lock:
            live = list(self._live)
        figures = [(watch, watch.stats()) for watch in live]
        with self._lock:
            # a writer that finished meanwhile is in the totals already
            still_live = [stats for watch, stats in figures if watch in self._live]
            return self._totals.snapshot(still_live, self._started)


class StreamWatch:
    """One writer's figures, outcome and trace."""

    def __init__(self, stream_id: str, now: float, hub: WatchHub | None = None) -> None:
        self.stream_id = stream_id
        self.counters = StreamCounters(now)
        self.stopped = False
        self.end_reason: ProducerEndReason | None = None
        self.error: StreamstraightServerError | None = None
        self.outcome: str | None = None
        self._hub = hub
        self._machine: StreamMachine | None = None
        self._guard: Any = None
        self._ended_at: float | None = None
        self._trace: StreamTrace | None = None
        telemetry = hub.telemetry.current() if hub is not None else None
        if telemetry is not None:
            try:
                self._trace = telemetry.start(stream_id)
            except Exception:
                logger.exception("stream %r: telemetry could not start a span", stream_id)

    def attach(self, machine: StreamMachine, guard: Any) -> None:
        """The machine whose figures these are, and the lock its state is read under."""
        self._machine, self._guard = machine, guard

    # -- events (per event, never per chunk) ------------------------------------------

    def _event(self, name: str, attributes: dict[str, Any]) -> None:
        trace = self._trace
        if trace is not None:
            try:
                trace.event(name, attributes)
            except Exception:
                logger.exception("stream %r: telemetry failed on %s", self.stream_id, name)

    def dropped(self, confirmed: int, sent: int) -> None:
        self.counters.drops += 1
        self._event(
            EVENT_DROPPED,
            {"streamstraight.chunks.confirmed": confirmed, "streamstraight.chunks.sent": sent},
        )

    def resumed(self, confirmed: int, sent: int) -> None:
        self.counters.reconnects += 1
        self._event(
            EVENT_RESUMED,
            {"streamstraight.chunks.confirmed": confirmed, "streamstraight.chunks.sent": sent},
        )

    def resent(self, chunks: int, size: int) -> None:
        self.counters.chunks_resent += chunks
        self.counters.bytes_resent += size

    def failed(self, error: StreamstraightServerError) -> None:
        self.error = error
        if isinstance(error, DataLossError):
            first, last = error.missing
            self._event(
                EVENT_DATA_LOSS,
                {
                    "streamstraight.missing.first_seq": first,
                    "streamstraight.missing.last_seq": last,
                },
            )

    def stop_requested(self, reason: ProducerEndReason, final_chunk: bool) -> None:
        self.stopped = True
        self._event(
            EVENT_STOPPED,
            {"streamstraight.stop.reason": reason, "streamstraight.stop.final_chunk": final_chunk},
        )

    # -- figures ------------------------------------------------------------------------

    def stats(self) -> WriterStats:
        machine = self._machine
        counters = self.counters
        if machine is None:
            return _empty(self.stream_id)
        with self._guard:
            window = machine.window
            base = window.base
            sent, confirmed = window.sent, window.acked_through
            unconfirmed = window.chunks_from(confirmed) if confirmed < sent else []
            state = machine.state.value
        latencies = counters.latencies()
        end = self._ended_at if self._ended_at is not None else time.monotonic()
        bytes_sent = counters.bytes_sent
        return WriterStats(
            stream_id=self.stream_id,
            state=state,
            outcome=self.outcome,
            chunks_sent=sent - base,
            chunks_confirmed=max(0, confirmed - base),
            chunks_resent=counters.chunks_resent,
            bytes_sent=bytes_sent,
            bytes_confirmed=max(0, bytes_sent - sum(c.size for c in unconfirmed)),
            bytes_resent=counters.bytes_resent,
            drops=counters.drops,
            reconnects=counters.reconnects,
            duration=max(0.0, end - counters.started_at),
            time_to_first_confirm=counters.time_to_first_confirm,
            ack_latency_p50=percentile(latencies, 0.5),
            ack_latency_p99=percentile(latencies, 0.99),
        )

    def finish(self, now: float) -> None:
        """The stream is over (ended, failed or closed): fix its outcome, end its span and
        fold its figures into the client's totals. Once; later calls do nothing."""
        machine = self._machine
        if self.outcome is not None or machine is None:
            return
        state = machine.state
        if state is State.ENDED:
            if self.stopped:
                self.outcome = STOPPED
            else:
                self.outcome = DELIVERED if self.end_reason == "completed" else PRODUCER_ERROR
        elif state is State.FAILED:
            self.outcome = FAILED
            self.error = self.error or machine.error
        else:
            self.outcome = ABANDONED
        self._ended_at = now
        stats = self.stats()
        trace, self._trace = self._trace, None
        if trace is not None:
            try:
                trace.end(stats, self.counters, self.error if self.outcome == FAILED else None)
            except Exception:
                logger.exception("stream %r: telemetry failed at the end", self.stream_id)
        if self._hub is not None:
            self._hub._finished(self, stats)


def _empty(stream_id: str) -> WriterStats:
    return WriterStats(
        stream_id=stream_id,
        state="not started",
        outcome=None,
        chunks_sent=0,
        chunks_confirmed=0,
        chunks_resent=0,
        bytes_sent=0,
        bytes_confirmed=0,
        bytes_resent=0,
        drops=0,
        reconnects=0,
        duration=0.0,
        time_to_first_confirm=None,
        ack_latency_p50=None,
        ack_latency_p99=None,
    )
