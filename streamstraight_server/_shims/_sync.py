"""Blocking primitives for ``_sync/``: the twins of ``_async.py``, on threads, the process's one
I/O thread (``_ioloop``, ``_sync_socket``) and http.client."""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import http.client
import inspect
import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from .._core.errors import describe
from . import _http
from ._ioloop import io_loop
from ._sync_socket import Socket
from ._transport import SocketError, SocketRefused, SocketTimeout

Target = Callable[[], None]
monotonic = time.monotonic


AnyIterable = Iterable[Any]


def iterate(source: AnyIterable) -> Iterator[Any]:
    """Items of an iterable; a non-iterable is refused before any work."""
    if isinstance(source, Iterable) and not isinstance(source, (str, bytes)):
        return iter(source)
    raise TypeError(f"stream() takes an iterable of chunks, not {type(source).__name__}")


def sleep(seconds: float) -> None:
    time.sleep(seconds)


class Event:
    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until set; False if ``timeout`` seconds passed first."""
        return self._event.wait(timeout)


class Lock:
    """Not reentrant, as ``asyncio.Lock`` is not: a call that takes it twice is a bug in
    either flavour."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


class Task:
    """A background thread; it must stop when told to through its own stop event."""

    __slots__ = ("_thread",)

    def __init__(self, target: Target, name: str) -> None:
        # the caller's context goes along, as an asyncio task's does (OpenTelemetry's current
        # span among others)
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(target,), name=name, daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not threading.current_thread():
            self._thread.join()


#: background connections under way at once in the process (with the I/O thread, 8 threads at
#: most); beyond it a writer connects on its own thread, as it did before connections were made
#: in the background
MAX_BACKGROUND_CONNECTS = 7
_connect_slots: list[threading.Semaphore] = []


def spawn_connect(target: Target, name: str) -> Task | None:
    """A thread that connects a writer in the background, or None when
    ``MAX_BACKGROUND_CONNECTS`` are already under way: the caller then connects itself, so the
    SDK's threads stay few however many writers open at once."""
    if not _connect_slots:  # taken at first use, so that gevent's patching applies
        _connect_slots.append(threading.BoundedSemaphore(MAX_BACKGROUND_CONNECTS))
    slots = _connect_slots[0]
    if not slots.acquire(blocking=False):
        return None

    def run() -> None:
        try:
            target()
        finally:
            slots.release()

    return Task(run, name)


def _new_slots_after_fork() -> None:
    _connect_slots.clear()


os.register_at_fork(after_in_child=_new_slots_after_fork)


class Queue:
    """A bounded FIFO between one background thread and one reader."""

    __slots__ = ("_queue",)

    def __init__(self, maxsize: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize)

    def size(self) -> int:
        return self._queue.qsize()

    def offer(self, item: Any) -> bool:
        """Add ``item`` if there is room; False if the queue is full."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return False
        return True

    def put(self, item: Any) -> None:
        """Add ``item``, waiting for room."""
        self._queue.put(item)

    def get(self) -> Any:
        return self._queue.get()

    def drain(self) -> None:
        """Drop every item held."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


_logger = logging.getLogger("streamstraight_server")
_warned: weakref.WeakSet[object] = weakref.WeakSet()
_warned_lock = threading.Lock()


