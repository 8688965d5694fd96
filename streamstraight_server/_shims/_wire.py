"""Socket.IO v5 over Engine.IO v4's WebSocket transport, as a client connection that does no I/O.

Both flavours' sockets feed it the text messages they read and write the text it returns; it
owns no socket, clock or thread, so the blocking and the asyncio transport share every rule of
the protocol. Packets are encoded and decoded by python-socketio's and python-engineio's packet
classes, except the events of the hot path (``producer:chunk`` out, ``producer:ack`` in), which
are built and parsed directly: the generic code costs more than the rest of a chunk's path.

Whatever the server sends, ``receive()`` never raises: a message that cannot be understood is
logged once per connection at WARNING and ignored; the handlers run inside the same guard.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import engineio.packet
import socketio.packet

Handler = Callable[[Any], None]
#: called with the answer to an event sent with an ack (None when the answer had no arguments)
AckCallback = Callable[[Any], None]

logger = logging.getLogger("streamstraight_server.transport")

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

#: Engine.IO packet types (text form) used here
EIO_OPEN, EIO_CLOSE, EIO_PING, EIO_PONG, EIO_MESSAGE = "0", "1", "2", "3", "4"
#: Socket.IO packet types (text form) used here
SIO_CONNECT, SIO_DISCONNECT, SIO_EVENT, SIO_ACK, SIO_CONNECT_ERROR = "0", "1", "2", "3", "4"

#: what Engine.IO v4 servers announce by default, used when the OPEN packet omits them
DEFAULT_PING_INTERVAL = 25.0
DEFAULT_PING_TIMEOUT = 20.0
#: the largest message read from a server; its own messages are small (acks, answers, errors)
MAX_MESSAGE_BYTES = 8 * 1024 * 1024

_ACK_PREFIX = '42["producer:ack",'


class Phase(enum.Enum):
    OPENING = "waiting for Engine.IO's OPEN packet"
    CONNECTING = "waiting for the answer to Socket.IO's CONNECT"
    CONNECTED = "connected"
    REFUSED = "refused"
    CLOSED = "closed"


class ProtocolError(Exception):
    """The server broke the protocol during the handshake (the attempt fails)."""


def chunk_message(seq: int, data: str) -> str:
    """The Engine.IO message carrying the ``producer:chunk`` EVENT, built without a generic
    JSON pass over a dict."""
    return f'42["producer:chunk",{{"seq":{seq},"data":{_encode(data)}}}]'


def websocket_url(base_url: str, path: str) -> str:
    """The Engine.IO WebSocket URL of a server whose base URL is ``base_url`` (http or https)."""
    scheme, _, rest = base_url.partition("://")
    netloc = rest.split("/", 1)[0]
    ws_scheme = "wss" if scheme in ("https", "wss") else "ws"
    return f"{ws_scheme}://{netloc}/{path.strip('/')}/?EIO=4&transport=websocket"


class WireConnection:
    """One Socket.IO connection to the default namespace, from the client's side.

    ``handlers`` take an event's first argument (extra ones are ignored); ``on_close`` is called
    once, with the reason, when the server ends the connection.
    """

    def __init__(
        self, handlers: Mapping[str, Handler], on_close: Callable[[str], None], name: str = ""
    ) -> None:
        self._handlers = dict(handlers)
        self._ack_handler = self._handlers.get("producer:ack")
        self._on_close = on_close
        self._name = name
        self.phase = Phase.OPENING
        self.ping_interval = DEFAULT_PING_INTERVAL
        self.ping_timeout = DEFAULT_PING_TIMEOUT
        #: the CONNECT_ERROR payload of a refused handshake
        self.refusal: dict[str, Any] | None = None
        self._auth: dict[str, Any] = {}
        self._acks: dict[int, AckCallback] = {}
        self._next_ack_id = 0
        self._warned = False

    @property
    def connected(self) -> bool:
        return self.phase is Phase.CONNECTED

    @property
    def handshake_done(self) -> bool:
        """CONNECT was answered (either way) or the connection closed."""
        return self.phase in (Phase.CONNECTED, Phase.REFUSED, Phase.CLOSED)

    @property
    def liveness_timeout(self) -> float:
        """Silence from the server longer than this means the connection is gone: a server
        pings every ``ping_interval`` and waits ``ping_timeout`` for the answer."""
        return self.ping_interval + self.ping_timeout

    def start(self, auth: Mapping[str, Any]) -> None:
        """Set the CONNECT ``auth`` payload, sent once Engine.IO's OPEN packet arrives."""
        self._auth = dict(auth)

    # -- what the server sends ---------------------------------------------------------

    def receive(self, text: str) -> list[str]:
        """Take one text message from the server; returns the messages to send back."""
        if text.startswith(_ACK_PREFIX) and self.phase is Phase.CONNECTED:
            self._fast_ack(text)
            return []
        try:
            return self._receive(text)
        except Exception as exc:  # input of any shape: the reader must go on
            if self.phase in (Phase.OPENING, Phase.CONNECTING):
                self.phase = Phase.CLOSED
                raise ProtocolError(
                    f"the server broke the protocol during the handshake: {type(exc).__name__}"
                ) from None
            self._ignore(text, exc)
            return []

    def receive_binary(self, data: bytes) -> None:
        """Binary messages carry attachments of binary events, which this protocol never uses."""
        self._ignore(f"<{len(data)} bytes of binary data>", None)

    def _fast_ack(self, text: str) -> None:
        try:
            decoded = json.loads(text[2:])
            if self._ack_handler is not None and isinstance(decoded, list) and len(decoded) > 1:
                self._ack_handler(decoded[1])
        except Exception as exc:
            self._ignore(text, exc)

    def _receive(self, text: str) -> list[str]:
        kind = text[:1]
        if kind == EIO_MESSAGE:
            return self._socketio(text[1:])
        if kind == EIO_PING:
            return [EIO_PONG + text[1:]]
        if kind == EIO_OPEN and self.phase is Phase.OPENING:
            self._opened(engineio.packet.Packet(encoded_packet=text).data)
            self.phase = Phase.CONNECTING
            connect = socketio.packet.Packet(socketio.packet.CONNECT, self._auth)
            return [EIO_MESSAGE + connect.encode()]
        if kind == EIO_CLOSE:
            self._closed("the server closed the connection")
            return []
        if kind == EIO_PONG:
            return []
        self._ignore(text, None)
        return []

    def _opened(self, data: Any) -> None:
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, dict):
            raise ValueError("OPEN without a JSON object")
        for name, attr in (("pingInterval", "ping_interval"), ("pingTimeout", "ping_timeout")):
            value = data.get(name)
            if type(value) is int and 0 < value <= 3_600_000:
                setattr(self, attr, value / 1000)

    def _socketio(self, text: str) -> list[str]:
        packet = socketio.packet.Packet(encoded_packet=text)
        namespace = packet.namespace or "/"
        if namespace != "/":
            self._ignore(text, None)
            return []
        kind = packet.packet_type
        if kind == socketio.packet.EVENT and self.phase is Phase.CONNECTED:
            self._event(packet.data, text)
        elif kind == socketio.packet.ACK and self.phase is Phase.CONNECTED:
            callback = self._acks.pop(packet.id, None) if packet.id is not None else None
            if callback is None:
                self._ignore(text, None)
            else:
                args = packet.data if isinstance(packet.data, list) else []
                callback(args[0] if args else None)
        elif kind == socketio.packet.CONNECT and self.phase is Phase.CONNECTING:
            self.phase = Phase.CONNECTED
        elif kind == socketio.packet.CONNECT_ERROR and self.phase is Phase.CONNECTING:
            data = packet.data
            self.refusal = data if isinstance(data, dict) else {"message": str(data)}
            self.phase = Phase.REFUSED
        elif kind == socketio.packet.DISCONNECT:
            self._closed("the server disconnected the socket")
        else:  # a CONNECT_ERROR once connected among them: no refusal is due any more
            self._ignore(text, None)
        return []

    def _event(self, data: Any, text: str) -> None:
        """An EVENT, with or without an ack id (the server's ack request is not answered)."""
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            self._ignore(text, None)
            return
        handler = self._handlers.get(data[0])
        if handler is None:
            return  # an event this client does not listen to
        handler(data[1] if len(data) > 1 else None)

    def _closed(self, reason: str) -> None:
        if self.phase is Phase.CLOSED:
            return
        self.phase = Phase.CLOSED
        self._acks.clear()
        self._on_close(reason)

    def _ignore(self, text: str, error: BaseException | None) -> None:
        if self._warned:
            return
        self._warned = True
        # the text itself is not shown: a server may echo the API key in anything it sends
        logger.warning(
            "%signored a message from the server that does not fit the protocol "
            "(%d characters, starting %r)%s; later ones are ignored silently",
            f"{self._name}: " if self._name else "",
            len(text),
            text[:3],
            f": {type(error).__name__}" if error is not None else "",
        )

    def lost(self, reason: str) -> None:
        """The transport under this connection failed or was closed by the server."""
        self._closed(reason)

    def abandon(self) -> None:
        """This side closes the connection: no more events or answers, no ``on_close``."""
        self.phase = Phase.CLOSED
        self._acks.clear()

    # -- what the client sends -----------------------------------------------------------

    @staticmethod
    def event(event: str, data: Any) -> str:
        """An EVENT for the default namespace, with no ack id."""
        return EIO_MESSAGE + SIO_EVENT + _encode([event, data])

    def event_with_ack(self, event: str, data: Any, callback: AckCallback) -> str:
        """An EVENT asking for an answer; ``callback`` gets the answer's first argument."""
        ack_id = self._next_ack_id
        self._next_ack_id += 1
        self._acks[ack_id] = callback
        return EIO_MESSAGE + SIO_EVENT + str(ack_id) + _encode([event, data])

    @staticmethod
    def disconnect() -> str:
        return EIO_MESSAGE + SIO_DISCONNECT
