"""The asyncio flavour's connection: an aiohttp WebSocket read by one task of its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from .._core.errors import describe
from ._transport import (
    Handler,
    SocketError,
    SocketRefused,
    SocketTimeout,
    http_status_of,
    refusal_of,
    transport_logger,
)
from ._wire import (
    MAX_MESSAGE_BYTES,
    Phase,
    ProtocolError,
    WireConnection,
    chunk_message,
    websocket_url,
)

#: how long closing waits for the server to answer the WebSocket close
CLOSE_TIMEOUT = 1.0
#: at most this many turns of the loop for a reader to settle
SETTLE_TURNS = 100


class AsyncSocket:
    """One Socket.IO connection over an aiohttp WebSocket."""

    def __init__(self, handlers: Mapping[str, Handler], on_disconnect: Callable[[], None]) -> None:
        self._wire = WireConnection(handlers, self._on_wire_closed)
        self._on_disconnect = on_disconnect
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse[bool] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._closed = False
        self._last_read = 0.0
        self._reading = False  # the reader is handling a message (not waiting for one)

    @property
    def connected(self) -> bool:
        return self._wire.connected and not self._closed

    async def connect(
        self,
        url: str,
        path: str,
        headers: Mapping[str, str],
        auth: Mapping[str, Any],
        timeout: float,
    ) -> None:
        self._wire.start(auth)
        try:
            await asyncio.wait_for(self._handshake(websocket_url(url, path), headers), timeout)
        except BaseException as exc:
            await self.close()
            if isinstance(exc, asyncio.TimeoutError):
                raise SocketTimeout(f"no handshake within {timeout:g}s") from exc
            if isinstance(exc, SocketError) or not isinstance(exc, Exception):
                raise
            status = http_status_of(exc)
            if status is not None:
                raise SocketRefused(
                    f"the server refused the WebSocket upgrade with HTTP {status}", {}, status
                ) from exc
            if isinstance(exc, ProtocolError):
                raise SocketError(str(exc)) from exc
            raise SocketError(describe(exc)) from exc
        self._last_read = time.monotonic()
        self._reader = asyncio.get_running_loop().create_task(
            self._read_all(), name="streamstraight-reader"
        )
        self._arm_watchdog()

    async def _handshake(self, url: str, headers: Mapping[str, str]) -> None:
        self._http = aiohttp.ClientSession()
        ws = await self._http.ws_connect(
            url,
            headers=dict(headers),
            autoping=True,
            max_msg_size=MAX_MESSAGE_BYTES,
        )
        self._ws = ws
        wire = self._wire
        while not wire.handshake_done:
            message = await ws.receive()
            if message.type is aiohttp.WSMsgType.TEXT:
                for reply in wire.receive(message.data):
                    await ws.send_str(reply)
            elif message.type is not aiohttp.WSMsgType.BINARY:
                raise SocketError("the server closed the connection during the handshake")
        if wire.phase is Phase.REFUSED:
            raise refusal_of(wire.refusal or {})
        if wire.phase is not Phase.CONNECTED:
            raise SocketError("the server closed the connection during the handshake")

    async def _read_all(self) -> None:
        ws = self._ws
        assert ws is not None
        wire = self._wire
        reason = "the server closed the connection"
        try:
            while True:
                self._reading = False
                message = await ws.receive()
                self._reading = True
                kind = message.type
                if kind is aiohttp.WSMsgType.TEXT:
                    self._last_read = time.monotonic()
                    for reply in wire.receive(message.data):
                        await ws.send_str(reply)
                elif kind is aiohttp.WSMsgType.BINARY:
                    self._last_read = time.monotonic()
                    wire.receive_binary(message.data)
                elif kind is aiohttp.WSMsgType.ERROR:
                    reason = f"the connection failed: {describe(message.data)}"
                    break
                elif kind in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                    self._last_read = time.monotonic()
                else:
                    break
        except (aiohttp.ClientError, OSError, RuntimeError) as exc:
            reason = f"the connection failed: {describe(exc)}"
        if not self._closed:
            self._closed = True
            wire.lost(reason)

    def _arm_watchdog(self) -> None:
        delay = self._wire.liveness_timeout / 2
        self._watchdog = asyncio.get_running_loop().call_later(delay, self._check_alive)

    def _check_alive(self) -> None:
        silent = time.monotonic() - self._last_read
        if self._closed:
            return
        if silent > self._wire.liveness_timeout and self._reader is not None:
            self._reader.cancel()
            self._closed = True
            self._wire.lost(f"the server sent nothing (not even a ping) for {silent:.0f}s")
            return
        self._arm_watchdog()

    def _on_wire_closed(self, reason: str) -> None:
        transport_logger.info("connection closed: %s", reason)
        self._closed = True
        self._on_disconnect()

    # -- the session's calls -----------------------------------------------------------------

    async def _send(self, text: str) -> None:
        ws = self._ws
        if self._closed or ws is None:
            raise SocketError("not connected")
        try:
            await ws.send_str(text)
        except (aiohttp.ClientError, OSError, RuntimeError) as exc:
            raise SocketError(describe(exc)) from exc

    async def emit(self, event: str, data: Any) -> None:
        await self._send(self._wire.event(event, data))

    async def emit_chunk(self, seq: int, data: str) -> None:
        await self._send(chunk_message(seq, data))

    async def emit_with_ack(self, event: str, data: Any, callback: Handler) -> None:
        """Emit with a Socket.IO ack; ``callback`` runs on the reader with the answer."""
        if self._closed:
            raise SocketError("not connected")
        await self._send(self._wire.event_with_ack(event, data, callback))

    async def post(self, event: str, data: Any) -> None:
        """Send at most once, dropped if the connection is gone."""
        try:
            await self._send(self._wire.event(event, data))
        except SocketError:
            pass

    def awaiting(self, waiting: bool) -> None:
        """The blocking twin's reader pauses while busy unless a writer waits; this one reads
        as the event loop allows."""

    async def settle(self, after: float) -> None:
        """Let the reader take what arrived before ``after``: a deadline is only over when the
        reader ran past it (a starved process is not a silent server). Three turns of the loop
        see the socket polled, its bytes parsed into a message and the reader woken; then the
        reader is let run until it waits for the next message."""
        for _ in range(3):
            await asyncio.sleep(0)
        turns = 0
        while self._reading and not self._closed and turns < SETTLE_TURNS:
            await asyncio.sleep(0)
            turns += 1

    async def close(self) -> None:
        was_connected = self.connected
        self._closed = True
        self._wire.abandon()
        if self._watchdog is not None:
            self._watchdog.cancel()
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        ws, self._ws = self._ws, None
        if ws is not None and not ws.closed:
            try:
                if was_connected:
                    await ws.send_str(self._wire.disconnect())
            except Exception:
                pass
            try:
                await asyncio.wait_for(ws.close(), CLOSE_TIMEOUT)
            except Exception:
                pass
        http, self._http = self._http, None
        if http is not None and not http.closed:
            await http.close()
