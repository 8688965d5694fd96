"""Who is connected to one run (producer and consumer sessions) and the tasks running for them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import socketio

from streamstraight_server._core.protocol import EV_STREAM_ERROR, AckPayload, StreamErrorPayload

from .config import DevServerConfig
from .store import Store, StreamState

logger = logging.getLogger("streamstraight_server.devserver")


@dataclass(eq=False)
class ProducerSession:
    sid: str
    state: StreamState
    authorization: str = field(default="", repr=False)
    received: int = 0
    closing: bool = False
    acks: asyncio.Queue[tuple[float, AckPayload]] = field(default_factory=asyncio.Queue)
    acks_pending: int = 0
    ack_task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        if self.ack_task is not None:
            self.ack_task.cancel()


@dataclass(eq=False)
class ConsumerSession:
    sid: str
    stream_id: str
    task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


def stream_error(
    message: str, code: str | None, retry_in_ms: int | None = None
) -> StreamErrorPayload:
    return {"message": message, "code": code, "retryInMs": retry_in_ms}


class Connections:
    """The sessions of one run by Socket.IO sid, and the background tasks it spawned."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.sessions: dict[str, ProducerSession | ConsumerSession] = {}
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("dev server task failed", exc_info=task.exception())

    async def emit_error(self, sid: str, payload: StreamErrorPayload) -> None:
        await self.sio.emit(EV_STREAM_ERROR, payload, to=sid)

    def guard(self, handler: Any) -> Any:
        """Wrap an event handler: a bug answers ``stream:error`` (internal) instead of crashing."""

        async def guarded(sid: str, *args: Any) -> Any:
            try:
                return await handler(sid, *args)
            except Exception:
                logger.exception("dev server handler failed")
                with contextlib.suppress(Exception):
                    await self.emit_error(sid, stream_error("internal server error", "internal"))
                return None

        return guarded


@dataclass(eq=False)
class Role:
    """Base of the producer and consumer roles: what they share of one run."""

    connections: Connections
    config: DevServerConfig
    store: Store

    @property
    def sio(self) -> socketio.AsyncServer:
        return self.connections.sio
