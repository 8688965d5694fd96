"""``cancel()``: the streams of one client that can be stopped, by stream id.

The writers, ``stream()`` calls and ``tee()`` calls of a client register here while they run.
A cancel for a stream running in this process stops it directly; with ``cancel_url`` a
cancel for any other stream is published on the stream's Redis channel, which the process
running it subscribes to while it runs (see ``_core/cancel.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from .._core.cancel import (
    CancelRequest,
    Stoppable,
    channel_for,
    check_cancel_url,
    shown_url,
    stream_of,
)
from .._core.errors import ConfigurationError
from .._shims._async import StateGuard

logger = logging.getLogger("streamstraight_server")


class AsyncCancelRegistry:
    """What runs here, by stream id, and the Redis relay when ``cancel_url`` is set."""

    def __init__(self, cancel_url: str | None) -> None:
        self._relay_type: Any = None
        if cancel_url is not None:
            check_cancel_url(cancel_url)
            try:
                from .._shims._async_redis import AsyncCancelRelay
            except ImportError as exc:
                raise ConfigurationError(
                    "cancel_url needs the redis package: pip install 'streamstraight-server[redis]'"
                ) from exc
            self._relay_type = AsyncCancelRelay
        self._url = cancel_url
        self._guard = StateGuard()
        self._running: dict[str, Stoppable] = {}
        self._relay: Any = None

    def __repr__(self) -> str:
        where = shown_url(self._url) if self._url else "this process only"
        return f"<AsyncCancelRegistry running={len(self._running)} via {where}>"

    def _relay_of(self) -> Any:
        if self._url is None:
            return None
        if self._relay is None:
            self._relay = self._relay_type(self._url, self._on_message)
        return self._relay

    def add(self, stream_id: str, target: Stoppable) -> bool:
        """``target`` runs ``stream_id`` from now on; False if another target already does."""
        with self._guard:
            other = self._running.get(stream_id)
            if other is not None and other is not target and other._still_running():
                return False
            self._running[stream_id] = target
        relay = self._relay_of()
        if relay is not None:
            try:
                relay.watch(channel_for(stream_id))
            except Exception:
                logger.exception(
                    "stream %r: cannot listen for cancel() from other processes", stream_id
                )
        return True

    def discard(self, stream_id: str, target: Stoppable) -> None:
        """``target`` no longer runs ``stream_id``; nothing if another target took it."""
        with self._guard:
            if self._running.get(stream_id) is not target:
                return
            del self._running[stream_id]
        relay = self._relay
        if relay is not None:
            try:
                relay.unwatch(channel_for(stream_id))
            except Exception:
                logger.debug("stream %r: unsubscribing failed", stream_id, exc_info=True)

    def stop_here(self, stream_id: str, request: CancelRequest) -> bool:
        """Stop ``stream_id`` if it runs in this client; whether it did."""
        with self._guard:
            target = self._running.get(stream_id)
        if target is None or not target._still_running():
            return False
        target._stop_soon(request)
        return True

    async def cancel(self, stream_id: str, request: CancelRequest) -> bool:
        if self.stop_here(stream_id, request):
            return True
        relay = self._relay_of()
        if relay is None:
            return False
        message = request.to_message()
        return bool(await relay.publish(channel_for(stream_id), message) > 0)

    def _on_message(self, channel: Any, data: Any) -> None:
        """A cancel published by another process (runs on the relay's task or thread)."""
        stream_id = stream_of(channel)
        request = CancelRequest.from_message(data) if stream_id is not None else None
        if stream_id is None or request is None:
            return
        if self.stop_here(stream_id, request):
            logger.info("stream %r: stopped by cancel() from another process", stream_id)

    async def aclose(self) -> None:
        relay = self._relay
        if relay is not None:
            await relay.aclose()
