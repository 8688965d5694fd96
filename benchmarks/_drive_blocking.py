"""The paced workloads on threads: a thread per stream, as a threaded WSGI server runs its
requests. A contender gives an opener: a stream id in, a context manager out whose value has
``send(chunk)``, and whose exit ends the stream and waits for the server's answer (as
``with client.stream_writer(...)`` does).

The app's threads are started before the run, as a threaded server's pool is, and each sleeps
until its stream's slot: started on the slot by a busy main thread, a thread can wait seconds
for the GIL just to begin, and the streams would no longer overlap as planned. The main thread
samples the process's threads meanwhile. The app's threads are daemons: one still running at
the deadline is counted as unfinished and left behind (the child exits without waiting).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from _measure import chunk_list, chunk_text, now
from _paced import SAMPLE_EVERY, WIND_DOWN, LoadRun, Plan, StreamRecord


class Sender(Protocol):
    def send(self, chunk: str, /) -> object: ...


Opener = Callable[[str], AbstractContextManager[Sender]]
#: one stream's work on its thread, from its slot: its record and its index
Body = Callable[[StreamRecord, int], None]


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


class _Pool:
    """The app's own threads, one per stream, started before the run and counted while they
    are alive; ``start()`` begins the run and lets each thread go at its stream's slot."""

    def __init__(self, plan: Plan, body: Body) -> None:
        self.plan = plan
        self._body = body
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._run: LoadRun | None = None
        self.alive = 0
        self.left = plan.streams
        self.done = threading.Event()
        self.unstarted: dict[int, RuntimeError] = {}
        for i in range(plan.streams):
            thread = threading.Thread(
                target=self._serve, args=(i,), name=f"bench-stream-{i}", daemon=True
            )
            with self._lock:
                self.alive += 1
            try:
                thread.start()
            except RuntimeError as exc:  # can't start new thread: the stream fails, not the run
                self.unstarted[i] = exc
                self._ended()
        if self.left == 0:
            self.done.set()

    @property
    def app_threads(self) -> int:
        return self.alive + 1  # and the main thread

    @property
    def run(self) -> LoadRun:
        assert self._run is not None
        return self._run

    def start(self) -> LoadRun:
        run = self._run = LoadRun(self.plan)
        for i, exc in self.unstarted.items():
            run.failed(i, exc)
        self._released.set()
        return run

    def _ended(self) -> None:
        with self._lock:
            self.alive -= 1
            self.left -= 1
            if self.left == 0:
                self.done.set()

    def _serve(self, i: int) -> None:
        try:
            self._released.wait()
            record = self.run.streams[i]
            until(record.due)
            record.began = now()
            try:
                self._body(record, i)
            except Exception as exc:
                self.run.failed(i, exc)
        finally:
            self._ended()

    def sample(self) -> None:
        self.run.peaks.sample(self.app_threads)

    def wait(self, event: threading.Event, deadline: float) -> None:
        """Sample until ``event`` is set or ``deadline`` (a ``now()`` reading) passes."""
        self.sample()
        while not event.wait(max(0.0, min(SAMPLE_EVERY, deadline - now()))):
            self.sample()
            if now() >= deadline:
                return


def llm(opener: Opener, stream_id: str, plan: Plan) -> dict[str, Any]:
    """Streams of ``plan.count`` chunks at ``plan.rate`` chunks a second, opened on schedule."""
    chunks = chunk_list(plan.count, plan.size)

    def one(record: StreamRecord, i: int) -> None:
        with opener(f"{stream_id}-{i}") as writer:
            start = record.writable = now()
            for k, chunk in enumerate(chunks):
                until(start + k * plan.interval)
                writer.send(chunk)
            until(start + plan.paced)
        record.done = now()

    pool = _Pool(plan, one)
    run = pool.start()
    pool.wait(pool.done, run.deadline)
    run.finish()
    return run.result(plan.paced)


def idle(opener: Opener, stream_id: str, plan: Plan) -> dict[str, Any]:
    """Writers opened on schedule, silent for ``plan.idle`` seconds once all are open, then one
    chunk each and the end."""
    ready = _Ready(plan.streams)
    go = threading.Event()

    def one(record: StreamRecord, i: int) -> None:
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

    pool = _Pool(plan, one)
    for _ in pool.unstarted:
        ready.arrive()
    run = pool.start()
    pool.wait(ready.all, run.deadline)
    run.begin_idle()
    end = now() + plan.idle
    while (moment := now()) < min(end, run.deadline):
        run.idle_peaks.sample(pool.app_threads)
        pool.sample()
        time.sleep(max(0.0, min(SAMPLE_EVERY * 5, end - moment, run.deadline - moment)))
    if now() < run.deadline:  # as on asyncio, a window cut short by the deadline is no figure
        run.end_idle()
        go.set()
        pool.wait(pool.done, run.deadline)
    run.finish()
    return run.result(None)
