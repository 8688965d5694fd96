"""pytest plugin: a local Streamstraight server for your tests, as the ``streamstraight`` fixture.

pytest loads it by itself once the package is installed (the ``pytest11`` entry point). When
the test session starts it points ``STREAMSTRAIGHT_API_KEY`` and ``STREAMSTRAIGHT_API_BASE_URL``
at a local server on 127.0.0.1, so clients created when your modules are imported reach it too
(the server itself starts the first time a test asks for the fixture, and lives for the whole
session). Nothing then reaches the hosted service by accident. To keep your own environment,
set ``streamstraight_env = false`` in your pytest configuration, or disable the plugin with
``-p no:streamstraight``. ::

    def test_chat_streams_the_whole_answer(streamstraight):
        response = client.get("/chat?message_id=42")
        assert response.status_code == 200
        snapshot = streamstraight.wait_for_end("answer-42")
        assert snapshot.end_reason == "completed"

Streams written during a test are dropped when it ends; faults injected with
``streamstraight.inject(...)`` last for that test only.

Loading the plugin costs nothing: the server and the SDK are imported when a test first asks
for the fixture, so a pytest run that never uses it is as fast as without the package.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ._core.options import ENV_API_KEY, ENV_BASE_URL

if TYPE_CHECKING:
    from .devserver import Faults, StreamSnapshot, ThreadedDevServer

HOST = "127.0.0.1"
_ENV_SWITCH = "streamstraight_env"


class _Reserved:
    """The key and port the environment was pointed at when the session started."""

    def __init__(self) -> None:
        self.api_key = "sk_test_" + secrets.token_urlsafe(24)
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = int(probe.getsockname()[1])
        self.base_url = f"http://{HOST}:{self.port}"
        self.saved: dict[str, str | None] = {}


_STASH = pytest.StashKey[_Reserved]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _ENV_SWITCH,
        "point STREAMSTRAIGHT_API_KEY/STREAMSTRAIGHT_API_BASE_URL at the local test server "
        "when the session starts (default: true)",
        type="bool",
        default=True,
    )


def pytest_configure(config: pytest.Config) -> None:
    reserved = _Reserved()
    config.stash[_STASH] = reserved
    if config.getini(_ENV_SWITCH):
        for name, value in ((ENV_API_KEY, reserved.api_key), (ENV_BASE_URL, reserved.base_url)):
            reserved.saved[name] = os.environ.get(name)
            os.environ[name] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    reserved = config.stash.get(_STASH, None)
    if reserved is None:
        return
    for name, value in reserved.saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def streamstraight_dev_server(pytestconfig: pytest.Config) -> Iterator[ThreadedDevServer]:
    """The session's local server, on the port and key the environment was pointed at."""
    from .devserver import ThreadedDevServer

    reserved = pytestconfig.stash[_STASH]
    server = ThreadedDevServer(host=HOST, port=reserved.port, api_key=reserved.api_key)
    try:
        server.start()
    except OSError as exc:
        raise RuntimeError(
            f"the Streamstraight test server cannot listen on {reserved.base_url}: {exc}"
        ) from exc
    try:
        yield server
    finally:
        server.stop()


class StreamstraightFixture:
    """The local server as one test sees it: what its streams hold, and faults for it alone."""

    def __init__(self, server: ThreadedDevServer) -> None:
        self.server = server
        self._before = set(server.stream_ids())

    @property
    def api_key(self) -> str:
        return self.server.api_key

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def options(self) -> dict[str, Any]:
        """Keywords for a client: ``AsyncStreamstraight(**streamstraight.options)``."""
        return {"api_key": self.api_key, "base_url": self.base_url}

    def stream_ids(self) -> list[str]:
        """The streams written during this test, in the order they were created."""
        return [i for i in self.server.stream_ids() if i not in self._before]

    def snapshot(self, stream_id: str) -> StreamSnapshot | None:
        """What the server holds for ``stream_id`` now (None: nothing)."""
        return self.server.snapshot(stream_id)

    def chunks(self, stream_id: str) -> list[str]:
        """The data of every chunk stored for ``stream_id`` (as JSON text), in seq order."""
        snapshot = self.server.snapshot(stream_id)
        return snapshot.data if snapshot is not None else []

    def wait_for_end(self, stream_id: str, timeout: float = 10.0) -> StreamSnapshot:
        """Block until the stream has ended; ``TimeoutError`` otherwise. In a test that
        runs an event loop, use ``await wait_for_end_async(...)`` so the loop keeps going."""
        return self.server.wait_for_end(stream_id, timeout)

    async def wait_for_end_async(self, stream_id: str, timeout: float = 10.0) -> StreamSnapshot:
        """``wait_for_end`` that lets the running event loop go on meanwhile."""
        import asyncio

        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.server.snapshot(stream_id)
            if snapshot is not None and snapshot.ended:
                return snapshot
            if time.monotonic() >= deadline:
                raise TimeoutError(f"stream {stream_id!r} did not end within {timeout}s")
            await asyncio.sleep(0.02)

    def inject(self, **faults: Any) -> Faults:
        """Inject the local server's faults for this test (see ``Faults``), for example
        ``inject(refuse_connections=2)`` or ``inject(error_after_chunks=5)``."""
        from .devserver import Faults

        self.server.faults = Faults(**faults)
        return self.server.faults

    def restart(self, down_for: float = 0.0) -> None:
        """Drop every connection, stay down ``down_for`` seconds, listen again."""
        self.server.restart(down_for)

    def mint_token(self, ttl: float | None = None) -> str:
        """A client token as the server's ``/v1/token`` would mint it."""
        return self.server.mint_token(ttl)

    def _cleanup(self) -> None:
        from .devserver import Faults

        self.server.faults = Faults()
        created = self.stream_ids()
        if created:
            self.server.drop(*created)


@pytest.fixture
def streamstraight(
    streamstraight_dev_server: ThreadedDevServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StreamstraightFixture]:
    """The session's local Streamstraight server, with the environment pointed at it."""
    monkeypatch.setenv(ENV_API_KEY, streamstraight_dev_server.api_key)
    monkeypatch.setenv(ENV_BASE_URL, streamstraight_dev_server.base_url)
    fixture = StreamstraightFixture(streamstraight_dev_server)
    try:
        yield fixture
    finally:
        fixture._cleanup()


__all__ = ["StreamstraightFixture", "streamstraight", "streamstraight_dev_server"]
