"""Embedding the dev server in tests and tools: asyncio and background-thread flavours."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from .config import DevServerConfig, Faults
from .server import ServerRun
from .store import Store, StreamSnapshot
from .tokens import TokenIssuer

T = TypeVar("T")

#: receives every event of the store: ``{"type": "stream" | "chunk" | "dropped" | "activity", ...}``
Listener = Callable[[dict[str, Any]], None]


def _make_config(config: DevServerConfig | None, kwargs: dict[str, Any]) -> DevServerConfig:
    if config is not None and kwargs:
        raise TypeError("pass either a DevServerConfig or keyword settings, not both")
    return config if config is not None else DevServerConfig(**kwargs)


class DevServer:
    """A local Streamstraight-compatible server on the running event loop.

    ``async with DevServer(inactivity_timeout=2.0) as server: ...`` binds ``host`` on ``port``
    (0: a free port, kept across ``restart``). Stored streams live as long as this object, like
    data in Redis; ``restart`` drops only live connections.
    """

    def __init__(self, config: DevServerConfig | None = None, **kwargs: Any) -> None:
        self.config = _make_config(config, kwargs)
        self.api_key: str = self.config.api_key or "sk_dev_" + secrets.token_urlsafe(24)
        self.viewer_token: str = self.config.viewer_token or secrets.token_urlsafe(24)
        self._issuer = TokenIssuer(
            self.config.jwt_secret or secrets.token_urlsafe(32), self.config.token_ttl
        )
        self._store = Store()
        self._run: ServerRun | None = None
        self._port = self.config.port

    @property
    def faults(self) -> Faults:
        return self.config.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self.config.faults = value

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self._port}"

    @property
    def viewer_url(self) -> str:
        """The live viewer's URL with its token; opening it sets the viewer's cookie."""
        return f"{self.base_url}/?token={self.viewer_token}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, running={self.running})"

    @property
    def running(self) -> bool:
        return self._run is not None

    async def start(self) -> None:
        if self._run is not None:
            return
        run = ServerRun(self.config, self.api_key, self._store, self._issuer, self.viewer_token)
        try:
            self._port = await run.start(self.config.host, self._port)
        except BaseException:
            await run.stop()
            raise
        self._run = run

    async def stop(self) -> None:
        run, self._run = self._run, None
        if run is not None:
            await run.stop()

    async def restart(self, down_for: float = 0.0) -> None:
        """Stop (dropping every connection), stay down ``down_for`` s, start on the same port."""
        await self.stop()
        if down_for > 0:
            await asyncio.sleep(down_for)
        await self.start()

    def snapshot(self, stream_id: str) -> StreamSnapshot | None:
        return self._store.snapshot(stream_id)

    def stream_ids(self) -> list[str]:
        return list(self._store.streams)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` on the server's event loop with every event: streams created and
        changed, chunks, and ``activity`` (connections, refusals, ends, faults; see
        ``narration``). A listener must return at once and not raise."""
        self._store.listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._store.listeners:
            self._store.listeners.remove(listener)

    def drop(self, *stream_ids: str) -> None:
        """Forget these streams, as if their retention had run out."""
        for stream_id in stream_ids:
            self._store.drop(stream_id)

    async def wait_for_end(self, stream_id: str, timeout: float = 10.0) -> StreamSnapshot:
        """Wait until the stream exists and has ended; raise ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._store.changed
            state = self._store.get(stream_id)
            if state is not None and state.ended:
                return state.snapshot()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"stream {stream_id!r} did not end within {timeout}s")
            waiter = asyncio.ensure_future(changed.wait())
            try:
                await asyncio.wait({waiter}, timeout=min(remaining, 0.1))
            finally:
                waiter.cancel()

    def mint_token(self, ttl: float | None = None) -> str:
        return self._issuer.mint(ttl)

    async def __aenter__(self) -> DevServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class ThreadedDevServer:
    """``DevServer`` on its own event loop in a background thread, for blocking code.

    ``with ThreadedDevServer(producer_grace=1.0) as server: ...``
    """

    def __init__(self, config: DevServerConfig | None = None, **kwargs: Any) -> None:
        self._server = DevServer(_make_config(config, kwargs))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def config(self) -> DevServerConfig:
        return self._server.config

    @property
    def api_key(self) -> str:
        return self._server.api_key

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def viewer_token(self) -> str:
        return self._server.viewer_token

    @property
    def viewer_url(self) -> str:
        """The live viewer's URL with its token; opening it sets the viewer's cookie."""
        return self._server.viewer_url

    def __repr__(self) -> str:
        return f"ThreadedDevServer(base_url={self.base_url!r}, running={self._loop is not None})"

    @property
    def faults(self) -> Faults:
        return self._server.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._server.faults = value

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("ThreadedDevServer is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> None:
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop,), name="streamstraight-devserver", daemon=True
        )
        self._thread.start()
        try:
            self._call(self._server.start(), timeout=30)
        except BaseException:
            self._shutdown_loop()
            raise

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()

    def _shutdown_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop, self._thread = None, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(30)

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self._call(self._server.stop(), timeout=30)
        finally:
            self._shutdown_loop()

    def restart(self, down_for: float = 0.0) -> None:
        self._call(self._server.restart(down_for), timeout=down_for + 30)

    def snapshot(self, stream_id: str) -> StreamSnapshot | None:
        async def take() -> StreamSnapshot | None:
            return self._server.snapshot(stream_id)

        return self._call(take(), timeout=10)

    def stream_ids(self) -> list[str]:
        """The ids of every stream the server holds."""

        async def take() -> list[str]:
            return self._server.stream_ids()

        return self._call(take(), timeout=10)

    def drop(self, *stream_ids: str) -> None:
        """Forget these streams, as if their retention had run out."""

        async def forget() -> None:
            self._server.drop(*stream_ids)

        self._call(forget(), timeout=10)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every event of the store, on the server's thread (see
        ``DevServer.add_listener``)."""
        self._server.add_listener(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._server.remove_listener(listener)

    def wait_for_end(self, stream_id: str, timeout: float = 10.0) -> StreamSnapshot:
        return self._call(self._server.wait_for_end(stream_id, timeout), timeout=timeout + 5)

    def mint_token(self, ttl: float | None = None) -> str:
        return self._server.mint_token(ttl)

    def __enter__(self) -> ThreadedDevServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
