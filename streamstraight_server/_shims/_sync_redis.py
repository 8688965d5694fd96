"""Redis pub/sub for ``cancel()`` across processes, on threads (redis-py's blocking client).

Imported only when a client has ``cancel_url``. redis-py's ``PubSub`` must stay on one thread,
so one thread per client owns the subscribing connection: it keeps the subscriptions equal to
the streams running here, waiting for messages ``POLL`` seconds at a time and applying the
changes callers asked for in between (a message is handled as soon as it arrives; a new
subscription waits up to ``POLL``). Callers never wait for Redis to start or end a stream.
With no stream running for ``IDLE_CLOSE`` seconds, the thread closes the connection and ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import RedisError

from .._core.cancel import CancelRelayError, shown_url
from .._core.errors import describe

logger = logging.getLogger("streamstraight_server")

REDIS_TIMEOUT = 5.0
RETRY_FIRST = 0.25
RETRY_MAX = 5.0
IDLE_CLOSE = 30.0
#: the longest a new subscription waits for the thread to send it
POLL = 0.05

OnMessage = Callable[[Any, Any], None]


class CancelRelay:
    """Subscriptions to the channels of the streams running here, and publishing to others."""

    def __init__(self, url: str, on_message: OnMessage) -> None:
        self._url = url
        self._on_message = on_message
        self._lock = threading.Lock()
        self._wanted: set[str] = set()
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._publisher: Any = None

    def __repr__(self) -> str:
        return f"<CancelRelay {shown_url(self._url)} watching={len(self._wanted)}>"

    def watch(self, channel: str) -> None:
        with self._lock:
            self._wanted.add(channel)
            self._changed.set()
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._listen,
                    args=(self._stop,),
                    name="streamstraight-cancel-relay",
                    daemon=True,
                )
                self._thread.start()

    def unwatch(self, channel: str) -> None:
        with self._lock:
            self._wanted.discard(channel)
            self._changed.set()

    def _listen(self, stop: threading.Event) -> None:
        delay = RETRY_FIRST
        outage = False
        try:
            while not stop.is_set():
                client = redis.Redis.from_url(
                    self._url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                try:
                    if self._serve(pubsub, stop):
                        return
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
                    _quietly(pubsub.close)
                    _quietly(client.close)
                if stop.wait(delay):
                    return
                delay = min(delay * 2, RETRY_MAX)
        finally:
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None
                    if self._wanted and not stop.is_set():  # watched while ending: go on
                        self._changed.set()
                        self._thread = threading.Thread(
                            target=self._listen,
                            args=(stop,),
                            name="streamstraight-cancel-relay",
                            daemon=True,
                        )
                        self._thread.start()

    def _serve(self, pubsub: Any, stop: threading.Event) -> bool:
        """Serve until stopped or idle (True), or until Redis fails (raises)."""
        subscribed: set[str] = set()
        idle_since: float | None = None
        while not stop.is_set():
            with self._lock:
                self._changed.clear()
                wanted = set(self._wanted)
            if wanted - subscribed:
                pubsub.subscribe(*sorted(wanted - subscribed))
            if subscribed - wanted:
                pubsub.unsubscribe(*sorted(subscribed - wanted))
            subscribed = wanted
            if not subscribed:
                now = time.monotonic()
                idle_since = idle_since if idle_since is not None else now
                if now - idle_since >= IDLE_CLOSE:
                    with self._lock:
                        if not self._wanted:
                            return True
                    continue
                self._changed.wait(1.0)
                continue
            idle_since = None
            message = pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL)
            if message is not None and message.get("type") == "message":
                try:
                    self._on_message(message.get("channel"), message.get("data"))
                except Exception:
                    logger.exception("a cancel message could not be handled")
        return True

    def publish(self, channel: str, message: str) -> int:
        """How many processes received ``message`` (0: none runs the stream)."""
        with self._lock:
            if self._publisher is None:
                self._publisher = redis.Redis.from_url(
                    self._url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
                )
            publisher = self._publisher
        try:
            return int(publisher.publish(channel, message))
        except (RedisError, OSError) as exc:
            raise CancelRelayError(
                f"cancel() could not reach Redis at {shown_url(self._url)}: {describe(exc)}; "
                "check cancel_url and that Redis is running"
            ) from exc

    def close(self) -> None:
        """Unsubscribe from everything and close the connections; watching again reopens."""
        with self._lock:
            self._wanted.clear()
            self._stop.set()
            thread, self._thread = self._thread, None
            publisher, self._publisher = self._publisher, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(REDIS_TIMEOUT + 1)
        if publisher is not None:
            _quietly(publisher.close)


def _quietly(close: Callable[[], Any]) -> None:
    try:
        close()
    except Exception:
        logger.debug("closing a Redis connection failed", exc_info=True)
