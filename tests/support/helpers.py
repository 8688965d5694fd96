"""Small helpers shared by the tests of both flavours: what the local server holds, a port
nothing listens on, the environment of a child process."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

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


def unreachable(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` pointed at a port where nothing listens, with one retry."""
    return {**options, "base_url": f"http://127.0.0.1:{closed_port()}", "num_connect_retries": 1}


def child_env(server: ThreadedDevServer | None = None, **settings: str) -> dict[str, str]:
    """This process's environment without any ``STREAMSTRAIGHT_`` variable, then pointed at
    ``server`` (its key and URL) when given, plus ``settings``: a child process gets only the
    Streamstraight settings its test gives it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSTRAIGHT_")}
    if server is not None:
        env.update(
            STREAMSTRAIGHT_API_KEY=server.api_key, STREAMSTRAIGHT_API_BASE_URL=server.base_url
        )
    env.update(settings)
    return env
