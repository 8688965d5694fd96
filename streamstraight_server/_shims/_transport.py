"""What both flavours' sockets share: their exceptions and reading a refused handshake."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]

#: the transport's own log: drops, ignored messages, the I/O thread's troubles
transport_logger = logging.getLogger("streamstraight_server.transport")


class SocketError(Exception):
    """The transport failed (could not reach the server, or the connection broke)."""


class SocketTimeout(SocketError, TimeoutError):
    """A socket operation ran past its deadline."""


class SocketRefused(SocketError):
    """The server refused the handshake; ``data`` is its CONNECT_ERROR payload."""

    def __init__(self, message: str, data: dict[str, Any], http_status: int | None) -> None:
        self.data = data
        self.http_status = http_status
        super().__init__(message)


def refusal_of(data: dict[str, Any]) -> SocketRefused:
    """The refusal a CONNECT_ERROR payload stands for."""
    message = data.get("message")
    return SocketRefused(str(message or "the server refused the connection"), dict(data), None)


def http_status_of(exc: BaseException) -> int | None:
    """The HTTP status of a refused WebSocket upgrade, from websocket-client's or aiohttp's
    exception."""
    for name in ("status_code", "status"):
        value = getattr(exc, name, None)
        if type(value) is int and 100 <= value < 600:
            return value
    return None
