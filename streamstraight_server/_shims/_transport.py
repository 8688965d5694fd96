"""Flavour-neutral pieces of the socket shims: their exceptions, refusal parsing, and the
fast path's checks."""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._core.errors import describe, root_cause

Handler = Callable[..., None]
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

#: python-socketio and python-engineio log here instead of printing to stderr themselves.
#: Below ERROR they log every packet (chunk data included) and each drop, which the SDK
#: reports itself.
transport_logger = logging.getLogger("streamstraight_server.transport")
transport_logger.setLevel(logging.ERROR)


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


def _is_disconnect_packet(args: tuple[object, ...]) -> bool:
    """Whether an Engine.IO message carries a Socket.IO DISCONNECT packet (type 1)."""
    return bool(args) and isinstance(args[0], str) and args[0][:1] == "1"


def handled_inline(
    handlers: Mapping[str, Handler], event: str, args: tuple[object, ...], kwargs: dict[str, Any]
) -> bool:
    """Engine.IO's event hook, shared by both flavours' clients.

    python-socketio handles each incoming message in a new task or thread by default; our
    handlers only record state, so they run on the reader, and the events they handle skip
    python-socketio's dispatcher (True: handled here). Other messages run on the reader too,
    except a server's DISCONNECT packet: its handler tears the reader down.
    """
    if event != "message":
        return False
    if dispatch_event(args, handlers):
        return True
    if not _is_disconnect_packet(args):
        kwargs["run_async"] = False
    return False


_fast_path_checked: dict[tuple[type, type], bool] = {}


def fast_path_supported(client_class: type, eio_class: type) -> bool:
    """Whether the private hooks of the fast path are there, as this SDK expects them.

    The fast path (see ``handled_inline``) overrides python-socketio's
    ``_engineio_client_class`` and python-engineio's ``_trigger_event`` (with its ``run_async``
    keyword), and writes packets with ``eio.send`` (the blocking flavour writes chunk frames to
    Engine.IO's WebSocket itself, framed as Engine.IO frames them). A release that changes any
    of them gets the public path instead: handlers registered with ``on()`` and events sent
    with ``emit()``.
    """
    key = (client_class, eio_class)
    known = _fast_path_checked.get(key)
    if known is None:
        trigger = getattr(eio_class, "_trigger_event", None)
        try:
            source = inspect.getsource(trigger) if trigger is not None else ""
        except (OSError, TypeError):
            source = ""
        known = (
            callable(getattr(client_class, "_engineio_client_class", None))
            and "run_async" in source
            and callable(getattr(eio_class, "send", None))
            and _engineio_message_prefix() == ENGINEIO_MESSAGE
        )
        _fast_path_checked[key] = known
        if not known:
            transport_logger.warning(
                "python-socketio/python-engineio changed the hooks of the fast path; "
                "using their public API (slower per chunk)"
            )
    return known


#: how Engine.IO frames a message on the WebSocket transport: the packet type, then the text
ENGINEIO_MESSAGE = "4"


def _engineio_message_prefix() -> str | None:
    try:
        from engineio import packet

        encoded = packet.Packet(packet.MESSAGE, data="x").encode()
    except Exception:
        return None
    return encoded[:-1] if isinstance(encoded, str) and encoded.endswith("x") else None


class SocketBase:
    """What both flavours' sockets share: wiring the handlers, and reading a failed handshake."""

    def __init__(
        self, client: Any, handlers: Mapping[str, Handler], on_disconnect: Handler, fast: bool
    ) -> None:
        self._client = client
        self._refusal: Any = None
        self.fast = fast
        if fast:
            client.eio.fast_handlers = dict(handlers)
        else:
            for event, handler in handlers.items():
                client.on(event, handler)
        client.on("connect_error", self._on_connect_error)
        client.on("disconnect", on_disconnect)

    def _on_connect_error(self, data: Any = None) -> None:
        self._refusal = data

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    def _handshake_failure(self, exc: Exception, timeout: float) -> SocketError:
        """The server's refusal if there was one, else what went wrong with the transport.

        python-engineio reports a failed WebSocket connection as a bare "Connection error",
        raised while handling the WebSocket library's exception: the HTTP status of a refused
        upgrade, or the OS error, is found on that exception."""
        refusal = refusal_from(self._refusal, str(exc))
        if refusal is not None:
            return refusal
        root = root_cause(exc)
        status = http_status_of(root)
        if status is not None:
            return SocketRefused(
                f"the server refused the WebSocket upgrade with HTTP {status}", {}, status
            )
        refusal = refusal_from(str(exc), str(exc))
        if refusal is not None:
            return refusal
        if "timed out" in str(exc).lower() or isinstance(root, TimeoutError):
            return SocketTimeout(f"no handshake within {timeout:g}s")
        return SocketError(describe(root))


def http_status_of(exc: BaseException) -> int | None:
    """The HTTP status carried by websocket-client's or aiohttp's failed-handshake exception."""
    for name in ("status_code", "status"):
        value = getattr(exc, name, None)
        if type(value) is int and 100 <= value < 600:
            return value
    return None


# The two functions below speak Socket.IO v5 packets directly for the events of the hot path:
# python-socketio's generic encoder and dispatcher cost more per chunk than the rest of the SDK.


def chunk_packet(seq: int, data: str) -> str:
    """The EVENT packet of ``producer:chunk``, built without a generic JSON pass over a dict."""
    return f'2["producer:chunk",{{"seq":{seq},"data":{_encode(data)}}}]'


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
