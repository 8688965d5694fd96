"""WebSocket frames for the blocking transport, which reads its sockets without blocking.

websocket-client makes the connection (TCP, TLS, proxy, the HTTP upgrade) and frames control
messages; its reader blocks until a whole frame is there, which one thread serving every
connection cannot afford, so incoming frames are parsed here from whatever bytes have arrived.
Text frames, one per chunk, are framed and masked here too, at a third of the cost.
"""

from __future__ import annotations

import random

import websocket

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
_random_bits = random.Random().getrandbits
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


class FrameError(Exception):
    """The server sent bytes that are not WebSocket frames as RFC 6455 defines them."""


def text_frame(text: str) -> bytes:
    """A final text frame, masked with a fresh random key as RFC 6455 requires of a client."""
    payload = text.encode("utf-8")
    size = len(payload)
    if size < 126:
        header = bytes((0x81, 0x80 | size))
    elif size < 65_536:
        header = bytes((0x81, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 0x80 | 127)) + size.to_bytes(8, "big")
    # a fresh key per frame from Python's generator, as aiohttp does: the key guards
    # intermediaries against content chosen by a hostile page, and costs no system call here
    key = _random_bits(32).to_bytes(4, "big")
    if not size:
        return header + key
    # XOR the payload with the key repeated, as one big integer: no loop over the bytes
    repeated = (key * (size // 4 + 1))[:size]
    masked = int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")
    return header + key + masked.to_bytes(size, "little")


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    return bytes(websocket.ABNF.create_frame(payload, opcode).format())


class FrameReader:
    """Turns the bytes of a server's stream into whole messages: ``(opcode, payload)``.

    Fragmented messages are joined; control frames come out as they arrive. A message larger
    than ``max_size`` raises :class:`FrameError` (the connection is then dropped).
    """

    def __init__(self, max_size: int) -> None:
        self._buffer = bytearray()
        self._max_size = max_size
        self._fragments: list[bytes] = []
        self._fragment_opcode = 0
        self._fragment_size = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        messages: list[tuple[int, bytes]] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return messages
            message = self._assemble(*frame)
            if message is not None:
                messages.append(message)

    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        if first & 0x70:
            raise FrameError("a frame with reserved bits set (no extension was negotiated)")
        length = second & 0x7F
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                return None
            length = int.from_bytes(buffer[2:4], "big")
            offset = 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            length = int.from_bytes(buffer[2:10], "big")
            offset = 10
        if length > self._max_size:
            raise FrameError(f"a frame of {length} bytes, above the limit of {self._max_size}")
        mask = b""
        if second & 0x80:  # servers must not mask; unmask anyway rather than misread
            if len(buffer) < offset + 4:
                return None
            mask = bytes(buffer[offset : offset + 4])
            offset += 4
        if len(buffer) < offset + length:
            return None
        payload = bytes(buffer[offset : offset + length])
        del buffer[: offset + length]
        if mask:
            payload = websocket.ABNF.mask(mask, payload)
        return bool(first & 0x80), first & 0x0F, payload

    def _assemble(self, fin: bool, opcode: int, payload: bytes) -> tuple[int, bytes] | None:
        if opcode >= OP_CLOSE:
            if not fin or len(payload) > 125:
                raise FrameError("a fragmented or oversized control frame")
            return opcode, payload
        if opcode == OP_CONTINUATION:
            if not self._fragments:
                raise FrameError("a continuation frame with no message to continue")
        elif self._fragments:
            raise FrameError("a new message before the previous one was finished")
        elif opcode not in (OP_TEXT, OP_BINARY):
            raise FrameError(f"a frame with the unknown opcode {opcode}")
        else:
            self._fragment_opcode = opcode
        if fin and not self._fragments:
            return opcode, payload
        self._fragment_size += len(payload)
        if self._fragment_size > self._max_size:
            raise FrameError(f"a message above the limit of {self._max_size} bytes")
        self._fragments.append(payload)
        if not fin:
            return None
        whole = b"".join(self._fragments)
        self._fragments.clear()
        self._fragment_size = 0
        return self._fragment_opcode, whole
