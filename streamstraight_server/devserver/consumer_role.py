"""The consumer side of a run: the handshake, then replaying a stream and tailing it to its end."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from streamstraight_server._core.protocol import (
    EV_STREAM_CHUNK,
    EV_STREAM_END,
    ChunkPayload,
    StreamEndPayload,
)

from .connections import ConsumerSession, ProducerSession, Role, stream_error
from .handshake import check_consumer
from .store import StreamState
from .tokens import TokenIssuer

# engine.io packets queued for one consumer before its sender waits for the socket to drain
CONSUMER_BACKLOG = 64


@dataclass(eq=False)
class ConsumerRole(Role):
    issuer: TokenIssuer

    def connect(self, sid: str, auth: dict[str, Any]) -> None:
        stream_id = check_consumer(auth, self.issuer, echo=self.config.faults.echo_credentials)
        self.connections.sessions[sid] = ConsumerSession(sid, stream_id)

    async def on_ready(self, sid: str, payload: Any = None, *_: Any) -> None:
        session = self.connections.sessions.get(sid)
        if not isinstance(session, ConsumerSession):
            if isinstance(session, ProducerSession):
                await self.connections.emit_error(
                    sid, stream_error("producers cannot read streams", "bad-request")
                )
            return
        if payload is None:
            payload = {}
        from_seq = payload.get("fromSeq", 0) if isinstance(payload, dict) else None
        if from_seq is None and isinstance(payload, dict):
            from_seq = 0
        if not isinstance(from_seq, int) or isinstance(from_seq, bool) or from_seq < 0:
            await self.connections.emit_error(
                sid, stream_error("consumer:ready takes {} or {fromSeq: int >= 0}", "bad-request")
            )
            return
        if session.task is not None and not session.task.done():
            return
        session.task = self.connections.spawn(self._serve(session, from_seq))

    async def _serve(self, session: ConsumerSession, from_seq: int) -> None:
        stream_id = session.stream_id
        waiting = self.store.get(stream_id) is None
        self.store.report(
            "consumer-connected",
            stream_id,
            fromSeq=from_seq,
            waiting=waiting,
            wait=self.config.consumer_wait,
        )
        state = await self._wait_for_stream(stream_id)
        if state is None:
            self.store.report("consumer-not-found", stream_id, wait=self.config.consumer_wait)
            end: StreamEndPayload = {"reason": "not-found", "lastSeq": 0}
            await self.sio.emit(EV_STREAM_END, end, to=session.sid)
            return
        state.consumers += 1
        self.store.touched(state)
        try:
            await self._replay_and_tail(session.sid, state, from_seq)
        finally:
            state.consumers -= 1
            self.store.touched(state)

    async def _wait_for_stream(self, stream_id: str) -> StreamState | None:
        """The stream, once it exists; None when it does not within ``consumer_wait``."""
        state = self.store.get(stream_id)
        if state is None:
            deadline = time.monotonic() + self.config.consumer_wait
            while state is None:
                changed = self.store.changed
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
                state = self.store.get(stream_id)
        return state

    async def _replay_and_tail(self, sid: str, state: StreamState, from_seq: int) -> None:
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
