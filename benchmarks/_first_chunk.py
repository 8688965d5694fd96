"""What the first-chunk workload's contenders share in the child: the source, the clock marks,
and the result each prints. No Streamstraight SDK is imported here, so the official SDK's venv
can import it too.

A run writes one stream through the delaying proxy (``_proxy.py``). ``t0`` is read just before
the app enters the writer (for the official SDK, before its ``connect``, which its API requires
before a writer). Inside the writer the app starts its source, a model whose first chunk is
ready ``delay`` after the source starts (its time to first token), and sends each chunk as it
comes. The sink stamps the time it stored chunk 0 (``firstChunkAt``, ms since the epoch), so
the child reports ``t0`` on the same wall clock (the machine's: same clock, same machine).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from _measure import chunk_list, now


def epoch_ms() -> float:
    """The wall clock in ms since the epoch, as the sink's ``Date.now()`` reads it."""
    return time.time() * 1e3


class Marks:
    """One run's clock readings, from ``t0``: the writer entered, the source started, chunk 0
    ready, its ``send()`` returned, the writer closed (END answered)."""

    def __init__(self) -> None:
        self.t0_ms = epoch_ms()
        self.t0 = now()
        self.entered: float | None = None
        self.source: float | None = None
        self.ready: float | None = None
        self.sent: float | None = None
        self.closed: float | None = None

    def since(self) -> float:
        """ms since ``t0``."""
        return (now() - self.t0) * 1e3

    def mark_entered(self) -> None:
        self.entered = self.since()

    def mark_sent(self) -> None:
        if self.sent is None:
            self.sent = self.since()

    def mark_closed(self) -> None:
        self.closed = self.since()

    def result(self, handshake: float, sdk: str) -> dict[str, Any]:
        """``handshake`` in seconds; ``sdk`` the file the SDK was imported from."""
        return {
            "t0_ms": self.t0_ms,
            "entered_ms": self.entered,
            "source_ms": self.source,
            "ready_ms": self.ready,
            "sent_ms": self.sent,
            "closed_ms": self.closed,
            "handshake_ms": handshake * 1e3,
            "sdk": sdk,
        }


async def source_async(marks: Marks, delay: float, count: int, size: int) -> AsyncIterator[str]:
    """A model's answer: chunk 0 ``delay`` seconds after the source starts, the rest at once."""
    marks.source = marks.since()
    if delay > 0:
        await asyncio.sleep(delay)
    marks.ready = marks.since()
    for chunk in chunk_list(count, size):
        yield chunk


def source_blocking(marks: Marks, delay: float, count: int, size: int) -> Iterator[str]:
    marks.source = marks.since()
    if delay > 0:
        time.sleep(delay)
    marks.ready = marks.since()
    yield from chunk_list(count, size)