def check_blocking_allowed(owner: object) -> None:
    """Warn once per ``owner`` when it is used on a thread that runs an asyncio event loop:
    every blocking call would stall the loop, and every request it serves, until it returns."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    with _warned_lock:
        if owner in _warned:
            return
        _warned.add(owner)
    _logger.warning(
        "%s (the blocking client) was called on a thread that runs an asyncio event loop: "
        "it blocks the loop, and every request it serves, until the call returns; "
        "use AsyncStreamstraight in async code",
        type(owner).__name__,
    )


class PlainWithGuard:
    """The asyncio twin refuses plain ``with`` on its async objects; blocking ones take it."""

    __slots__ = ()


class PlainForGuard:
    """The asyncio twin refuses plain ``for`` on its async iterators; blocking ones take it."""

    __slots__ = ()


class _Finishing(Protocol):
    def _finish(self) -> None: ...


_clients: weakref.WeakSet[_Finishing] = weakref.WeakSet()


def finish_at_exit(client: _Finishing) -> None:
    """Finish ``client``'s running streams when the interpreter exits.

    ``tee()`` runs on daemon threads, which die silently mid-answer when the interpreter exits
    (gunicorn recycling a worker with ``--max-requests``, or stopping it with SIGTERM), so the
    client lets them, and any writer still open, finish first. Interpreter exit joins the
    app's own threads before ``atexit`` handlers run, and daemon threads run on meanwhile.
    """
    with _warned_lock:
        if not _clients:
            atexit.unregister(_finish_all)
            atexit.register(_finish_all)
        _clients.add(client)


def _finish_all() -> None:
    for client in list(_clients):
        try:
            client._finish()
        except Exception:
            _logger.exception("could not finish the streams still running at exit")


def shielded(target: Target) -> None:
    """Blocking code has no cancellation to shield from."""
    target()


class Cancelled(BaseException):
    """The asyncio twin catches a task's cancellation; threads are never cancelled, and this is
    never raised."""


class Home:
    """The asyncio twin runs functions on an object's event loop; threads call them directly."""

    __slots__ = ()

    def call(self, function: Callable[[], None]) -> None:
        function()


class Interrupt:
    """The asyncio twin cancels a task waiting on its source. A thread cannot be interrupted:
    a blocking stream sees the stop once the source yields its next chunk."""

    __slots__ = ("armed",)

    def __init__(self) -> None:
        self.armed = False

    def request(self) -> None:
        pass

    def absorb(self) -> bool:
        return False

    def settle(self) -> None:
        pass


def run_callback(callback: Callable[[Any], Any], argument: Any) -> None:
    """Call ``callback(argument)``; a coroutine function cannot be awaited here."""
    result = callback(argument)
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()  # no "never awaited" warning on top of the error
        raise TypeError(
            f"{getattr(callback, '__name__', 'the callback')} returned an awaitable: the "
            "blocking client calls callbacks as plain functions (use AsyncStreamstraight "
            "for coroutine functions)"
        )


class Http:
    """One POST at a time, for token requests: ``timeout`` is a deadline for all of it, however
    slowly the server answers (see ``_http``). Returns the status, at most ``limit``
    bytes of the answer as text, and whether that is all of it."""

    @staticmethod
    def post(
        url: str, headers: Mapping[str, str], timeout: float, limit: int
    ) -> tuple[int, str, bool]:
        try:
            return _http.post(url, headers, timeout, limit)
        except TimeoutError as exc:
            raise SocketTimeout(f"no answer from {url} within {timeout:g}s") from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise SocketError(f"cannot reach {url}: {describe(exc)}") from exc


#: guards state shared with the socket's handlers, which run on the I/O thread
def StateGuard() -> threading.Lock:
    """A plain lock, taken when called so that gevent's patching applies even after import."""
    return threading.Lock()


class Ticker:
    """Calls ``beat`` every ``interval`` seconds on the I/O thread, until stopped; ``beat``
    must not block."""

    __slots__ = ("_timer",)

    def __init__(self, interval: float, beat: Target) -> None:
        self._timer = io_loop().schedule(interval, beat, every=interval)

    def stop(self) -> None:
        self._timer.cancel()


__all__ = [
    "AnyIterable",
    "Cancelled",
    "Event",
    "Home",
    "Http",
    "Interrupt",
    "Lock",
    "PlainForGuard",
    "PlainWithGuard",
    "Queue",
    "Socket",
    "SocketError",
    "SocketRefused",
    "SocketTimeout",
    "StateGuard",
    "Task",
    "Ticker",
    "check_blocking_allowed",
    "finish_at_exit",
    "iterate",
    "monotonic",
    "run_callback",
    "shielded",
    "sleep",
    "spawn_connect",
]
