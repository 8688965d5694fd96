"""Blocking primitives for ``_sync/``: the twins of ``_async.py``, on threads, requests and
python-socketio's threaded client."""

from __future__ import annotations

import asyncio
import http.client
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import engineio
import socketio
import websocket

from .._core.errors import describe
from . import _http, _transport
from ._transport import (
    ENGINEIO_MESSAGE,
    Handler,
    SocketBase,
    SocketError,
    SocketRefused,
    SocketTimeout,
    chunk_packet,
    event_packet,
    handled_inline,
    transport_logger,
)

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
    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


class Task:
    """A background thread; it must stop when told to through its own stop event."""

    __slots__ = ("_thread",)

    def __init__(self, target: Target, name: str) -> None:
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not threading.current_thread():
            self._thread.join()


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


def shielded(target: Target) -> None:
    """Blocking code has no cancellation to shield from."""
    target()


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


class _InlineEngineIO(engineio.Client):  # type: ignore[misc]
    fast_handlers: Mapping[str, Handler] = {}

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if handled_inline(self.fast_handlers, event, args, kwargs):
            return None
        return super()._trigger_event(event, *args, **kwargs)


class _FastClient(socketio.Client):  # type: ignore[misc]
    def _engineio_client_class(self) -> type[engineio.Client]:
        return _InlineEngineIO


#: guards state shared with the socket's handlers, which run on the socket's reader thread
StateGuard = threading.Lock

#: how long closing waits for Engine.IO's reader and writer threads to end
THREAD_JOIN_TIMEOUT = 1.0


class Socket(SocketBase):
    """A python-socketio client with its reconnection off, typed for our use."""

    def __init__(self, handlers: Mapping[str, Handler], on_disconnect: Handler) -> None:
        fast = _transport.fast_path_supported(socketio.Client, engineio.Client)
        client_class = _FastClient if fast else socketio.Client
        client = client_class(
            reconnection=False,
            handle_sigint=False,
            logger=transport_logger,
            engineio_logger=transport_logger,
            # websocket-client checks UTF-8 in pure Python on every frame it reads; recv()
            # still decodes text strictly, and Engine.IO drops the connection if that fails
            websocket_extra_options={"skip_utf8_validation": True},
        )
        super().__init__(client, handlers, on_disconnect, fast)
        #: Engine.IO's WebSocket, written directly by emit_chunk on the fast path
        self._ws: Any = None

    def connect(
        self,
        url: str,
        path: str,
        headers: Mapping[str, str],
        auth: Mapping[str, Any],
        timeout: float,
    ) -> None:
        self._client.eio.request_timeout = timeout
        try:
            self._client.connect(
                url,
                headers=dict(headers),
                auth=dict(auth),
                transports=["websocket"],
                socketio_path=path,
                wait_timeout=timeout,
            )
        except socketio.exceptions.ConnectionError as exc:
            self.close()
            raise self._handshake_failure(exc, timeout) from exc
        except (OSError, ValueError, websocket.WebSocketException) as exc:
            self.close()
            raise SocketError(describe(exc)) from exc
        if not self._client.connected:
            self.close()
            raise SocketError("the connection closed during the handshake")
        eio = self._client.eio
        ws = getattr(eio, "ws", None)
        if (
            self.fast
            and eio.current_transport == "websocket"
            and callable(getattr(ws, "send", None))
        ):
            self._ws = ws

    def emit(self, event: str, data: Any) -> None:
        client = self._client
        if not client.connected:
            raise SocketError("not connected")
        if self.fast:
            client.eio.send(event_packet(event, data))
            return
        try:
            client.emit(event, data)
        except socketio.exceptions.SocketIOError as exc:
            raise SocketError(str(exc) or "not connected") from exc

    def emit_chunk(self, seq: int, data: str) -> None:
        ws = self._ws
        if ws is not None:
            # written on the caller's thread (websocket-client locks each send), not handed to
            # Engine.IO's writer thread: this saves two thread switches per chunk. A later END
            # goes through Engine.IO's queue, so it is written after every chunk before it.
            if self._client.eio.state != "connected":
                raise SocketError("not connected")
            try:
                ws.send(ENGINEIO_MESSAGE + chunk_packet(seq, data))
            except (OSError, websocket.WebSocketException) as exc:
                raise SocketError(describe(exc)) from exc
            return
        client = self._client
        if not self.fast:
            self.emit("producer:chunk", {"seq": seq, "data": data})
            return
        if not client.connected:
            raise SocketError("not connected")
        client.eio.send(chunk_packet(seq, data))

    def emit_with_ack(self, event: str, data: Any, callback: Handler) -> None:
        """Emit with a Socket.IO ack; ``callback`` runs on the reader with the answer."""
        try:
            self._client.emit(event, data, callback=callback)
        except socketio.exceptions.SocketIOError as exc:
            raise SocketError(str(exc) or "not connected") from exc

    def close(self) -> None:
        self._ws = None
        client = self._client
        try:
            client.disconnect()
        except Exception:  # closing must never mask the error that led here
            pass
        eio = client.eio
        queue = getattr(eio, "queue", None)
        if queue is not None:
            queue.put(None)  # wakes a writer thread left waiting by a dropped connection
        ws = getattr(eio, "ws", None)
        if ws is not None:
            try:
                ws.close()
            except Exception:
                pass
        current = threading.current_thread()
        for name in ("read_loop_task", "write_loop_task"):
            thread = getattr(eio, name, None)
            if isinstance(thread, threading.Thread) and thread is not current:
                thread.join(THREAD_JOIN_TIMEOUT)


__all__ = [
    "AnyIterable",
    "Event",
    "Http",
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
    "check_blocking_allowed",
    "iterate",
    "monotonic",
    "shielded",
    "sleep",
]
