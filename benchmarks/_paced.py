"""What the paced workloads (``llm``, ``idle``) share: the plan, one record per stream, the
process's threads, and the result every contender reports. No Streamstraight SDK is imported
here, so the official SDK's venv can import it too.

A stream is opened at its slot in the plan (``i / open_rate`` seconds after the run starts).
In the ``llm`` workload it is paced from the moment it is writable: chunk ``k`` is due at
``writable + k / rate`` and the end at ``writable + count / rate``, an absolute schedule, so a
late chunk is sent at once and lateness never accumulates as sleep error. Its slip is the time
from writable until its writer closed (END answered) over that paced ``count / rate``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from _measure import cpu, now, peak_rss_kb, proc_status, rss_kb, usage

#: the paced workloads, each a function ``<workload>_<flavour>`` of every contender's module
WORKLOADS = ("llm", "idle")
#: how often the driver samples the process's threads (seconds)
SAMPLE_EVERY = 0.1
#: how long a driver waits for cancelled or abandoned streams to wind down after its deadline
WIND_DOWN = 10.0
#: the label of a stream still running when the run's deadline passed
UNFINISHED = "Unfinished (still running at the harness deadline)"


@dataclass(frozen=True)
class Plan:
    """One paced run: ``streams`` streams opened ``open_rate`` a second, ``count`` chunks of
    ``size`` bytes each at ``rate`` chunks a second (``llm``), or silent for ``idle`` seconds
    once every stream is open (``idle``); everything left after ``deadline`` seconds fails."""

    streams: int
    count: int
    rate: float
    open_rate: float
    size: int
    idle: float
    deadline: float

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def paced(self) -> float:
        """How long a stream lasts at its pace, from writable to its end."""
        return self.count / self.rate

    def opens_at(self, i: int) -> float:
        return i / self.open_rate


@dataclass
class StreamRecord:
    """One stream's clock readings (``now()``): its slot, when its task or thread began to open
    it, when it was writable and when its writer closed; and, if it raised, the exception's
    type."""

    due: float
    began: float | None = None
    writable: float | None = None
    done: float | None = None
    error: str | None = None
    detail: str = ""


def proc_threads() -> int:
    """Threads of this process, as the kernel counts them (every library's included)."""
    return proc_status("Threads") or 0


class ThreadPeaks:
    """The most threads seen, and the most beyond the app's own (its per-stream threads and
    its main thread: what is left is the SDK's, or the runtime's, threads)."""

    def __init__(self) -> None:
        self.total = 0
        self.beyond_app = 0
        self.app = 0

    def sample(self, app_threads: int) -> None:
        total = proc_threads()
        self.total = max(self.total, total)
        self.beyond_app = max(self.beyond_app, total - app_threads)
        self.app = max(self.app, app_threads)

    def result(self) -> dict[str, int]:
        return {"threads": self.total, "sdk_threads": self.beyond_app, "app_threads": self.app}


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1), interpolated between the nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans open at one instant."""
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    most = open_now = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most


class LoadRun:
    """The streams of one paced run, the process's marks (start, end, idle window) and its
    thread peaks. Drivers fill it in; ``result()`` is what the contender prints."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.start = (now(), cpu())
        self.end = self.start
        self.start_usage = self.end_usage = usage()
        self.streams = [StreamRecord(self.start[0] + plan.opens_at(i)) for i in range(plan.streams)]
        self.peaks = ThreadPeaks()
        self.idle_peaks = ThreadPeaks()
        self.idle_start: tuple[float, float] | None = None
        self.idle_end: tuple[float, float] | None = None
        self.idle_rss_kb = 0

    @property
    def deadline(self) -> float:
        return self.start[0] + self.plan.deadline

    def failed(self, i: int, exc: BaseException) -> None:
        record = self.streams[i]
        if record.error is None:
            record.error = type(exc).__name__
            record.detail = str(exc)[:200]

    def finish(self) -> None:
        """The end of the measured window: every stream done, or the deadline."""
        self.end = (now(), cpu())
        self.end_usage = usage()
        for record in self.streams:
            if record.done is None and record.error is None:
                record.error = UNFINISHED

    def begin_idle(self) -> None:
        self.idle_start = (now(), cpu())

    def end_idle(self) -> None:
        self.idle_end = (now(), cpu())
        self.idle_rss_kb = rss_kb()

    def result(self, paced: float | None) -> dict[str, Any]:
        """Figures of the run; ``paced`` (the ``llm`` workload) adds every stream's slip."""
        ok = [r for r in self.streams if r.error is None and r.writable and r.done]
        opens = [(r.writable - r.began) * 1e3 for r in self.streams if r.writable and r.began]
        lags = [(r.began - r.due) * 1e3 for r in self.streams if r.began is not None]
        spans = [(r.writable, r.done or self.end[0]) for r in self.streams if r.writable]
        errors = Counter(r.error for r in self.streams if r.error is not None)
        examples: dict[str, str] = {}
        for record in self.streams:
            if record.error is not None and record.error not in examples:
                examples[record.error] = record.detail
        wall, used = self.end[0] - self.start[0], self.end[1] - self.start[1]
        result: dict[str, Any] = {
            "streams": len(self.streams),
            "wall": wall,
            "cpu": used,
            "cpu_kernel": self.end_usage[0] - self.start_usage[0],
            "switches": self.end_usage[1] - self.start_usage[1],
            "open_p50_ms": percentile(opens, 0.5),
            "open_p99_ms": percentile(opens, 0.99),
            "lag_p50_ms": percentile(lags, 0.5),
            "lag_p99_ms": percentile(lags, 0.99),
            "most_open": most_at_once(spans),
            "rss_peak_kb": peak_rss_kb(),
            "failures": sum(errors.values()),
            "errors": dict(errors.most_common()),
            "error_examples": examples,
            "raised": [i for i, r in enumerate(self.streams) if r.error is not None],
            **self.peaks.result(),
        }
        if paced is not None:
            slips = [(r.done - r.writable) / paced for r in ok if r.done and r.writable]
            result.update(
                slip_p50=percentile(slips, 0.5),
                slip_p99=percentile(slips, 0.99),
                slip_max=max(slips, default=None),
            )
        if self.idle_start is not None and self.idle_end is not None:
            result.update(
                idle_wall=self.idle_end[0] - self.idle_start[0],
                idle_cpu=self.idle_end[1] - self.idle_start[1],
                idle_rss_kb=self.idle_rss_kb,
                idle_threads=self.idle_peaks.total,
                idle_sdk_threads=self.idle_peaks.beyond_app,
            )
        return result
