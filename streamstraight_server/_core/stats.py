"""What a writer and a client have done: counters cheap enough for the per-chunk path.

Per chunk, ``send()`` adds the chunk's size to one integer and compares its seq with one
threshold, and each ``producer:ack`` costs one comparison. Chunk counts come from the window
(``sent``, ``confirmed``) when the figures are read. Ack latency is measured on one chunk in
``ACK_SAMPLE_EVERY`` (at most ``ACK_PENDING`` in flight at once) and kept in a ring of the last
``ACK_SAMPLES`` samples: no structure grows with the stream. The session calls ``sample`` and
``samples_confirmed`` under its guard, as it does the machine's ``send`` and ``ack``.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: every this many chunks, one chunk's time from send() to its ack is measured
ACK_SAMPLE_EVERY = 16
#: how many of the latest latency samples are kept
ACK_SAMPLES = 256
#: at most this many sampled chunks await their ack at once (a burst samples no more)
ACK_PENDING = 8
_NOT_SAMPLING = sys.maxsize

#: outcomes of a stream, as ``WriterStats.outcome`` and the ``streams`` metric name them
DELIVERED = "delivered"  # END confirmed, reason completed
STOPPED = "stopped"  # stopped by cancel(), END confirmed
PRODUCER_ERROR = "producer-error"  # ended with producer-error (the source or the app raised)
FAILED = "failed"  # Streamstraight failed the stream (see the error)
ABANDONED = "abandoned"  # closed without END (client closed, or the writer left open)


class StreamCounters:
    """The mutable counters of one writer; see the module for what each step costs."""

    __slots__ = (
        "_latencies",
        "_pending",
        "_samples",
        "bytes_resent",
        "bytes_sent",
        "chunks_resent",
        "drops",
        "first_confirm_at",
        "next_sample",
        "reconnects",
        "sample_seq",
        "started_at",
    )

    def __init__(self, now: float) -> None:
        self.started_at = now
        self.bytes_sent = 0
        self.chunks_resent = 0
        self.bytes_resent = 0
        self.drops = 0
        self.reconnects = 0
        #: send() samples the chunk whose seq reaches this (the first chunk is always sampled)
        self.next_sample = 0
        #: the oldest sampled chunk awaiting its ack; an ack confirming beyond it completes it
        self.sample_seq = _NOT_SAMPLING
        self._pending: deque[tuple[int, float]] = deque()
        self.first_confirm_at: float | None = None
        self._latencies = [0.0] * ACK_SAMPLES
        self._samples = 0

    def sample(self, seq: int, now: float) -> None:
        """Chunk ``seq`` is about to be emitted: time it until it is confirmed."""
        self.next_sample = seq + ACK_SAMPLE_EVERY
        pending = self._pending
        if len(pending) < ACK_PENDING:
            pending.append((seq, now))
            if len(pending) == 1:
                self.sample_seq = seq

    def samples_confirmed(self, confirmed: int, now: float) -> None:
        """The server confirmed seq ``0 .. confirmed - 1``: the samples below are complete."""
        pending = self._pending
        while pending and pending[0][0] < confirmed:
            _, sent_at = pending.popleft()
            self._latencies[self._samples % ACK_SAMPLES] = now - sent_at
            self._samples += 1
        if self.first_confirm_at is None:
            self.first_confirm_at = now
        self.sample_seq = pending[0][0] if pending else _NOT_SAMPLING

    def latencies(self) -> list[float]:
        """The kept latency samples (seconds), oldest first."""
        count = self._samples
        if count <= ACK_SAMPLES:
            return self._latencies[:count]
        start = count % ACK_SAMPLES
        return self._latencies[start:] + self._latencies[:start]

    @property
    def time_to_first_confirm(self) -> float | None:
        first = self.first_confirm_at
        return None if first is None else first - self.started_at


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    # ceil(fraction * n) in integers: 0.99 * 100 in floats is a hair above 99
    rank = max(1, -(-round(fraction * 1000) * len(ordered) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class WriterStats:
    """A writer's figures at one moment (``writer.stats``). Durations are seconds.

    ``chunks_confirmed`` and ``bytes_confirmed`` are what the server confirmed; a stream whose
    END was confirmed has every chunk confirmed. Ack latency is measured on one chunk in 16
    (the latest 256 samples); ``None`` where nothing was measured (no chunk confirmed yet, or
    a server that confirms only END).
    """

    stream_id: str
    state: str
    outcome: str | None
    chunks_sent: int
    chunks_confirmed: int
    chunks_resent: int
    bytes_sent: int
    bytes_confirmed: int
    bytes_resent: int
    drops: int
    reconnects: int
    duration: float
    time_to_first_confirm: float | None
    ack_latency_p50: float | None
    ack_latency_p99: float | None


@dataclass(frozen=True)
class ClientStats:
    """A client's figures at one moment (``client.stats()``).

    Totals count every writer the client opened, the live ones included; ``failures`` counts
    failed streams by the error's class name (``"ConnectError"``, ``"AckTimeoutError"``, ...).
    """

    live_writers: int
    streams: int
    delivered: int
    stopped: int
    producer_errors: int
    failed: int
    abandoned: int
    chunks_sent: int
    chunks_confirmed: int
    chunks_resent: int
    bytes_sent: int
    bytes_confirmed: int
    reconnects: int
    failures: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


class Totals:
    """Sums of finished writers' figures (kept by the client under its own lock)."""

    __slots__ = (
        "abandoned",
        "bytes_confirmed",
        "bytes_sent",
        "chunks_confirmed",
        "chunks_resent",
        "chunks_sent",
        "delivered",
        "failed",
        "failures",
        "producer_errors",
        "reconnects",
        "stopped",
        "streams",
    )

    def __init__(self) -> None:
        self.streams = self.delivered = self.stopped = self.producer_errors = 0
        self.failed = self.abandoned = 0
        self.chunks_sent = self.chunks_confirmed = self.chunks_resent = 0
        self.bytes_sent = self.bytes_confirmed = self.reconnects = 0
        self.failures: dict[str, int] = {}

    def add(self, stats: WriterStats, failure: str | None) -> None:
        """Fold in one writer's final figures."""
        self.chunks_sent += stats.chunks_sent
        self.chunks_confirmed += stats.chunks_confirmed
        self.chunks_resent += stats.chunks_resent
        self.bytes_sent += stats.bytes_sent
        self.bytes_confirmed += stats.bytes_confirmed
        self.reconnects += stats.reconnects
        outcome = stats.outcome
        if outcome == DELIVERED:
            self.delivered += 1
        elif outcome == STOPPED:
            self.stopped += 1
        elif outcome == PRODUCER_ERROR:
            self.producer_errors += 1
        elif outcome == FAILED:
            self.failed += 1
            if failure is not None:
                self.failures[failure] = self.failures.get(failure, 0) + 1
        else:
            self.abandoned += 1

    def snapshot(self, live: list[WriterStats], started: int) -> ClientStats:
        """These totals plus the figures of the writers still live."""
        return ClientStats(
            live_writers=len(live),
            streams=started,
            delivered=self.delivered,
            stopped=self.stopped,
            producer_errors=self.producer_errors,
            failed=self.failed,
            abandoned=self.abandoned,
            chunks_sent=self.chunks_sent + sum(s.chunks_sent for s in live),
            chunks_confirmed=self.chunks_confirmed + sum(s.chunks_confirmed for s in live),
            chunks_resent=self.chunks_resent + sum(s.chunks_resent for s in live),
            bytes_sent=self.bytes_sent + sum(s.bytes_sent for s in live),
            bytes_confirmed=self.bytes_confirmed + sum(s.bytes_confirmed for s in live),
            reconnects=self.reconnects + sum(s.reconnects for s in live),
            failures=MappingProxyType(dict(self.failures)),
        )
