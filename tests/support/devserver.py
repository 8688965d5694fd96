"""Helpers for the dev server tests: a raw Socket.IO producer and waiting utilities."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import socketio

from streamstraight_server._core.protocol import (
    EV_ACK,
    EV_CHUNK,
    EV_END,
    EV_HEARTBEAT,
    EV_INFO,
    EV_STREAM_ERROR,
    PROTOCOL_VERSION,
)
from streamstraight_server.devserver import DevServer

# short timers so the whole suite stays fast
FAST: dict[str, Any] = {
    "inactivity_timeout": 10.0,
    "producer_grace": 10.0,
    "consumer_wait": 2.0,
    "retention": 60.0,
}


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def producer_gone(server: DevServer, stream_id: str) -> bool:
    snap = server.snapshot(stream_id)
    return snap is not None and not snap.producer_connected


class RawProducer:
    """A producer speaking the wire protocol directly, recording what the server sends."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        stream_id: str,
        *,
        overwrite: bool = False,
        auth: Any = None,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.stream_id = stream_id
        self.auth: Any = auth
        if auth is None:
            self.auth = {
                "role": "producer",
                "streamId": stream_id,
                "version": PROTOCOL_VERSION,
                "sdkVersion": "test",
            }
            if overwrite:
                self.auth["overwriteExistingStream"] = True
        self.client = socketio.AsyncClient(reconnection=False)
        self.acks: list[dict[str, Any]] = []
        self.infos: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.refusal: Any = None
        self.disconnected = asyncio.Event()
        self.client.on(EV_ACK, self._on_ack)
        self.client.on(EV_INFO, self._on_info)
        self.client.on(EV_STREAM_ERROR, self._on_error)
        self.client.on("connect_error", self._on_connect_error)
        self.client.on("disconnect", self._on_disconnect)

    async def _on_ack(self, data: Any) -> None:
        self.acks.append(data)

    async def _on_info(self, data: Any) -> None:
        self.infos.append(data)

    async def _on_error(self, data: Any) -> None:
        self.errors.append(data)

    async def _on_connect_error(self, data: Any = None) -> None:
        self.refusal = data

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnected.set()

    async def connect(self, *, wait_info: bool = True) -> RawProducer:
        headers = {} if self.api_key is None else {"Authorization": f"Bearer {self.api_key}"}
        await self.client.connect(
            self.base_url, headers=headers, auth=self.auth, transports=["websocket"]
        )
        if wait_info:
            await eventually(lambda: bool(self.infos))
        return self

    async def refused(self) -> dict[str, Any]:
        """Connect, expecting a refusal; return the CONNECT_ERROR data."""
        try:
            await self.connect(wait_info=False)
        except socketio.exceptions.ConnectionError:
            assert isinstance(self.refusal, dict), self.refusal
            return self.refusal
        finally:
            await self.close()
        raise AssertionError("connection was accepted")

    async def chunk(self, seq: int, data: str) -> None:
        await self.client.emit(EV_CHUNK, {"seq": seq, "data": data})

    async def send(self, *chunks: str, start: int = 0) -> None:
        for i, data in enumerate(chunks):
            await self.chunk(start + i, data)

    async def heartbeat(self) -> None:
        await self.client.emit(EV_HEARTBEAT, {})

    async def end(
        self, last_seq: int, reason: str = "completed", timeout: float = 5.0
    ) -> dict[str, Any]:
        result = await self.client.call(
            EV_END, {"reason": reason, "lastSeq": last_seq}, timeout=timeout
        )
        assert isinstance(result, dict)
        return result

    async def wait_acks(self, n: int, timeout: float = 5.0) -> None:
        await eventually(lambda: len(self.acks) >= n, timeout)

    async def close(self) -> None:
        await self.client.disconnect()
        await self.client.shutdown()
