"""WebSocket frames parsed from whatever bytes have arrived."""

from __future__ import annotations

from typing import Any

import pytest
import websocket

from streamstraight_server._shims._frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    FrameError,
    FrameReader,
    text_frame,
)


def frame(payload: bytes, opcode: int = OP_TEXT, fin: bool = True, mask: bool = False) -> bytes:
    abnf = websocket.ABNF(int(fin), 0, 0, 0, opcode, int(mask), payload)
    return bytes(abnf.format())


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 300_000])
def test_every_length_encoding_byte_by_byte_and_whole(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    data = frame(payload)
    assert FrameReader(1 << 20).feed(data) == [(OP_TEXT, payload)]
    reader = FrameReader(1 << 20)
    step = max(1, len(data) // 50)
    out = []
    for start in range(0, len(data), step):
        out += reader.feed(data[start : start + step])
    assert out == [(OP_TEXT, payload)]


def test_fragments_are_joined_and_control_frames_pass_between_them() -> None:
    data = (
        frame(b"hel", fin=False)
        + frame(b"ping", OP_PING)
        + frame(b"lo", opcode=0, fin=True)
        + frame(b"\x00\x01", OP_BINARY)
        + frame(b"masked", mask=True)
        + frame(b"", OP_CLOSE)
    )
    assert FrameReader(1024).feed(data) == [
        (OP_PING, b"ping"),
        (OP_TEXT, b"hello"),
        (OP_BINARY, b"\x00\x01"),
        (OP_TEXT, b"masked"),
        (OP_CLOSE, b""),
    ]


@pytest.mark.parametrize(
    "data",
    [
        frame(b"x" * 2000),  # above the limit
        bytes([0x81 | 0x40, 1]) + b"x",  # a reserved bit
        frame(b"x", opcode=0),  # a continuation of nothing
        frame(b"x", fin=False) + frame(b"y"),  # a new message inside a fragmented one
        bytes([0x83, 1]) + b"x",  # an unknown opcode
        bytes([0x89, 126, 0, 126]) + b"p" * 126,  # an oversized control frame
    ],
)
def test_what_is_not_a_websocket_stream_is_refused(data: bytes) -> None:
    with pytest.raises(FrameError):
        FrameReader(1000).feed(data)


@pytest.mark.parametrize("text", ["", "a", "tok123 ", "\u00e9" * 100, "x" * 70_000])
def test_a_text_frame_reads_back_as_websocket_client_reads_it(text: str) -> None:
    data = text_frame(text)
    assert data[0] == 0x81 and data[1] & 0x80  # final, text, masked
    reader = websocket._abnf.frame_buffer(_chunks(data), skip_utf8_validation=False)
    parsed = reader.recv_frame()
    assert parsed.opcode == OP_TEXT and parsed.data == text.encode()
    key_at = {126: 4, 127: 10}.get(data[1] & 0x7F, 2)
    again = text_frame(text)
    assert again[key_at : key_at + 4] != data[key_at : key_at + 4]  # a fresh key each time


def _chunks(data: bytes) -> Any:
    view = memoryview(data)

    def recv(size: int) -> bytes:
        nonlocal view
        taken, view = bytes(view[:size]), view[size:]
        return taken

    return recv
