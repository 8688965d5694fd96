"""Flavour-neutral pieces of the socket shims: their exceptions and refusal parsing."""

from __future__ import annotations

import re
from typing import Any


class SocketError(Exception):
    """The transport failed (could not reach the server, or the connection broke)."""


class SocketTimeout(SocketError):
    """A socket operation ran past its deadline."""


class SocketRefused(SocketError):
    """The server refused the handshake; ``data`` is its CONNECT_ERROR payload."""

    def __init__(self, message: str, data: dict[str, Any], http_status: int | None) -> None:
        self.data = data
        self.http_status = http_status
        super().__init__(message)


_STATUS = re.compile(r"status code (\d{3})")


def refusal_from(raw: Any, fallback: str) -> SocketRefused | None:
    """Interpret what python-socketio passed to ``connect_error``; None for plain failures."""
    if isinstance(raw, dict):
        message = raw.get("message")
        return SocketRefused(str(message or fallback), dict(raw), None)
    if isinstance(raw, str):
        found = _STATUS.search(raw)
        if found:
            return SocketRefused(raw, {}, int(found.group(1)))
    return None


def is_disconnect_packet(args: tuple[object, ...]) -> bool:
    """Whether an Engine.IO message carries a Socket.IO DISCONNECT packet (type 1)."""
    return bool(args) and isinstance(args[0], str) and args[0][:1] == "1"
