"""A small consumer client (what a browser does), for tests and ``streamstraight tail``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from streamstraight_server._core.protocol import (
    EV_CONSUMER_READY,
    EV_STREAM_CHUNK,
    EV_STREAM_END,
    EV_STREAM_ERROR,
    SOCKETIO_PATH,
    consumer_auth,
)
from streamstraight_server._core.redact import ScrubbingFilter, scrub

# python-socketio and engineio log packets at INFO when their loggers are on; a consumer's CONNECT
# packet carries its token, so the clients here log through this logger, which scrubs tokens
_wire_logger = logging.getLogger("streamstraight_server.devserver.consumer.wire")
_wire_logger.addFilter(ScrubbingFilter())


class ConsumerError(Exception):
    """Reading a stream failed; ``code`` is the server's error code when it sent one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ConsumerRefusedError(ConsumerError):
    """The server refused the consumer handshake (for example ``unauthorized``)."""


@dataclass
class ConsumedStream:
    chunks: list[tuple[int, str]] = field(default_factory=list)
    end_reason: str | None = None
    last_seq: int | None = None

    @property
    def data(self) -> list[str]:
        return [data for _, data in self.chunks]


async def iter_stream(
    base_url: str,
    token: str,
    stream_id: str,
    *,
    from_seq: int | None = None,
    timeout: float = 30.0,
    on_end: Callable[[str, int], None] | None = None,
) -> AsyncGenerator[tuple[int, str], None]:
    """Yield ``(seq, data)`` of a stream as they arrive, until ``stream:end``.

    ``timeout`` bounds the handshake and every wait for the next event (raises ``TimeoutError``).
    ``on_end(reason, last_seq)`` is called when the stream ends.
    """
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    refusal: list[Any] = []
    client = socketio.AsyncClient(
        reconnection=False, handle_sigint=False, logger=_wire_logger, engineio_logger=_wire_logger
    )

    async def on_chunk(data: Any) -> None:
        events.put_nowait(("chunk", data))

    async def on_stream_end(data: Any) -> None:
        events.put_nowait(("end", data))

    async def on_error(data: Any) -> None:
        events.put_nowait(("error", data))

    async def on_connect_error(data: Any = None) -> None:
        refusal.append(data)

    async def on_disconnect(reason: Any = None) -> None:
        events.put_nowait(("disconnect", reason))

    client.on(EV_STREAM_CHUNK, on_chunk)
    client.on(EV_STREAM_END, on_stream_end)
    client.on(EV_STREAM_ERROR, on_error)
    client.on("connect_error", on_connect_error)
    client.on("disconnect", on_disconnect)
    auth = consumer_auth(stream_id, token)
    try:
        try:
            await client.connect(
                base_url,
                auth=auth,
                transports=["websocket"],
                socketio_path=SOCKETIO_PATH,
                wait_timeout=timeout,
            )
        except socketio.exceptions.ConnectionError as exc:
            refused = refusal[0] if refusal else None
            if isinstance(refused, dict):
                message = scrub(str(refused.get("message", "connection refused")), token)
                raise ConsumerRefusedError(message, refused.get("code")) from None
            raise ConsumerRefusedError(
                f"could not connect to {base_url}: {scrub(str(exc), token)}"
            ) from None
        await client.emit(EV_CONSUMER_READY, {} if from_seq is None else {"fromSeq": from_seq})
        while True:
            kind, data = await asyncio.wait_for(events.get(), timeout)
            if kind == "chunk":
                yield int(data["seq"]), str(data["data"])
            elif kind == "end":
                if on_end is not None:
                    on_end(str(data.get("reason")), int(data.get("lastSeq", 0)))
                return
            elif kind == "error":
                payload = data if isinstance(data, dict) else {}
                message = scrub(str(payload.get("message", data)), token)
                raise ConsumerError(message, payload.get("code"))
            else:
                raise ConsumerError(f"disconnected before the stream ended ({data})")
    finally:
        await client.disconnect()
        await client.shutdown()


async def read_stream(
    base_url: str,
    token: str,
    stream_id: str,
    *,
    from_seq: int | None = None,
    timeout: float = 30.0,
) -> ConsumedStream:
    """Read a whole stream (replay, then live) until it ends."""
    result = ConsumedStream()

    def ended(reason: str, last_seq: int) -> None:
        result.end_reason = reason
        result.last_seq = last_seq

    stream = iter_stream(
        base_url, token, stream_id, from_seq=from_seq, timeout=timeout, on_end=ended
    )
    try:
        async for chunk in stream:
            result.chunks.append(chunk)
    finally:
        await stream.aclose()
    return result
