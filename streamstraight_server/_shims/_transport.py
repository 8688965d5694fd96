"""Flavour-neutral pieces of the socket shims: their exceptions and refusal parsing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

Handler = Callable[..., None]
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


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


# The two functions below speak Socket.IO v5 packets directly for the events of the hot path:
# python-socketio's generic encoder and dispatcher cost more per chunk than the rest of the SDK.


def event_packet(event: str, data: Any) -> str:
    """An EVENT packet for the default namespace, with no ack id: ``2["event",data]``."""
    return "2" + _encode([event, data])


def dispatch_event(args: tuple[object, ...], handlers: Mapping[str, Handler]) -> bool:
    """Run the handler of an incoming EVENT for the default namespace; False when the packet
    is anything else (python-socketio then handles it)."""
    text = args[0] if args else None
    if not isinstance(text, str) or not text.startswith('2["'):
        return False
    handler = handlers.get(text[3 : text.find('"', 3)])
    if handler is None:
        return False
    try:
        decoded = json.loads(text[1:])
    except ValueError:
        return False
    if not isinstance(decoded, list):
        return False
    handler(*decoded[1:])
    return True
