"""Small helpers shared by the tests of both flavours: what the local server holds, a port
nothing listens on."""

from __future__ import annotations

import socket
from pathlib import Path

from streamstraight_server.devserver import StreamSnapshot, ThreadedDevServer

#: the repository's root folder
REPO = Path(__file__).resolve().parents[2]


def snapshot(server: ThreadedDevServer, stream_id: str) -> StreamSnapshot:
    """What the server holds for ``stream_id``; fails the test if it holds nothing."""
    snap = server.snapshot(stream_id)
    assert snap is not None, f"the server holds no stream {stream_id!r}"
    return snap


def stored(server: ThreadedDevServer, stream_id: str) -> list[str]:
    """The data of every chunk the server stored for ``stream_id``, in seq order."""
    snap = snapshot(server, stream_id)
    assert [chunk.seq for chunk in snap.chunks] == list(range(len(snap.chunks)))
    return snap.data


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
