"""Async primitives for ``_async/``: asyncio, aiohttp and python-socketio live here only."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import engineio
import socketio

from .._core.errors import describe
from . import _transport
from ._http import decode
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

AsyncTarget = Callable[[], Coroutine[Any, Any, None]]
monotonic = time.monotonic


AnyIterable = Iterable[Any] | AsyncIterable[Any]


def iterate(source: AnyIterable) -> AsyncIterator[Any]:
    """Items of a plain or an async iterable; a non-iterable is refused before any work."""
    if isinstance(source, AsyncIterable):
        return aiter(source)
    if isinstance(source, Iterable) and not isinstance(source, (str, bytes)):
        return _from_plain(source)
    raise TypeError(f"stream() takes an iterable of chunks, not {type(source).__name__}")


async def _from_plain(source: Iterable[Any]) -> AsyncIterator[Any]:
    for item in source:
        yield item


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class AsyncEvent:
    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until set; False if ``timeout`` seconds passed first."""
        if self._event.is_set():
            return True
        if timeout is None:
            await self._event.wait()
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            return self._event.is_set()
        return True


class AsyncLock:
    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()


class AsyncTask:
    """A background task; it must stop when told to through its own stop event."""

    __slots__ = ("_task",)

    def __init__(self, target: AsyncTarget, name: str) -> None:
        self._task: asyncio.Task[None] = asyncio.get_running_loop().create_task(target(), name=name)

    async def join(self) -> None:
        try:
            await self._task
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise


