"""Async primitives for ``_async/``: asyncio and aiohttp live here (and in ``_async_socket``)
only."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp

from .._core.errors import describe
from ._async_socket import AsyncSocket
from ._http import decode
from ._transport import SocketError, SocketRefused, SocketTimeout

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
    items = iter(source)
    try:
        for item in items:
            yield item
    finally:
        close = getattr(items, "close", None)  # a generator: closed with the stream
        if close is not None:
            close()


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


def spawn_connect(target: AsyncTarget, name: str) -> AsyncTask | None:
    """A task that connects a writer in the background (the blocking twin may decline and
    return None, for the caller to connect itself; a task costs too little to decline)."""
    return AsyncTask(target, name)


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


def finish_at_exit(client: object) -> None:
    """The blocking twin finishes a client's streams at interpreter exit. An asyncio client's
    streams run in tasks of the event loop, and ``tee()`` finishes its own when the loop shuts
    down (see ``AsyncTee``)."""


async def shielded(target: AsyncTarget) -> None:
    """Run ``target`` to its end even if the caller is cancelled meanwhile."""
    task = asyncio.ensure_future(target())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.gather(task, return_exceptions=True)
        raise


#: the exception a task's cancellation raises (its blocking twin is never raised)
Cancelled = asyncio.CancelledError


class AsyncHome:
    """Where an object runs: its event loop. ``call()`` runs a function there, at once when
    the caller is already on that loop, else soon (``call_soon_threadsafe``)."""

    __slots__ = ("_loop",)

    def __init__(self) -> None:
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def call(self, function: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            function()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            function()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(function)


class AsyncInterrupt:
    """Cancels the task that made it, but only while ``armed``: while it waits on the source
    of a stream, so that stopping cancels the model's call. ``absorb()`` tells that
    cancellation apart from any other."""

    __slots__ = ("_requested", "_task", "armed")

    def __init__(self) -> None:
        try:
            self._task: asyncio.Task[Any] | None = asyncio.current_task()
        except RuntimeError:
            self._task = None
        self.armed = False
        self._requested = False

    def request(self) -> None:
        """Cancel the task now if it waits on the source; else the stop is seen after it."""
        task = self._task
        if self.armed and not self._requested and task is not None and not task.done():
            self._requested = True
            task.cancel()

    def absorb(self) -> bool:
        """After catching ``Cancelled``: True when it was this interrupt's (and nothing else
        wants the task cancelled), so the caller goes on with the stop."""
        if not self._requested:
            return False
        self._requested = False
        uncancel = getattr(self._task, "uncancel", None)  # Python 3.11+
        return uncancel is None or uncancel() == 0

    def settle(self) -> None:
        """The stream is over: a request the source swallowed is taken back."""
        if self._requested:
            self._requested = False
            uncancel = getattr(self._task, "uncancel", None)
            if uncancel is not None:
                uncancel()


async def run_callback(callback: Callable[[Any], Any], argument: Any) -> None:
    """Call ``callback(argument)``, awaiting what it returns if it is awaitable."""
    result = callback(argument)
    if inspect.isawaitable(result):
        await result


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


#: guards state shared with the socket's handlers. They run on the event loop as the writer
#: does, so it is never contended here; a C lock costs less than a no-op context manager.
def StateGuard() -> threading.Lock:
    return threading.Lock()


class AsyncTicker:
    """Awaits ``beat`` every ``interval`` seconds in a task of its own, until stopped."""

    __slots__ = ("_task",)

    def __init__(self, interval: float, beat: AsyncTarget) -> None:
        async def run() -> None:
            while True:
                await asyncio.sleep(interval)
                await beat()

        self._task = asyncio.get_running_loop().create_task(run(), name="streamstraight-beat")

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


__all__ = [
    "AnyIterable",
    "AsyncEvent",
    "AsyncHome",
    "AsyncHttp",
    "AsyncInterrupt",
    "AsyncLock",
    "AsyncQueue",
    "AsyncSocket",
    "AsyncTask",
    "AsyncTicker",
    "Cancelled",
    "PlainForGuard",
    "PlainWithGuard",
    "SocketError",
    "SocketRefused",
    "SocketTimeout",
    "StateGuard",
    "check_blocking_allowed",
    "finish_at_exit",
    "iterate",
    "monotonic",
    "run_callback",
    "shielded",
    "sleep",
    "spawn_connect",
]
