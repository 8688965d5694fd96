"""What every Python contender shares: the chunks, the clocks, memory readings, the handshake.

Nothing here imports a Streamstraight SDK, so the official SDK's venv can import it too.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    url: str
    key: str


def chunk_text(i: int, size: int) -> str:
    """A chunk whose compact JSON encoding is ``size`` characters long (at least 10)."""
    head = f"t{i:07d}"
    return head + "x" * max(0, size - 2 - len(head))


def chunk_list(count: int, size: int) -> list[str]:
    return [chunk_text(i, size) for i in range(count)]


def chunk_stream(count: int, size: int) -> Iterator[str]:
    """Chunks made as they are sent, so a long stream costs no memory of its own."""
    return (chunk_text(i, size) for i in range(count))


def encode(chunk: str) -> str:
    return json.dumps(chunk, separators=(",", ":"))


def now() -> float:
    return time.perf_counter()


def cpu() -> float:
    """CPU seconds of the whole process, every thread included."""
    return time.process_time()


def usage() -> tuple[float, int]:
    """The process's kernel CPU seconds and its context switches (voluntary and not), every
    thread included."""
    self = resource.getrusage(resource.RUSAGE_SELF)
    return self.ru_stime, self.ru_nvcsw + self.ru_nivcsw


def proc_status(field: str) -> int | None:
    """A number from /proc/self/status (``VmRSS`` and ``VmHWM`` in kB, ``Threads``)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_kb() -> int:
    """Resident memory now (VmRSS)."""
    now_kb = proc_status("VmRSS")
    return now_kb if now_kb is not None else peak_rss_kb()


def peak_rss_kb() -> int:
    """The peak resident memory so far (VmHWM, which the kernel keeps exact, unlike
    ``ru_maxrss`` that lags until it is next updated)."""
    peak = proc_status("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def handshake(target: Target, stream_id: str) -> dict[str, Any]:
    """Keyword arguments of python-socketio's ``connect()`` for a stream-v1 producer."""
    return {
        "url": target.url,
        "headers": {"Authorization": f"Bearer {target.key}"},
        "auth": {
            "role": "producer",
            "streamId": stream_id,
            "version": "stream-v1",
            "sdkVersion": "bench",
        },
        "transports": ["websocket"],
        "wait_timeout": 10,
    }


class Phases:
    """Wall and CPU marks of one run: start, writable, first send returned, stream confirmed."""

    def __init__(self) -> None:
        self.start = (now(), cpu())
        self.writable = self.start
        self.first_send = 0.0
        self.done = self.start

    def mark_writable(self) -> None:
        self.writable = (now(), cpu())

    def mark_first_send(self) -> None:
        self.first_send = now() - self.start[0]

    def mark_done(self) -> None:
        self.done = (now(), cpu())

    def result(self, confirmed: int | None) -> dict[str, Any]:
        return {
            "connect_wall": self.writable[0] - self.start[0],
            "connect_cpu": self.writable[1] - self.start[1],
            "first_send": self.first_send,
            "wall": self.done[0] - self.writable[0],
            "cpu": self.done[1] - self.writable[1],
            "confirmed": confirmed,
            "rss_peak_kb": peak_rss_kb(),
        }


class MemoryWatch:
    """RSS after connecting, at a tenth of the stream, and the peak; the largest window seen."""

    def __init__(self, count: int) -> None:
        self.tenth = max(1, count // 10)
        self.rss_start_kb = rss_kb()
        self.rss_tenth_kb = 0
        self.max_in_flight = 0

    def observe(self, i: int, in_flight: int) -> None:
        if i % 1000 == 0 and in_flight > self.max_in_flight:
            self.max_in_flight = in_flight
        if i == self.tenth:
            self.rss_tenth_kb = rss_kb()

    def result(self) -> dict[str, Any]:
        return {
            "rss_start_kb": self.rss_start_kb,
            "rss_tenth_kb": self.rss_tenth_kb,
            "rss_peak_kb": peak_rss_kb(),
            "max_in_flight": self.max_in_flight,
        }