class AsyncQueue:
    """A bounded FIFO between one background task and one reader."""

    __slots__ = ("_queue",)

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)

    def size(self) -> int:
        return self._queue.qsize()

    def offer(self, item: Any) -> bool:
        """Add ``item`` if there is room; False if the queue is full."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True

    async def put(self, item: Any) -> None:
        """Add ``item``, waiting for room."""
        await self._queue.put(item)

    async def get(self) -> Any:
        return await self._queue.get()

    def drain(self) -> None:
        """Drop every item held."""
        while True:
            try:
                self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return


def check_blocking_allowed(owner: object) -> None:
    """The blocking twin warns when it runs on an event loop's thread; asyncio code runs
    there by design, so there is nothing to check here."""


class PlainWithGuard:
    """Plain ``with`` on an async object: a ``TypeError`` that says what to write instead.

    Hidden from type checkers, which report the misuse themselves. Its blocking twin is empty.
    """

    __slots__ = ()

    if not TYPE_CHECKING:

        def __enter__(self) -> None:
            name = type(self).__name__
            raise TypeError(
                f"{name} is asynchronous: write 'async with', not 'with' "
                "(in blocking code, use the blocking client Streamstraight)"
            )

        def __exit__(self, *exc_info: object) -> None:
            return None


class PlainForGuard:
    """Plain ``for`` on an async iterator: a ``TypeError`` that says what to write instead.

    Hidden from type checkers, which report the misuse themselves. Its blocking twin is empty.
    """

    __slots__ = ()

    if not TYPE_CHECKING:

        def __iter__(self) -> None:
            name = type(self).__name__
            raise TypeError(
                f"{name} is an async iterator: write 'async for', not 'for' "
                "(in blocking code, use the blocking client Streamstraight)"
            )


async def shielded(target: AsyncTarget) -> None:
    """Run ``target`` to its end even if the caller is cancelled meanwhile."""
    task = asyncio.ensure_future(target())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.gather(task, return_exceptions=True)
        raise


class AsyncHttp:
    """One POST at a time, for token requests: ``timeout`` is a deadline for all of it. Returns
    the status, at most ``limit`` bytes of the answer as text, and whether that is all of it.
    No redirect is followed (the key goes nowhere else), as in the blocking flavour."""

    @staticmethod
    async def post(
        url: str, headers: Mapping[str, str], timeout: float, limit: int
    ) -> tuple[int, str, bool]:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                session.post(url, headers=dict(headers), allow_redirects=False) as response,
            ):
                body = b""
                while len(body) <= limit:
                    part = await response.content.read(limit + 1 - len(body))
                    if not part:
                        break
                    body += part
                text = decode(body[:limit], response.charset)
                return response.status, text, len(body) <= limit
        except asyncio.TimeoutError as exc:
            raise SocketTimeout(f"no answer from {url} within {timeout:g}s") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise SocketError(f"cannot reach {url}: {describe(exc)}") from exc


class _InlineEngineIO(engineio.AsyncClient):  # type: ignore[misc]
    fast_handlers: Mapping[str, Handler] = {}

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if handled_inline(self.fast_handlers, event, args, kwargs):
            return None
        return await super()._trigger_event(event, *args, **kwargs)


class _FastClient(socketio.AsyncClient):  # type: ignore[misc]
    def _engineio_client_class(self) -> type[engineio.AsyncClient]:
        return _InlineEngineIO


#: guards state shared with the socket's handlers. They run on the event loop as the writer
#: does, so it is never contended here; a C lock costs less than a no-op context manager.
StateGuard = threading.Lock


class AsyncSocket(SocketBase):
    """A python-socketio client with its reconnection off, typed for our use."""

    def __init__(self, handlers: Mapping[str, Handler], on_disconnect: Handler) -> None:
        fast = _transport.fast_path_supported(socketio.AsyncClient, engineio.AsyncClient)
        client_class = _FastClient if fast else socketio.AsyncClient
        client = client_class(
            reconnection=False,
            handle_sigint=False,
            logger=transport_logger,
            engineio_logger=transport_logger,
        )
        super().__init__(client, handlers, on_disconnect, fast)
        #: Engine.IO's WebSocket, written directly by emit_chunk on the fast path
        self._ws: Any = None

    async def connect(
        self,
        url: str,
        path: str,
        headers: Mapping[str, str],
        auth: Mapping[str, Any],
        timeout: float,
    ) -> None:
        try:
            await asyncio.wait_for(
                self._client.connect(
                    url,
                    headers=dict(headers),
                    auth=dict(auth),
                    transports=["websocket"],
                    socketio_path=path,
                    wait_timeout=timeout,
                ),
                timeout,
            )
        except asyncio.TimeoutError as exc:
            await self.close()
            raise SocketTimeout(f"no handshake within {timeout:g}s") from exc
        except socketio.exceptions.ConnectionError as exc:
            await self.close()
            raise self._handshake_failure(exc, timeout) from exc
        except (OSError, aiohttp.ClientError, ValueError) as exc:
            await self.close()
            raise SocketError(describe(exc)) from exc
        if not self._client.connected:
            await self.close()
            raise SocketError("the connection closed during the handshake")
        eio = self._client.eio
        ws = getattr(eio, "ws", None)
        if (
            self.fast
            and eio.current_transport == "websocket"
            and callable(getattr(ws, "send_str", None))
        ):
            self._ws = ws

    async def emit(self, event: str, data: Any) -> None:
        client = self._client
        if not client.connected:
            raise SocketError("not connected")
        if self.fast:
            await client.eio.send(event_packet(event, data))
            return
        try:
            await client.emit(event, data)
        except socketio.exceptions.SocketIOError as exc:
            raise SocketError(str(exc) or "not connected") from exc

    async def emit_chunk(self, seq: int, data: str) -> None:
        ws = self._ws
        if ws is not None:
            # written straight to Engine.IO's WebSocket instead of through its queue and writer
            # task (aiohttp writes an uncompressed frame whole, before any await). A later END
            # goes through Engine.IO's queue, so it is written after every chunk before it.
            if self._client.eio.state != "connected":
                raise SocketError("not connected")
            try:
                await ws.send_str(ENGINEIO_MESSAGE + chunk_packet(seq, data))
            except (OSError, RuntimeError, aiohttp.ClientError) as exc:
                raise SocketError(describe(exc)) from exc
            return
        client = self._client
        if not self.fast:
            await self.emit("producer:chunk", {"seq": seq, "data": data})
            return
        if not client.connected:
            raise SocketError("not connected")
        await client.eio.send(chunk_packet(seq, data))

    async def emit_with_ack(self, event: str, data: Any, callback: Handler) -> None:
        """Emit with a Socket.IO ack; ``callback`` runs on the reader with the answer."""
        try:
            await self._client.emit(event, data, callback=callback)
        except socketio.exceptions.SocketIOError as exc:
            raise SocketError(str(exc) or "not connected") from exc

    async def close(self) -> None:
        self._ws = None
        client = self._client
        try:
            await client.disconnect()
        except Exception:  # closing must never mask the error that led here
            pass
        eio = client.eio
        for name in ("read_loop_task", "write_loop_task"):
            task = getattr(eio, name, None)
            if isinstance(task, asyncio.Task) and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        http = getattr(eio, "http", None)
        if http is not None and not http.closed:
            await http.close()


__all__ = [
    "AnyIterable",
    "AsyncEvent",
    "AsyncHttp",
    "AsyncLock",
    "AsyncQueue",
    "AsyncSocket",
    "AsyncTask",
    "PlainForGuard",
    "PlainWithGuard",
    "SocketError",
    "SocketRefused",
    "SocketTimeout",
    "StateGuard",
    "check_blocking_allowed",
    "iterate",
    "monotonic",
    "shielded",
    "sleep",
]
