"""The Socket.IO + HTTP core of the dev server (one run of it; the store outlives runs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp import web

from streamstraight_server._core.protocol import (
    EV_ACK,
    EV_CHUNK,
    EV_CONSUMER_READY,
    EV_END,
    EV_HEARTBEAT,
    EV_INFO,
    EV_STREAM_CHUNK,
    EV_STREAM_END,
    EV_STREAM_ERROR,
    PRODUCER_END_REASONS,
    PROTOCOL_VERSION,
    SOCKETIO_PATH,
    TOKEN_PATH,
    AckPayload,
    ChunkPayload,
    EndAck,
    StreamEndPayload,
    StreamErrorPayload,
    StreamInfoPayload,
)

from .config import DevServerConfig
from .store import Store, StoredChunk, StreamState
from .tokens import TokenError, TokenIssuer
from .viewer import ViewerHub

logger = logging.getLogger("streamstraight_server.devserver")

DEPLOYMENT_ID = "local"
MAX_STREAM_ID_LENGTH = 512
# engine.io packets queued for one consumer before its sender waits for the socket to drain
CONSUMER_BACKLOG = 64
INJECTED_RETRY_MS = 200


class Refused(socketio.exceptions.ConnectionRefusedError):  # type: ignore[misc]
    """Refuse a handshake: CONNECT_ERROR data ``{"message", "code"[, "retryInMs"]}``.

    python-socketio turns a single positional argument into ``{"message": str(arg)}``, so the
    payload is set directly instead.
    """

    def __init__(self, message: str, code: str, retry_in_ms: int | None = None) -> None:
        super().__init__(message)
        args: dict[str, Any] = {"message": message, "code": code}
        if retry_in_ms is not None:
            args["retryInMs"] = retry_in_ms
        self.error_args = args


@dataclass(eq=False)
class ProducerSession:
    sid: str
    state: StreamState
    received: int = 0
    closing: bool = False
    acks: asyncio.Queue[tuple[float, AckPayload]] = field(default_factory=asyncio.Queue)
    acks_pending: int = 0
    ack_task: asyncio.Task[None] | None = None


@dataclass(eq=False)
class ConsumerSession:
    sid: str
    stream_id: str
    task: asyncio.Task[None] | None = None


def _error(message: str, code: str | None, retry_in_ms: int | None = None) -> StreamErrorPayload:
    return {"message": message, "code": code, "retryInMs": retry_in_ms}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ServerRun:
    """One listening incarnation: a Socket.IO server and an aiohttp app on one port."""

    def __init__(
        self, config: DevServerConfig, api_key: str, store: Store, issuer: TokenIssuer
    ) -> None:
        self.config = config
        self.api_key = api_key
        self.store = store
        self.issuer = issuer
        self.hub = ViewerHub(store)
        self.sessions: dict[str, ProducerSession | ConsumerSession] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            # events of one connection are handled in order: chunk seqs must not race
            async_handlers=False,
            cors_allowed_origins="*",
            logger=False,
            engineio_logger=False,
        )
        self.app = web.Application()
        self.sio.attach(self.app, socketio_path=SOCKETIO_PATH)
        self.app.router.add_post(TOKEN_PATH, self._http_token)
        self.app.router.add_get("/healthz", self._http_health)
        self.app.router.add_get("/", self.hub.page)
        self.app.router.add_get("/api/streams", self.hub.streams)
        self.app.router.add_get("/api/events", self.hub.events)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on(EV_CHUNK, self._guard(self._on_chunk))
        self.sio.on(EV_END, self._guard(self._on_end))
        self.sio.on(EV_HEARTBEAT, self._guard(self._on_heartbeat))
        self.sio.on(EV_CONSUMER_READY, self._guard(self._on_ready))
        self.runner: web.AppRunner | None = None
        self.port = 0

    # lifecycle

    async def start(self, host: str, port: int) -> int:
        self.runner = web.AppRunner(self.app, shutdown_timeout=1.0, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        self._spawn(self._sweep_loop())
        return self.port

    async def stop(self) -> None:
        self.hub.close_all()
        for task in list(self.tasks):
            task.cancel()
        for session in list(self.sessions.values()):
            if isinstance(session, ProducerSession) and session.ack_task is not None:
                session.ack_task.cancel()
            elif isinstance(session, ConsumerSession) and session.task is not None:
                session.task.cancel()
        sockets = list(self.sio.eio.sockets.values())
        for socket in sockets:
            # wait=False: a socket whose writer is gone would never drain its queue
            with contextlib.suppress(Exception):
                await socket.close(wait=False)
        await self.sio.shutdown()
        now = time.monotonic()
        for state in self.store.streams.values():
            if state.producer_sid is not None:
                state.producer_sid = None
                if not state.ended:
                    state.disconnected_at = now
        self.sessions.clear()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        pending = [t for t in self.tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        self.store.listeners.remove(self.hub.publish)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("dev server task failed", exc_info=task.exception())

    def _guard(self, handler: Any) -> Any:
        async def guarded(sid: str, *args: Any) -> Any:
            try:
                return await handler(sid, *args)
            except Exception:
                logger.exception("dev server handler failed")
                with contextlib.suppress(Exception):
                    await self._emit_error(sid, _error("internal server error", "internal"))
                return None

        return guarded

    # HTTP

    def _key_ok(self, header: object) -> bool:
        if not isinstance(header, str) or not header.startswith("Bearer "):
            return False
        return secrets.compare_digest(header[7:].strip().encode(), self.api_key.encode())

    async def _http_token(self, request: web.Request) -> web.Response:
        if not self._key_ok(request.headers.get("Authorization")):
            return web.json_response({"error": "invalid or missing API key"}, status=401)
        return web.json_response({"token": self.issuer.mint()})

    async def _http_health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    # handshake

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        try:
            if isinstance(auth, dict) and auth.get("role") == "consumer":
                self._connect_consumer(sid, auth)
            else:
                self._connect_producer(sid, environ, auth)
        except Refused:
            raise
        except Exception as exc:
            logger.exception("dev server handshake failed")
            raise Refused("internal server error", "internal", 1000) from exc
        return True

    def _connect_consumer(self, sid: str, auth: dict[str, Any]) -> None:
        try:
            self.issuer.verify(auth.get("token"))
        except TokenError as exc:
            raise Refused(f"consumer token rejected: {exc}", "unauthorized") from exc
        stream_id = auth.get("streamId")
        if auth.get("version") != PROTOCOL_VERSION:
            raise Refused(f"unsupported version (expected {PROTOCOL_VERSION})", "bad-request")
        if not isinstance(stream_id, str) or not stream_id or len(stream_id) > MAX_STREAM_ID_LENGTH:
            raise Refused("streamId must be a non-empty string", "bad-request")
        self.sessions[sid] = ConsumerSession(sid, stream_id)

    def _connect_producer(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        if not self._key_ok(environ.get("HTTP_AUTHORIZATION")):
            raise Refused("invalid or missing API key", "unauthorized")
        if not isinstance(auth, dict):
            raise Refused("missing auth payload", "bad-request")
        role = auth.get("role")
        if role != "producer":
            raise Refused(f"unknown role {role!r}", "bad-request")
        if auth.get("version") != PROTOCOL_VERSION:
            raise Refused(f"unsupported version (expected {PROTOCOL_VERSION})", "bad-request")
        stream_id = auth.get("streamId")
        if not isinstance(stream_id, str) or not stream_id or len(stream_id) > MAX_STREAM_ID_LENGTH:
            raise Refused("streamId must be a non-empty string", "bad-request")
        if not isinstance(auth.get("sdkVersion", ""), str):
            raise Refused("sdkVersion must be a string", "bad-request")
        overwrite = auth.get("overwriteExistingStream", False)
        if not isinstance(overwrite, bool):
            raise Refused("overwriteExistingStream must be a boolean", "bad-request")
        faults = self.config.faults
        if faults.refuse_connections > 0:
            faults.refuse_connections -= 1
            raise Refused(
                "injected fault: connection refused by the dev server",
                "internal",
                INJECTED_RETRY_MS,
            )

        state = self.store.get(stream_id)
        if overwrite:
            if state is not None:
                old_sid = state.producer_sid
                if old_sid is not None:
                    old = self.sessions.get(old_sid)
                    if isinstance(old, ProducerSession):
                        old.closing = True
                    state.producer_sid = None
                    self._spawn(self.sio.disconnect(old_sid))
                self.store.end(state, "producer-disconnected")
            state = self.store.create(stream_id)
        elif state is None:
            state = self.store.create(stream_id)
        elif state.ended:
            raise Refused(
                f"stream {stream_id!r} has ended; set overwriteExistingStream to replace it",
                "stream-ended",
            )
        elif state.producer_sid is not None:
            raise Refused(f"stream {stream_id!r} already has a connected producer", "stream-busy")

        state.producer_sid = sid
        state.producer_connections += 1
        state.last_activity = time.monotonic()
        state.disconnected_at = None
        self.store.touched(state)
        session = ProducerSession(sid, state)
        session.ack_task = self._spawn(self._ack_loop(session))
        self.sessions[sid] = session
        self._spawn(self._send_info(session))

    async def _send_info(self, session: ProducerSession) -> None:
        # the CONNECT packet goes out only after the connect handler returns
        for _ in range(400):
            if self.sio.manager.is_connected(session.sid, "/"):
                break
            await asyncio.sleep(0.005)
        else:
            return
        state = session.state
        info: StreamInfoPayload = {
            "streamId": state.stream_id,
            "deploymentId": DEPLOYMENT_ID,
            "lastSeq": state.chunks[-1].seq if state.chunks else None,
            "ended": state.ended,
        }
        await self.sio.emit(EV_INFO, info, to=session.sid)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        session = self.sessions.pop(sid, None)
        if isinstance(session, ConsumerSession):
            if session.task is not None:
                session.task.cancel()
        elif isinstance(session, ProducerSession):
            if session.ack_task is not None:
                session.ack_task.cancel()
            state = session.state
            if state.producer_sid == sid:
                state.producer_sid = None
                if not state.ended:
                    state.disconnected_at = time.monotonic()
                self.store.touched(state)

    # producer events

    async def _emit_error(self, sid: str, payload: StreamErrorPayload) -> None:
        await self.sio.emit(EV_STREAM_ERROR, payload, to=sid)

    def _producer(self, sid: str) -> ProducerSession | None:
        session = self.sessions.get(sid)
        if isinstance(session, ProducerSession) and not session.closing:
            return session
        return None

    async def _on_chunk(self, sid: str, payload: Any = None, *_: Any) -> None:
        session = self._producer(sid)
        if session is None:
            if isinstance(self.sessions.get(sid), ConsumerSession):
                await self._emit_error(sid, _error("consumers cannot send chunks", "bad-request"))
            return
        seq = payload.get("seq") if isinstance(payload, dict) else None
        data = payload.get("data") if isinstance(payload, dict) else None
        if (
            not isinstance(seq, int)
            or isinstance(seq, bool)
            or seq < 0
            or not isinstance(data, str)
        ):
            await self._emit_error(
                sid, _error("producer:chunk needs {seq: int >= 0, data: str}", "bad-request")
            )
            return
        state = session.state
        if state.ended:
            await self._emit_error(sid, _error("stream has already ended", "stream-ended"))
            return
        state.last_activity = time.monotonic()
        size = len(data.encode("utf-8"))
        if size > self.config.max_chunk_bytes:
            await self._emit_error(
                sid,
                _error(
                    f"chunk {seq} is {size} bytes; the limit is {self.config.max_chunk_bytes}",
                    "chunk-too-large",
                ),
            )
            return
        expected = len(state.chunks)
        if seq > expected:
            await self._emit_error(
                sid, _error(f"seq gap: expected seq {expected}, got {seq}", "seq-gap")
            )
            return
        chunk = state.chunks[seq] if seq < expected else self.store.append(state, data)
        session.received += 1
        faults = self.config.faults
        if faults.drop_after_chunks is not None and session.received >= faults.drop_after_chunks:
            faults.drop_after_chunks = None
            session.closing = True
            self._spawn(self._drop_transport(sid))
            return
        self._ack(session, chunk)
        if faults.error_after_chunks is not None and session.received >= faults.error_after_chunks:
            faults.error_after_chunks = None
            await self._emit_error(
                sid, _error("injected fault: stream error from the dev server", faults.error_code)
            )
            self._end_and_kick(session, "producer-error")

    def _end_and_kick(self, session: ProducerSession, reason: str) -> None:
        session.closing = True
        self.store.end(session.state, reason)
        self._spawn(self._disconnect_after_acks(session))

    async def _disconnect_after_acks(self, session: ProducerSession) -> None:
        while session.acks_pending and session.ack_task is not None and not session.ack_task.done():
            await asyncio.sleep(0.01)
        await self.sio.disconnect(session.sid)

    async def _drop_transport(self, sid: str) -> None:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            await self.sio.eio.disconnect(eio_sid)

    def _ack(self, session: ProducerSession, chunk: StoredChunk) -> None:
        if self.config.faults.withhold_acks:
            return
        self._queue_ack(session, {"seq": chunk.seq, "redisId": chunk.redis_id})

    def _queue_ack(self, session: ProducerSession, ack: AckPayload) -> None:
        session.acks_pending += 1
        session.acks.put_nowait((time.monotonic() + self.config.faults.ack_delay, ack))

    async def _ack_loop(self, session: ProducerSession) -> None:
        while True:
            due, ack = await session.acks.get()
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await self.sio.emit(EV_ACK, ack, to=session.sid)
            finally:
                session.acks_pending -= 1

    async def _on_end(self, sid: str, payload: Any = None, *_: Any) -> Any:
        session = self._producer(sid)
        if session is None:
            return {"success": False, "error": "not a producer connection"}
        reason = payload.get("reason") if isinstance(payload, dict) else None
        last_seq = payload.get("lastSeq") if isinstance(payload, dict) else None
        if reason not in PRODUCER_END_REASONS or not _is_int(last_seq):
            failure: EndAck = {
                "success": False,
                "error": "producer:end needs {reason: completed|producer-error, lastSeq: int}",
            }
            return failure
        assert isinstance(last_seq, int) and isinstance(reason, str)
        state = session.state
        state.last_activity = time.monotonic()
        if state.ended:
            if state.end_reason == reason and state.end_redis_id is not None:
                return {"success": True, "endRedisId": state.end_redis_id}
            return {"success": False, "error": f"stream has already ended ({state.end_reason})"}
        stored = state.last_seq
        if last_seq != stored and not (last_seq == -1 and not state.chunks):
            return {
                "success": False,
                "error": f"lastSeq {last_seq} does not match the stored stream "
                f"({len(state.chunks)} chunks, last seq {stored})",
            }
        end_id = self.store.end(state, reason)
        if self.config.faults.withhold_end_ack:
            return self.sio.not_handled
        self._queue_ack(session, {"seq": last_seq + 1, "redisId": end_id})
        success: EndAck = {"success": True, "endRedisId": end_id}
        return success

    async def _on_heartbeat(self, sid: str, *_: Any) -> None:
        session = self._producer(sid)
        if session is None:
            return
        session.state.heartbeats += 1
        session.state.last_activity = time.monotonic()

    # consumers

    async def _on_ready(self, sid: str, payload: Any = None, *_: Any) -> None:
        session = self.sessions.get(sid)
        if not isinstance(session, ConsumerSession):
            if isinstance(session, ProducerSession):
                await self._emit_error(sid, _error("producers cannot read streams", "bad-request"))
            return
        if payload is None:
            payload = {}
        from_seq = payload.get("fromSeq", 0) if isinstance(payload, dict) else None
        if from_seq is None and isinstance(payload, dict):
            from_seq = 0
        if not isinstance(from_seq, int) or isinstance(from_seq, bool) or from_seq < 0:
            await self._emit_error(
                sid, _error("consumer:ready takes {} or {fromSeq: int >= 0}", "bad-request")
            )
            return
        if session.task is not None and not session.task.done():
            return
        session.task = self._spawn(self._serve_consumer(session, from_seq))

    async def _serve_consumer(self, session: ConsumerSession, from_seq: int) -> None:
        sid = session.sid
        state = self.store.get(session.stream_id)
        if state is None:
            deadline = time.monotonic() + self.config.consumer_wait
            while state is None:
                changed = self.store.changed
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    end: StreamEndPayload = {"reason": "not-found", "lastSeq": 0}
                    await self.sio.emit(EV_STREAM_END, end, to=sid)
                    return
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
                state = self.store.get(session.stream_id)
        index = from_seq
        while True:
            changed = state.changed
            while index < len(state.chunks):
                await self._wait_for_drain(sid)
                chunk = state.chunks[index]
                payload: ChunkPayload = {"seq": chunk.seq, "data": chunk.data}
                await self.sio.emit(EV_STREAM_CHUNK, payload, to=sid)
                index += 1
            if state.ended:
                await self.sio.emit(
                    EV_STREAM_END,
                    {"reason": state.end_reason, "lastSeq": state.last_seq},
                    to=sid,
                )
                return
            await changed.wait()

    async def _wait_for_drain(self, sid: str) -> None:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        socket = self.sio.eio.sockets.get(eio_sid) if eio_sid is not None else None
        queue = getattr(socket, "queue", None)
        if socket is None or queue is None:
            return
        while not socket.closed and queue.qsize() > CONSUMER_BACKLOG:
            await asyncio.sleep(0.01)

    # timers

    async def _sweep_loop(self) -> None:
        cfg = self.config
        interval = min(cfg.inactivity_timeout, cfg.producer_grace, cfg.retention) / 5
        interval = min(max(interval, 0.02), 1.0)
        while True:
            await asyncio.sleep(interval)
            try:
                await self._sweep()
            except Exception:
                logger.exception("dev server sweep failed")

    async def _sweep(self) -> None:
        cfg = self.config
        now = time.monotonic()
        for state in list(self.store.streams.values()):
            if state.ended:
                if state.ended_at is not None and now - state.ended_at >= cfg.retention:
                    self.store.drop(state.stream_id)
            elif state.producer_sid is None:
                if state.disconnected_at is not None and (
                    now - state.disconnected_at >= cfg.producer_grace
                ):
                    self.store.end(state, "producer-disconnected")
            elif now - state.last_activity >= cfg.inactivity_timeout:
                session = self.sessions.get(state.producer_sid)
                if isinstance(session, ProducerSession):
                    await self._emit_error(
                        session.sid,
                        _error(
                            f"no producer activity for {cfg.inactivity_timeout:g}s; stream ended",
                            None,
                        ),
                    )
                    self._end_and_kick(session, "inactivity-timeout")
                else:
                    self.store.end(state, "inactivity-timeout")
