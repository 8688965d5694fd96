"""Raw TCP for misbehaviour below HTTP: an upgrade answered byte by byte, an Engine.IO handshake
that never comes, a token answer whose headers trickle. Each function is a complete connection
handler for ``asyncio.start_server``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib

from .server import RawHandler, ws_frame

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


async def read_head(reader: asyncio.StreamReader) -> dict[str, str]:
    """The request line and headers (lower-case names); the request line under ``""``."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {"": lines[0]}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return headers


def upgrade_answer(headers: dict[str, str]) -> bytes:
    digest = hashlib.sha1((headers.get("sec-websocket-key", "") + _WS_GUID).encode()).digest()
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {base64.b64encode(digest).decode()}\r\n\r\n"
    ).encode()


async def _until_closed(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError):
        while await reader.read(65536):
            pass


async def _trickle(writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
    for index in range(len(data)):
        writer.write(data[index : index + 1])
        await writer.drain()
        await asyncio.sleep(every)


def _handler(body: RawHandler) -> RawHandler:
    """``body`` with its connection closed afterwards, whatever happened."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await body(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client left, or the server stops
        finally:
            writer.close()

    return handle


def silent() -> RawHandler:
    """Accepts the TCP connection and never answers anything."""

    async def body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _until_closed(reader)

    return _handler(body)


def trickled_upgrade(every: float) -> RawHandler:
    """A correct WebSocket upgrade answer, one byte every ``every`` seconds (and then more)."""

    async def body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        headers = await read_head(reader)
        await _trickle(writer, upgrade_answer(headers), every)
        await _until_closed(reader)

    return _handler(body)


def upgrade_then(*messages: bytes) -> RawHandler:
    """Accepts the upgrade, writes these Engine.IO messages as text frames, then stays silent."""

    async def body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        headers = await read_head(reader)
        writer.write(upgrade_answer(headers) + b"".join(ws_frame(m) for m in messages))
        await writer.drain()
        await _until_closed(reader)

    return _handler(body)


def trickled_http(answer: bytes, every: float) -> RawHandler:
    """Reads a request and writes ``answer`` (status line, headers, body) byte by byte."""

    async def body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await _trickle(writer, answer, every)

    return _handler(body)
