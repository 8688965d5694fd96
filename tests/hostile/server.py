"""A Socket.IO server that misbehaves on purpose, one way per test (the catalogue's server).

It runs python-socketio's server on aiohttp, as the local dev server does, on a loop of its own in
a thread, so that both flavours' clients can talk to it; it binds 127.0.0.1 only. Out of the box
(``Behaviour``) it is a correct producer server: it stores each chunk once, in seq order, acks
it, sends ``stream:info`` after every handshake and answers END. A mode (``tests/hostile/modes``)
overrides the hooks where it misbehaves, with helpers that go below python-socketio where a real
library would never misbehave that way: Socket.IO packets written as text (ack ids on events,
other namespaces, 100,000-deep nesting), raw WebSocket frames (invalid UTF-8), a dropped TCP
connection. Modes that must misbehave before the WebSocket exists (a trickled upgrade answer, a
token answer trickled byte by byte) run a raw TCP listener instead (``raw_listener``).

What the server stored (``Stored``) is what every verdict of the catalogue is read from.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import socketio
from aiohttp import web

T = TypeVar("T")

#: the token the correct server hands out (a JWT's shape; nothing here checks its signature)
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJob3N0aWxlIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Stored:
    """What the server holds for one stream: each seq once, without gaps."""

    chunks: list[str] = field(default_factory=list)
    resent: int = 0  # chunks received again for a seq already stored (not stored twice)
    conflicts: int = 0  # chunks received again with other data than was stored
    ended: bool = False
    end_reason: str | None = None
    connections: int = 0

    def store(self, seq: int, data: str) -> bool:
        """Store chunk ``seq``; False for a gap (a seq beyond the next one)."""
        if seq < len(self.chunks):
            self.resent += 1
            self.conflicts += self.chunks[seq] != data
            return True
        if seq > len(self.chunks):
            return False
        self.chunks.append(data)
        return True

    @property
    def last_seq(self) -> int | None:
        return len(self.chunks) - 1 if self.chunks else None


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked WebSocket frame (server to client), FIN set; 0x1 text, 0x2 binary."""
    size = len(payload)
    if size < 126:
        header = bytes([0x80 | opcode, size])
    elif size < 1 << 16:
        header = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
    return header + payload


