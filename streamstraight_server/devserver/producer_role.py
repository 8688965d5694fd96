"""The producer side of a run: claiming a stream, chunks, END, heartbeats, acks and the timers
that end a stream whose producer went quiet or did not come back. Injected faults apply here.

What happens is reported to the store's listeners (``Store.report``): connections, resumes,
drops and faults as they fire; the narration of ``streamstraight dev`` prints them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, cast

from streamstraight_server._core.protocol import (
    EV_ACK,
    EV_INFO,
    PRODUCER_END_REASONS,
    AckPayload,
    EndAck,
    StreamEndReason,
    StreamInfoPayload,
)

from .connections import ConsumerSession, ProducerSession, Role, stream_error
from .handshake import Refused, check_producer
from .store import StoredChunk, StreamState

DEPLOYMENT_ID = "local"
INJECTED_RETRY_MS = 200


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(eq=False)
class ProducerRole(Role):
    api_key: str
    #: the key was made for this run (not given): a refusal says that keys change per start
    key_made_this_run: bool = False

    # handshake

    def connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        faults = self.config.faults
        stream_id, overwrite = check_producer(
            environ,
            auth,
            self.api_key,
            echo=faults.echo_credentials,
            key_made_this_run=self.key_made_this_run,
        )
        if faults.refuse_connections > 0:
            faults.refuse_connections -= 1
            raise Refused(
                "injected fault: connection refused by the dev server",
                "internal",
                INJECTED_RETRY_MS,
                detail=f"injected fault (--refuse-connections, {faults.refuse_connections} left)",
            )
        replaced = overwrite and self.store.get(stream_id) is not None
        state = self._claim_stream(stream_id, overwrite)
        state.producer_sid = sid
        state.producer_connections += 1
        state.last_activity = time.monotonic()
        state.disconnected_at = None
        resumed = state.producer_connections > 1
        state.mark("resumed" if resumed else "connected", chunks=len(state.chunks))
        self.store.report(
            "producer-connected",
            stream_id,
            connection=state.producer_connections,
            chunks=len(state.chunks),
            replaced=replaced,
        )
        self.store.touched(state)
        session = ProducerSession(sid, state, str(environ.get("HTTP_AUTHORIZATION", "")))
        session.ack_task = self.connections.spawn(self._ack_loop(session))
        self.connections.sessions[sid] = session
        self.connections.spawn(self._send_info(session))

    def _claim_stream(self, stream_id: str, overwrite: bool) -> StreamState:
        """The stream this producer writes: new, resumed, or (overwrite) a replacement."""
        state = self.store.get(stream_id)
        if overwrite:
            if state is not None:
                old_sid = state.producer_sid
                if old_sid is not None:
                    old = self.connections.sessions.get(old_sid)
                    if isinstance(old, ProducerSession):
                        old.closing = True
                    state.producer_sid = None
                    self.connections.spawn(self.sio.disconnect(old_sid))
                self.store.end(state, "producer-disconnected")
            return self.store.create(stream_id)
        if state is None:
            return self.store.create(stream_id)
        if state.ended:
            # lastSeq and endReason (our addition) let a producer whose END answer was lost
            # see that the stream it is resuming ended with its own END and every chunk. The
            # message states the fact; what to do is for each client to say in its own terms.
            raise Refused(
                f"stream {stream_id!r} has ended ({state.end_reason})",
                "stream-ended",
                extra={
                    "lastSeq": state.chunks[-1].seq if state.chunks else None,
                    "endReason": state.end_reason,
                },
            )
        if state.producer_sid is not None:
            raise Refused(f"stream {stream_id!r} already has a connected producer", "stream-busy")
        return state

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
        if state.ended:
            # not in the published protocol: lets a producer whose END answer was lost tell
            # its own END from any other
            info["endReason"] = cast(StreamEndReason, state.end_reason)
        await self.sio.emit(EV_INFO, info, to=session.sid)

    def disconnected(self, session: ProducerSession) -> None:
        """The producer's socket is gone: its stream may be resumed within ``producer_grace``."""
        state = session.state
        if state.producer_sid == session.sid:
            state.producer_sid = None
            if not state.ended:
                state.disconnected_at = time.monotonic()
                state.mark("dropped", chunks=len(state.chunks))
                self.store.report(
                    "producer-disconnected",
                    state.stream_id,
                    chunks=len(state.chunks),
                    grace=self.config.producer_grace,
                )
            self.store.touched(state)

    def release_all(self) -> None:
        """The run stops: every producer counts as disconnected from now."""
        now = time.monotonic()
        for state in self.store.streams.values():
            if state.producer_sid is not None:
                state.producer_sid = None
                if not state.ended:
                    state.disconnected_at = now

    # events

    def _producer(self, sid: str) -> ProducerSession | None:
        session = self.connections.sessions.get(sid)
        if isinstance(session, ProducerSession) and not session.closing:
            return session
        return None

    async def on_chunk(self, sid: str, payload: Any = None, *_: Any) -> None:
        emit_error = self.connections.emit_error
        session = self._producer(sid)
        if session is None:
            if isinstance(self.connections.sessions.get(sid), ConsumerSession):
                await emit_error(sid, stream_error("consumers cannot send chunks", "bad-request"))
            return
        seq = payload.get("seq") if isinstance(payload, dict) else None
        data = payload.get("data") if isinstance(payload, dict) else None
        if (
            not isinstance(seq, int)
            or isinstance(seq, bool)
            or seq < 0
            or not isinstance(data, str)
        ):
            await emit_error(
                sid, stream_error("producer:chunk needs {seq: int >= 0, data: str}", "bad-request")
            )
            return
        state = session.state
        if state.ended:
            await emit_error(sid, stream_error("stream has already ended", "stream-ended"))
            return
        state.last_activity = time.monotonic()
        size = len(data.encode("utf-8"))
        if size > self.config.max_chunk_bytes:
            await emit_error(
                sid,
                stream_error(
                    f"chunk {seq} is {size} bytes; the limit is {self.config.max_chunk_bytes}",
                    "chunk-too-large",
                ),
            )
            return
        expected = len(state.chunks)
        if seq > expected:
            await emit_error(
                sid, stream_error(f"seq gap: expected seq {expected}, got {seq}", "seq-gap")
            )
            return
        chunk = state.chunks[seq] if seq < expected else self.store.append(state, data, size)
        session.received += 1
        faults = self.config.faults
        if faults.drop_after_chunks is not None and session.received >= faults.drop_after_chunks:
            self._fault_fired(
                state,
                "drop-after-chunks",
                f"dropped the producer's connection after {session.received} chunks, the last "
                "one stored but not acknowledged",
            )
            faults.drop_after_chunks = None
            session.closing = True
            self.connections.spawn(self._drop_transport(sid))
            return
        self._ack(session, chunk)
        if faults.error_after_chunks is not None and session.received >= faults.error_after_chunks:
            self._fault_fired(
                state,
                "error-after-chunks",
                f"sent stream:error [{faults.error_code}] after {session.received} chunks; "
                "the stream ends producer-error",
            )
            faults.error_after_chunks = None
            message = "injected fault: stream error from the dev server"
            if faults.echo_credentials:
                message += f" (your Authorization: {session.authorization})"
            await emit_error(sid, stream_error(message, faults.error_code))
            self._end_and_kick(session, "producer-error")

    async def on_end(self, sid: str, payload: Any = None, *_: Any) -> Any:
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
            self._fault_fired(state, "withhold-end-ack", "stored END but did not answer it")
            return self.sio.not_handled
        self._queue_ack(session, {"seq": last_seq + 1, "redisId": end_id})
        success: EndAck = {"success": True, "endRedisId": end_id}
        return success

    async def on_heartbeat(self, sid: str, *_: Any) -> None:
        session = self._producer(sid)
        if session is None:
            return
        session.state.heartbeats += 1
        session.state.last_activity = time.monotonic()

    def _fault_fired(self, state: StreamState, flag: str, what: str) -> None:
        state.mark("fault", fault=flag)
        self.store.report("fault", state.stream_id, fault=flag, what=what)

    def _end_and_kick(self, session: ProducerSession, reason: str) -> None:
        session.closing = True
        self.store.end(session.state, reason)
        self.connections.spawn(self._disconnect_after_acks(session))

    async def _disconnect_after_acks(self, session: ProducerSession) -> None:
        while session.acks_pending and session.ack_task is not None and not session.ack_task.done():
            await asyncio.sleep(0.01)
        await self.sio.disconnect(session.sid)

    async def _drop_transport(self, sid: str) -> None:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            await self.sio.eio.disconnect(eio_sid)

    # acks

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

    # timers

    async def expire_streams(self) -> None:
        """End streams past the inactivity timeout or resume grace; drop them after retention."""
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
                session = self.connections.sessions.get(state.producer_sid)
                if isinstance(session, ProducerSession):
                    await self.connections.emit_error(
                        session.sid,
                        stream_error(
                            f"no producer activity for {cfg.inactivity_timeout:g}s; stream ended",
                            None,
                        ),
                    )
                    self._end_and_kick(session, "inactivity-timeout")
                else:
                    self.store.end(state, "inactivity-timeout")
