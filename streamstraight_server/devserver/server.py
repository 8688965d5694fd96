"""The Socket.IO + HTTP core of the dev server (one run of it; the store outlives runs).

The roles live in their own modules: ``producer_role`` (claiming a stream, chunks, END, heartbeats,
timers, faults), ``consumer_role`` (replay and tail), ``http_routes`` (token, health); handshake
checks are in ``handshake``. This module wires them onto one Socket.IO server and aiohttp app.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio
from aiohttp import web

from streamstraight_server._core.protocol import (
    EV_CHUNK,
    EV_CONSUMER_READY,
    EV_END,
    EV_HEARTBEAT,
    SOCKETIO_PATH,
)

from .access import HostPolicy, ViewerAccess, access_middleware
from .config import DevServerConfig
from .connections import Connections, ProducerSession, logger
from .consumer_role import CONSUMER_BACKLOG, ConsumerRole
from .handshake import Refused
from .http_routes import add_http_routes
from .producer_role import ProducerRole
from .store import Store
from .tokens import TokenIssuer
from .viewer import ViewerHub

__all__ = ["CONSUMER_BACKLOG", "ServerRun", "engineio_buffer_bytes"]

# Socket.IO framing of a chunk event around its data: event name, seq, quotes, packet type
_FRAMING_BYTES = 64 * 1024


def engineio_buffer_bytes(max_chunk_bytes: int) -> int:
    """Engine.IO's message limit: above the largest chunk the server refuses with a message.

    A chunk's ``data`` travels JSON-escaped, so one byte of UTF-8 can take six on the wire
    (``\\u0000``); the limit leaves room for that, so a chunk over ``max_chunk_bytes`` reaches the
    server and is answered ``chunk-too-large`` instead of Engine.IO dropping the connection.
    """
    return 6 * max_chunk_bytes + _FRAMING_BYTES


class PingReaper:
    """Cancels Engine.IO's ping task of a socket once the socket has closed.

    Engine.IO's server starts one task per socket that sleeps ``ping_interval`` (25 s) before it
    looks at the socket again, so every closed socket stays in memory that long: a thousand
    short streams hold megabytes. The reaper sees those tasks start and cancels the ones whose
    socket has closed on each sweep.
    """

    def __init__(self, eio: Any) -> None:
        self._tasks: dict[asyncio.Task[Any], Any] = {}
        start = eio.start_background_task

        def start_background_task(target: Any, *args: Any, **kwargs: Any) -> Any:
            task = start(target, *args, **kwargs)
            owner = getattr(target, "__self__", None)
            if isinstance(task, asyncio.Task) and getattr(owner, "closed", None) is not None:
                self._tasks[task] = owner
                task.add_done_callback(self._forget)
            return task

        eio.start_background_task = start_background_task

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)

    def reap(self) -> None:
        for task, socket in list(self._tasks.items()):
            if socket.closed:
                task.cancel()


class ServerRun:
    """One listening incarnation: a Socket.IO server and an aiohttp app on one port."""

    def __init__(
        self,
        config: DevServerConfig,
        api_key: str,
        store: Store,
        issuer: TokenIssuer,
        viewer_token: str,
    ) -> None:
        self.config = config
        self.store = store
        self.hub = ViewerHub(store)
        self.port = 0
        policy = HostPolicy(config.host, config.allowed_hosts, config.cors_origins)
        buffer_bytes = engineio_buffer_bytes(config.max_chunk_bytes)
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            # events of one connection are handled in order: chunk seqs must not race
            async_handlers=False,
            cors_allowed_origins=policy.origin_allowed,
            max_http_buffer_size=buffer_bytes,
            logger=False,
            engineio_logger=False,
        )
        self.connections = Connections(self.sio)
        self.pings = PingReaper(self.sio.eio)
        key_made_this_run = config.api_key is None
        self.producers = ProducerRole(
            self.connections, config, store, api_key, key_made_this_run=key_made_this_run
        )
        self.consumers = ConsumerRole(self.connections, config, store, issuer)
        viewer = ViewerAccess(viewer_token, api_key, lambda: self.port)
        self.app = web.Application(
            middlewares=[access_middleware(policy, viewer)], client_max_size=buffer_bytes
        )
        self.sio.attach(self.app, socketio_path=SOCKETIO_PATH)
        add_http_routes(self.app, api_key, issuer, lambda: config.faults, store, key_made_this_run)
        self.app.router.add_get("/", self.hub.page)
        self.app.router.add_get("/api/streams", self.hub.streams)
        self.app.router.add_get("/api/events", self.hub.events)
        guard = self.connections.guard
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on(EV_CHUNK, guard(self.producers.on_chunk))
        self.sio.on(EV_END, guard(self.producers.on_end))
        self.sio.on(EV_HEARTBEAT, guard(self.producers.on_heartbeat))
        self.sio.on(EV_CONSUMER_READY, guard(self.consumers.on_ready))
        self.runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        self.runner = web.AppRunner(self.app, shutdown_timeout=1.0, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        self.connections.spawn(self._sweep_loop())
        return self.port

    async def stop(self) -> None:
        self.hub.close_all()
        tasks = self.connections.tasks
        for task in list(tasks):
            task.cancel()
        for session in list(self.connections.sessions.values()):
            session.cancel()
        sockets = list(self.sio.eio.sockets.values())
        for socket in sockets:
            # wait=False: a socket whose writer is gone would never drain its queue
            with contextlib.suppress(Exception):
                await socket.close(wait=False)
        await self.sio.shutdown()
        self.producers.release_all()
        self.connections.sessions.clear()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        pending = [t for t in tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        self.store.listeners.remove(self.hub.publish)

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        try:
            if isinstance(auth, dict) and auth.get("role") == "consumer":
                self.consumers.connect(sid, auth)
            else:
                self.producers.connect(sid, environ, auth)
        except Refused as refused:
            self._report_refusal(auth, refused)
            raise
        except Exception as exc:
            logger.exception("dev server handshake failed")
            raise Refused("internal server error", "internal", 1000) from exc
        return True

    def _report_refusal(self, auth: Any, refused: Refused) -> None:
        fields = auth if isinstance(auth, dict) else {}
        role = fields.get("role") if fields.get("role") in ("producer", "consumer") else None
        stream_id = fields.get("streamId") if isinstance(fields.get("streamId"), str) else None
        self.store.report(
            "refused",
            stream_id,
            role=role or "client",
            code=refused.code,
            detail=refused.detail,
            endReason=refused.error_args.get("endReason"),
        )

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        session = self.connections.sessions.pop(sid, None)
        if session is None:
            return
        session.cancel()
        if isinstance(session, ProducerSession):
            self.producers.disconnected(session)

    async def _sweep_loop(self) -> None:
        cfg = self.config
        interval = min(cfg.inactivity_timeout, cfg.producer_grace, cfg.retention) / 5
        interval = min(max(interval, 0.02), 1.0)
        while True:
            await asyncio.sleep(interval)
            self.pings.reap()
            try:
                await self.producers.expire_streams()
            except Exception:
                logger.exception("dev server sweep failed")
