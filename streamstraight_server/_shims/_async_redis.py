"""Redis pub/sub for ``cancel()`` across processes, on asyncio (redis-py's ``redis.asyncio``).

Imported only when a client has ``cancel_url``. One task per client (per event loop) owns the
subscribing connection: it keeps the subscriptions equal to the streams running here and hands
each message to ``on_message``. Callers never wait for Redis to start or end a stream: they
change the wanted set and wake the task, which sends SUBSCRIBE / UNSUBSCRIBE while it reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis_asyncio
from redis.exceptions import RedisError

from .._core.cancel import CancelRelayError, shown_url
from .._core.errors import describe

logger = logging.getLogger("streamstraight_server")

#: seconds allowed to connect to Redis and for one command
REDIS_TIMEOUT = 5.0
#: the first wait before reconnecting to Redis, doubled up to RETRY_MAX
RETRY_FIRST = 0.25
RETRY_MAX = 5.0
#: how long the subscribing connection stays open with no stream running
IDLE_CLOSE = 30.0

OnMessage = Callable[[Any, Any], None]


class AsyncCancelRelay:
    """Subscriptions to the channels of the streams running here, and publishing to others."""

    def __init__(self, url: str, on_message: OnMessage) -> None:
        self._url = url
        self._on_message = on_message
        self._wanted: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed: asyncio.Event | None = None
        self._publisher: Any = None

    def __repr__(self) -> str:
        return f"<AsyncCancelRelay {shown_url(self._url)} watching={len(self._wanted)}>"

    # -- the streams running here --------------------------------------------------------

    def watch(self, channel: str) -> None:
        self._wanted.add(channel)
        self._kick()

    def unwatch(self, channel: str) -> None:
        self._wanted.discard(channel)
        self._kick()

    def _kick(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            if not self._wanted:
                return
            self._loop = loop
            self._changed = asyncio.Event()
            self._task = loop.create_task(self._listen(), name="streamstraight-cancel-relay")
        assert self._changed is not None
        self._changed.set()

    async def _listen(self) -> None:
        delay = RETRY_FIRST
        outage = False
        while True:
            client = redis_asyncio.Redis.from_url(
                self._url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=None
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await self._serve(pubsub)
                return  # nothing left to watch
            except (RedisError, OSError) as exc:
                if not outage:
                    logger.warning(
                        "cancel_url: lost Redis at %s (%s); cancel() from other processes "
                        "does not reach this one until it is back; retrying",
                        shown_url(self._url),
                        describe(exc),
                    )
                outage = True
            finally:
                await _quietly(pubsub.aclose())  # type: ignore[no-untyped-call]
                await _quietly(client.aclose())
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _serve(self, pubsub: Any) -> None:
        changed = self._changed
        assert changed is not None
        subscribed: set[str] = set()
        reading: asyncio.Task[Any] | None = None
        woken: asyncio.Task[Any] | None = None
        try:
            while True:
                changed.clear()
                wanted = set(self._wanted)
                if wanted - subscribed:
                    await pubsub.subscribe(*sorted(wanted - subscribed))
                if subscribed - wanted:
                    await pubsub.unsubscribe(*sorted(subscribed - wanted))
                subscribed = wanted
                if not subscribed and reading is None:
                    if not await _wait(changed, IDLE_CLOSE):
                        return  # idle: the next stream opens a new connection
                    continue
                if reading is None:
                    reading = asyncio.ensure_future(
                        pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                    )
                if woken is None:
                    woken = asyncio.ensure_future(changed.wait())
                await asyncio.wait({reading, woken}, return_when=asyncio.FIRST_COMPLETED)
                if woken.done():
                    woken = None
                if reading.done():
                    message, reading = reading.result(), None
                    if message is not None and message.get("type") == "message":
                        self._deliver(message)
        finally:
            for task in (reading, woken):
                if task is not None and not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)

    def _deliver(self, message: dict[str, Any]) -> None:
        try:
            self._on_message(message.get("channel"), message.get("data"))
        except Exception:
            logger.exception("a cancel message could not be handled")

    # -- stopping a stream elsewhere -----------------------------------------------------

    async def publish(self, channel: str, message: str) -> int:
        """How many processes received ``message`` (0: none runs the stream)."""
        loop = asyncio.get_running_loop()
        if self._publisher is None or self._publisher[0] is not loop:
            client = redis_asyncio.Redis.from_url(
                self._url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
            )
            self._publisher = (loop, client)
        try:
            return int(await self._publisher[1].publish(channel, message))
        except (RedisError, OSError) as exc:
            raise CancelRelayError(
                f"cancel() could not reach Redis at {shown_url(self._url)}: {describe(exc)}; "
                "check cancel_url and that Redis is running"
            ) from exc

    async def aclose(self) -> None:
        """Unsubscribe from everything and close the connections; watching again reopens."""
        self._wanted.clear()
        task, self._task = self._task, None
        if task is not None and not task.done():
            if self._loop is asyncio.get_running_loop():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            elif self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(task.cancel)
        publisher, self._publisher = self._publisher, None
        if publisher is not None and publisher[0] is asyncio.get_running_loop():
            await _quietly(publisher[1].aclose())


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except asyncio.TimeoutError:
        return event.is_set()
    return True


async def _quietly(closing: Any) -> None:
    try:
        await closing
    except Exception:
        logger.debug("closing a Redis connection failed", exc_info=True)
