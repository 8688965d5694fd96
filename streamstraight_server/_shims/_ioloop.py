"""The blocking flavour's one I/O thread, shared by every connection of the process.

A thread per connection (a reader, a writer, a heartbeat: what python-socketio's threaded
client costs) does not survive a threaded server with hundreds of answers in flight: the
threads fight over the GIL and readers are starved until deadlines pass for answers that have
arrived. Here one thread reads every connection through a selector, runs the timers (heartbeats,
the handshake's deadline, the server's liveness) and wakes the writers; writers write on their
own threads.

The thread starts when there is work and ends when there has been none for a moment, so an
idle process holds no thread and no descriptor of ours. After ``fork()`` the child starts its
own (gunicorn's ``--preload``). Every primitive (thread, lock, selector, socket pair) is taken
when the loop starts, not at import, so gevent's or eventlet's monkey patching applies even
when it happens after this module was imported.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger("streamstraight_server.transport")

#: an idle loop keeps its thread this long before ending it (seconds)
LINGER = 0.25
#: how often the liveness of every connection is checked (seconds)
SWEEP_INTERVAL = 1.0
#: while messages come often, a pass begins this long after the previous one at the earliest
#: (seconds), so that one wake-up of the thread serves many messages
COALESCE = 0.005
#: bytes read from one connection per pass, so that one flooding server cannot starve the rest
READ_BUDGET = 256 * 1024


class Connection(Protocol):
    """What the loop drives: a non-blocking socket with its reader."""

    def fileno(self) -> int: ...

    def on_readable(self, budget: int) -> bool:
        """Read what has arrived (at most ``budget`` bytes); True if more may be waiting."""

    def on_writable(self) -> None: ...

    def check_alive(self, caught_up: float) -> None:
        """Everything that arrived by ``caught_up`` has been read: drop a silent server."""


def _nothing() -> None:
    pass


class Timer:
    """A callback the loop runs at ``when`` (and every ``interval`` after, if given)."""

    __slots__ = ("_loop", "callback", "cancelled", "interval", "when")

    def __init__(
        self, loop: IOLoop, when: float, callback: Callable[[], None], interval: float | None
    ) -> None:
        self._loop = loop
        self.when = when
        self.callback = callback
        self.interval = interval
        self.cancelled = False

    def cancel(self) -> None:
        self._loop._cancel(self)


class IOLoop:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._settled = threading.Condition(self._guard)
        self._calls: deque[Callable[[], None]] = deque()
        self._timers: list[tuple[float, int, Timer]] = []
        self._live_timers = 0  # not cancelled, the loop's own sweep excluded
        self._order = itertools.count()
        self._connections: dict[int, Connection] = {}
        self._writers: set[int] = set()
        self._thread: threading.Thread | None = None
        self._idle_since: float | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._woken = False
        self._wakes_at = 0.0  # when the loop's current wait ends at the latest
        self._last_pass = 0.0  # when the previous pass began
        self._coalescing = False
        self._answers_awaited = 0  # writers waiting for the server (see awaiting)
        #: everything readable when this pass began has been read (monotonic seconds)
        self.caught_up = 0.0
        self._passes = 0

    # -- from any thread -------------------------------------------------------------------

    def call(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop's thread soon."""
        with self._guard:
            self._calls.append(callback)
            self._ensure_running()
        self._wake()

    def run(self, callback: Callable[[], Any], timeout: float = 5.0) -> None:
        """Run ``callback`` on the loop's thread and wait for it (at most ``timeout``)."""
        if threading.current_thread() is self._thread:
            callback()
            return
        done = threading.Event()

        def wrapped() -> None:
            try:
                callback()
            finally:
                done.set()

        self.call(wrapped)
        if not done.wait(timeout):
            logger.warning("the I/O thread did not run a call within %gs", timeout)

    def schedule(
        self, delay: float, callback: Callable[[], None], *, every: float | None = None
    ) -> Timer:
        timer = Timer(self, time.monotonic() + delay, callback, every)
        with self._guard:
            heapq.heappush(self._timers, (timer.when, next(self._order), timer))
            self._live_timers += 1
            self._ensure_running()
            if timer.when < self._wakes_at:  # else the loop looks at its timers before then
                self._wake_locked()
        return timer

    def _cancel(self, timer: Timer) -> None:
        with self._guard:
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback = _nothing  # what it would have called can be freed now
                self._live_timers -= 1
                if len(self._timers) > 64 and len(self._timers) > 4 * self._live_timers:
                    # cancelled entries leave the heap lazily; too many of them, and it is rebuilt
                    self._timers = [entry for entry in self._timers if not entry[2].cancelled]
                    heapq.heapify(self._timers)
                if not self._live_timers and not self._connections:
                    self._wake_locked()  # the loop may have nothing left to do

    def settle(self, after: float, timeout: float) -> bool:
        """Wait until everything that arrived before ``after`` has been read; False if the loop
        did not get there within ``timeout`` (the process is starved, or the loop is gone)."""
        deadline = time.monotonic() + timeout
        with self._guard:
            while self.caught_up < after:
                if self._thread is None:
                    return True  # nothing is registered: nothing can be unread
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._woken = False
                self._wake_locked()
                self._settled.wait(min(left, 0.5))
        return True

    def awaiting(self, waiting: bool) -> None:
        """A writer starts (True) or stops (False) waiting for the server: while any waits,
        the loop makes no busy pause, so that the answer is read as it comes."""
        with self._guard:
            self._answers_awaited += 1 if waiting else -1
            if waiting and self._coalescing:
                self._wake_locked()

    def want_write(self, connection: Connection) -> None:
        """Call ``connection.on_writable`` once its socket can take more bytes."""
        self.call(lambda: self._watch_write(connection, True))

    def _ensure_running(self) -> None:
        if self._thread is not None:
            return
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._wake_selector = selectors.DefaultSelector()
        self._wake_selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._woken = False
        self._thread = threading.Thread(target=self._main, name="streamstraight-io", daemon=True)
        self._thread.start()

    def _wake(self) -> None:
        with self._guard:
            self._wake_locked()

    def _wake_locked(self) -> None:
        if self._woken or self._wake_w is None:
            return
        self._woken = True
        try:
            self._wake_w.send(b"\0")
        except OSError:  # the pipe is full: the loop is awake already
            pass

    # -- on the loop's thread ----------------------------------------------------------------

    def register(self, connection: Connection) -> None:
        fd = connection.fileno()
        assert self._selector is not None
        self._connections[fd] = connection
        self._selector.register(fd, selectors.EVENT_READ, connection)
        self._pending_read.add(fd)  # bytes may have arrived (or be held by TLS) already

    def unregister(self, connection: Connection) -> None:
        fd = connection.fileno()
        if self._connections.get(fd) is connection:
            del self._connections[fd]
            self._writers.discard(fd)
            self._pending_read.discard(fd)
            assert self._selector is not None
            try:
                self._selector.unregister(fd)
            except (KeyError, ValueError):
                pass

    def _watch_write(self, connection: Connection, on: bool) -> None:
        fd = connection.fileno()
        if self._connections.get(fd) is not connection or self._selector is None:
            return
        if on == (fd in self._writers):
            return
        if on:
            self._writers.add(fd)
        else:
            self._writers.discard(fd)
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if on else 0)
        self._selector.modify(fd, events, connection)

    _pending_read: set[int]

    def _main(self) -> None:
        self._pending_read = set()
        self._idle_since = None
        sweep = Timer(self, time.monotonic() + SWEEP_INTERVAL, self._sweep, SWEEP_INTERVAL)
        with self._guard:
            heapq.heappush(self._timers, (sweep.when, next(self._order), sweep))
        while True:
            try:
                if not self._turn(sweep):
                    return
            except Exception:  # a bug here must not leave every connection unread
                logger.exception("the I/O thread hit an unexpected error; it goes on")
                time.sleep(0.01)

    def _turn(self, sweep: Timer) -> bool:
        """One pass: queued calls, a select, reading what is ready, due timers. False when the
        loop has been idle long enough to end."""
        with self._guard:
            calls = list(self._calls)
            self._calls.clear()
        for callback in calls:
            self._safely(callback)
        now = time.monotonic()
        with self._guard:
            busy = bool(self._connections or self._calls or self._live_timers)
            if busy:
                self._idle_since = None
            elif self._idle_since is None:
                self._idle_since = now
            elif now - self._idle_since >= LINGER:
                self._stop_locked(sweep)
                return False
            timeout = 0.0 if self._pending_read else self._select_timeout(now, busy)
            self._wakes_at = now + timeout
        started = time.monotonic()
        assert self._selector is not None
        try:
            events = self._selector.select(timeout)
        except InterruptedError:
            events = []
        ready = self._pending_read
        self._pending_read = set()
        for key, mask in events:
            connection = key.data
            if connection is None:
                self._drain_wake()
                continue
            if mask & selectors.EVENT_WRITE:
                self._watch_write(connection, False)
                self._safely(connection.on_writable)
            if mask & selectors.EVENT_READ:
                ready.add(key.fd)
        for fd in ready:
            connection = self._connections.get(fd)
            if connection is not None:
                more = False
                try:
                    more = connection.on_readable(READ_BUDGET)
                except Exception:
                    logger.exception("the I/O thread failed reading a connection")
                if more:
                    self._pending_read.add(fd)
        with self._guard:
            # a connection over its read budget is read on in the next pass; the others are
            # not held back for it
            self.caught_up = started
            self._settled.notify_all()
        self._run_timers()
        previous, self._last_pass = self._last_pass, started
        if (
            events
            and not self._pending_read
            and started - previous < COALESCE
            and not self._answers_awaited
        ):
            # busy: let more arrive before the next pass, since a wake-up of this thread costs
            # more than a message and acks can wait a few milliseconds (see COALESCE); a lone
            # answer after a quiet spell is read at once
            rest = COALESCE - (time.monotonic() - started)
            if rest > 0 and self._wake_selector is not None:
                self._coalescing = True
                try:
                    # calls, timers and a writer starting to wait for an answer cut it short
                    for _ in self._wake_selector.select(rest):
                        self._drain_wake()
                finally:
                    self._coalescing = False
        return True

    def _select_timeout(self, now: float, busy: bool) -> float:
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        wait = LINGER if not busy else 60.0
        if timers:
            wait = min(wait, max(0.0, timers[0][0] - now))
        return wait

    def _run_timers(self) -> None:
        now = time.monotonic()
        due: list[Timer] = []
        with self._guard:
            timers = self._timers
            while timers and timers[0][0] <= now:
                timer = heapq.heappop(timers)[2]
                if timer.cancelled:
                    continue
                due.append(timer)
                if timer.interval is not None:
                    timer.when = now + timer.interval
                    heapq.heappush(timers, (timer.when, next(self._order), timer))
                else:  # a one-shot timer is spent once taken: it runs, and counts no more
                    timer.cancelled = True
                    self._live_timers -= 1
        for timer in due:
            if timer.interval is None or not timer.cancelled:
                self._safely(timer.callback)

    def _sweep(self) -> None:
        caught_up = self.caught_up
        for connection in list(self._connections.values()):
            self._safely(lambda c=connection: c.check_alive(caught_up))  # type: ignore[misc]

    def _drain_wake(self) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        with self._guard:
            self._woken = False

    def _stop_locked(self, sweep: Timer) -> None:
        sweep.cancelled = True
        self._timers.clear()  # every one was cancelled: the loop is idle
        assert self._selector is not None and self._wake_r is not None
        assert self._wake_w is not None
        self._selector.close()
        if self._wake_selector is not None:
            self._wake_selector.close()
        self._wake_r.close()
        self._wake_w.close()
        self._selector = self._wake_selector = self._wake_r = self._wake_w = None
        self._thread = None
        self._settled.notify_all()

    @staticmethod
    def _safely(callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception:
            logger.exception("a callback failed on the I/O thread")


_loop: IOLoop | None = None
_loop_guard = threading.Lock()


def io_loop() -> IOLoop:
    """This process's loop (a new one after ``fork()``: the parent's thread is not there)."""
    global _loop
    loop = _loop
    if loop is None:
        with _loop_guard:
            if _loop is None:
                _loop = IOLoop()
            loop = _loop
    return loop


def _forget_after_fork() -> None:
    global _loop, _loop_guard
    _loop = None
    _loop_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