class Conn:
    """One producer connection, as a mode sees it."""

    def __init__(self, server: HostileServer, sid: str, environ: dict[str, Any], auth: Any) -> None:
        self.server = server
        self.sid = sid
        self.environ = environ
        self.auth = auth if isinstance(auth, dict) else {}
        self.stream_id = str(self.auth.get("streamId", ""))
        #: the Authorization header the client sent (a careless server may echo it)
        self.authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
        self.received = 0  # chunks received on this connection

    @property
    def key(self) -> str:
        """The API key this connection was opened with, as a server that echoes would see it."""
        return self.authorization.removeprefix("Bearer ").strip()

    @property
    def stored(self) -> Stored:
        return self.server.stored(self.stream_id)

    @property
    def sio(self) -> socketio.AsyncServer:
        return self.server.sio

    async def emit(self, event: str, *args: Any) -> None:
        """An event through python-socketio; several arguments travel as several arguments."""
        data: Any = args[0] if len(args) == 1 else args
        await self.sio.emit(event, data, to=self.sid)

    async def info(self, **changes: Any) -> None:
        stored = self.stored
        payload: dict[str, Any] = {
            "streamId": self.stream_id,
            "deploymentId": "hostile",
            "lastSeq": stored.last_seq,
            "ended": stored.ended,
        }
        payload.update(changes)
        await self.emit("stream:info", payload)

    async def ack(self, seq: Any) -> None:
        await self.emit("producer:ack", {"seq": seq, "redisId": f"{seq}-0"})

    async def raw(self, text: str | bytes) -> None:
        """One Engine.IO message as given: ``text`` is a Socket.IO packet exactly as written
        (``bytes`` travel as a binary message)."""
        eio_sid = self.sio.manager.eio_sid_from_sid(self.sid, "/")
        if eio_sid is not None:
            await self.sio.eio.send(eio_sid, text)

    def frame(self, payload: bytes, opcode: int = 0x1) -> None:
        """A WebSocket frame written straight to the TCP connection, below Engine.IO."""
        transport = self.environ["aiohttp.request"].transport
        if transport is not None:
            transport.write(ws_frame(payload, opcode))

    async def drop(self) -> None:
        """Close the connection as a crashing server would: the TCP connection just ends."""
        transport = self.environ["aiohttp.request"].transport
        if transport is not None:
            transport.abort()

    def later(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background (it is cancelled when the server stops)."""
        self.server.spawn(coro)


class Behaviour:
    """A correct producer server. Modes override the hooks where they misbehave."""

    async def http(self, request: web.Request) -> web.StreamResponse | None:
        """Every HTTP request, the WebSocket upgrade included; None lets it through."""
        return None

    async def token(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/token``."""
        return web.json_response({"token": TOKEN})

    async def handshake(self, conn: Conn) -> None:
        """The Socket.IO CONNECT: raise ``socketio.exceptions.ConnectionRefusedError`` to
        refuse it."""

    async def connected(self, conn: Conn) -> None:
        """After CONNECT was answered: where the stream stands."""
        await conn.info()

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if conn.stored.store(seq, data):
            await conn.ack(seq)
        else:
            await conn.emit("stream:error", {"message": "seq gap", "code": "seq-gap"})

    async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
        """The answer to END (``NO_ANSWER``: none); a tuple answers with several arguments."""
        stored = conn.stored
        if payload.get("lastSeq") != (stored.last_seq or 0):
            return {"success": False, "error": f"lastSeq does not match {stored.last_seq}"}
        stored.ended, stored.end_reason = True, str(payload.get("reason"))
        return {"success": True, "endRedisId": f"end-{len(stored.chunks)}"}

    def raw_listener(self) -> RawHandler | None:
        """A raw TCP handler to serve instead of Socket.IO (the client's base URL points at it)."""
        return None


#: what ``Behaviour.end`` returns to leave END unanswered
NO_ANSWER = object()


class HostileServer:
    """``with HostileServer(behaviour) as server: ... server.base_url ... server.stored(id)``"""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self._streams: dict[str, Stored] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hostile-server")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._raw: asyncio.Server | None = None
        self.conns: list[Conn] = []
        self.token_requests = 0
        self.port = 0
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            async_handlers=False,
            max_http_buffer_size=64 * 1024 * 1024,
            logger=False,
            engineio_logger=False,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("producer:chunk", self._on_chunk)
        self.sio.on("producer:end", self._on_end)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stored(self, stream_id: str) -> Stored:
        return self._streams.setdefault(stream_id, Stored())

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        self.port = self.call(self._start())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.call(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    # -- the loop's side ---------------------------------------------------------------

    async def _start(self) -> int:
        raw = self.behaviour.raw_listener()
        if raw is not None:
            self._raw = await asyncio.start_server(raw, "127.0.0.1", 0)
            return int(self._raw.sockets[0].getsockname()[1])
        app = web.Application(middlewares=[self._gate], client_max_size=64 * 1024 * 1024)
        self.sio.attach(app, socketio_path="/socket.io/")
        app.router.add_post("/v1/token", self._token)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = getattr(site, "_server", None)
        return int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def _stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._raw is not None:
            self._raw.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._raw.wait_closed(), 2.0)
        if self._runner is not None:
            for sid in list(self.sio.eio.sockets):
                with contextlib.suppress(Exception):
                    await self.sio.eio.sockets[sid].close(wait=False)
            with contextlib.suppress(Exception):
                await self.sio.shutdown()
            await self._runner.cleanup()
        current = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not current]
        for task in others:
            task.cancel()
        if others:
            await asyncio.wait(others, timeout=2.0)

    @web.middleware
    async def _gate(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        answer = await self.behaviour.http(request)
        return answer if answer is not None else await handler(request)

    async def _token(self, request: web.Request) -> web.StreamResponse:
        self.token_requests += 1
        return await self.behaviour.token(request)

    def _conn(self, sid: str) -> Conn | None:
        for conn in reversed(self.conns):
            if conn.sid == sid:
                return conn
        return None

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        conn = Conn(self, sid, environ, auth)
        self.conns.append(conn)
        await self.behaviour.handshake(conn)
        conn.stored.connections += 1
        self.spawn(self._after_connect(conn))
        return True

    async def _after_connect(self, conn: Conn) -> None:
        # python-socketio answers CONNECT only once the connect handler has returned
        for _ in range(400):
            if self.sio.manager.is_connected(conn.sid, "/"):
                break
            await asyncio.sleep(0.005)
        else:
            return
        await self.behaviour.connected(conn)

    async def _on_chunk(self, sid: str, payload: Any = None, *_: Any) -> None:
        conn = self._conn(sid)
        if conn is None or not isinstance(payload, dict):
            return
        seq, data = payload.get("seq"), payload.get("data")
        if type(seq) is int and isinstance(data, str):
            conn.received += 1
            await self.behaviour.chunk(conn, seq, data)

    async def _on_end(self, sid: str, payload: Any = None, *_: Any) -> Any:
        conn = self._conn(sid)
        if conn is None:
            return self.sio.not_handled
        answer = await self.behaviour.end(conn, payload if isinstance(payload, dict) else {})
        return self.sio.not_handled if answer is NO_ANSWER else answer
