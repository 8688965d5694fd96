"""The paced workloads on threads: a thread per stream, started at the stream's slot, as a
threaded WSGI server runs its requests. A contender gives an opener: a stream id in, a context
manager out whose value has ``send(chunk)``, and whose exit ends the stream and waits for the
server's answer (as ``with client.stream_writer(...)`` does).

The main thread starts the streams' threads and samples the process's threads meanwhile. Those
threads are daemons: one still running at the deadline is counted as unfinished and left behind
(the child process exits without waiting for it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from _measure import chunk_list, chunk_text, now
from _paced import SAMPLE_EVERY, WIND_DOWN, LoadRun, Plan


class Sender(Protocol):
    def send(self, chunk: str, /) -> object: ...


Opener = Callable[[str], AbstractContextManager[Sender]]


def until(moment: float) -> None:
    """Sleep until ``moment`` (a ``now()`` reading); return at once when late."""
    delay = moment - now()
    if delay > 0:
        time.sleep(delay)


def bounded(close: Callable[[], object], timeout: float = WIND_DOWN) -> None:
    """Call ``close`` on a daemon thread and wait ``timeout`` seconds at most for it."""

    def guarded() -> None:
        try:
            close()
        except Exception:
            pass

    thread = threading.Thread(target=guarded, name="bench-close", daemon=True)
    thread.start()
    thread.join(timeout)


class _Ready:
    """Counts the streams that are open (or failed to open); set once every one is."""

    def __init__(self, total: int) -> None:
        self._lock = threading.Lock()
        self.left = total
        self.all = threading.Event()
        if total == 0:
            self.all.set()

    def arrive(self) -> bool:
        with self._lock:
            self.left -= 1
            if self.left == 0:
                self.all.set()
        return True


class _Crowd:
    """The app's own threads: one per stream, counted while they run."""

    def __init__(self, run: LoadRun) -> None:
        self.run = run
        self._lock = threading.Lock()
        self.alive = 0
        self.left = run.plan.streams
        self.done = threading.Event()
        if self.left == 0:
            self.done.set()

    @property
    def app_threads(self) -> int:
        return self.alive + 1  # and the main thread

    def _ended(self) -> None:
        with self._lock:
            self.alive -= 1
            self.left -= 1
            if self.left == 0:
                self.done.set()

    def _body(self, one: Callable[[int], None], i: int) -> None:
        self.run.streams[i].began = now()
        try:
            one(i)
        except Exception as exc:
            self.run.failed(i, exc)
        finally:
            self._ended()

    def sample(self) -> None:
        self.run.peaks.sample(self.app_threads)

    def launch(self, one: Callable[[int], None]) -> None:
        """Start ``one(i)`` on a thread of its own at each stream's slot, sampling meanwhile."""
        next_sample = now()
        for i, record in enumerate(self.run.streams):
            while (moment := now()) < record.due:
                if moment >= next_sample:
                    self.sample()
                    next_sample = moment + SAMPLE_EVERY
                time.sleep(max(0.0, min(record.due, next_sample) - moment))
            with self._lock:
                self.alive += 1
            thread = threading.Thread(
                target=self._body, args=(one, i), name=f"bench-stream-{i}", daemon=True
            )
            try:
                thread.start()
            except RuntimeError as exc:  # can't start new thread: the stream fails, not the run
                self.run.failed(i, exc)
                self._ended()

    def wait(self, event: threading.Event, deadline: float) -> None:
        """Sample until ``event`` is set or ``deadline`` (a ``now()`` reading) passes."""
        while not event.wait(max(0.0, min(SAMPLE_EVERY, deadline - now()))):
            self.sample()
            if now() >= deadline:
                return


def llm(opener: Opener, stream_id: str, plan: Plan) -> dict[str, Any]:
    """Streams of ``plan.count`` chunks at ``plan.rate`` chunks a second, opened on schedule."""
    chunks = chunk_list(plan.count, plan.size)
    run = LoadRun(plan)
    crowd = _Crowd(run)

    def one(i: int) -> None:
        record = run.streams[i]
        with opener(f"{stream_id}-{i}") as writer:
            start = record.writable = now()
            for k, chunk in enumerate(chunks):
                until(start + k * plan.interval)
                writer.send(chunk)
            until(start + plan.paced)
        record.done = now()

    crowd.launch(one)
    crowd.wait(crowd.done, run.deadline)
    run.finish()
    return run.result(plan.paced)


def idle(opener: Opener, stream_id: str, plan: Plan) -> dict[str, Any]:
    """Writers opened on schedule, silent for ``plan.idle`` seconds once all are open, then one
    chunk each and the end."""
    run = LoadRun(plan)
    crowd = _Crowd(run)
    ready = _Ready(plan.streams)
    go = threading.Event()

    def one(i: int) -> None:
        record = run.streams[i]
        arrived = False
        try:
            with opener(f"{stream_id}-{i}") as writer:
                record.writable = now()
                arrived = ready.arrive()
                go.wait()  # a daemon: left waiting when the deadline passes first
                writer.send(chunk_text(0, plan.size))
            record.done = now()
        finally:
            if not arrived:
                ready.arrive()

    crowd.launch(one)
    crowd.wait(ready.all, run.deadline)
    run.begin_idle()
    end = now() + plan.idle
    while (moment := now()) < min(end, run.deadline):
        run.idle_peaks.sample(crowd.app_threads)
        crowd.sample()
        time.sleep(max(0.0, min(SAMPLE_EVERY * 5, end - moment, run.deadline - moment)))
    if now() < run.deadline:  # as on asyncio, a window cut short by the deadline is no figure
        run.end_idle()
        go.set()
        crowd.wait(crowd.done, run.deadline)
    run.finish()
    return run.result(None)
