"""Small assertions shared by the tests of both flavours."""

from __future__ import annotations

from streamstraight_server.devserver import StreamSnapshot, ThreadedDevServer


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
