"""One stream written over one connection, or over several when the connection drops."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .._core.acks import InFlightWindow, ResumeImpossible
from .._core.backoff import retry_delay
from .._core.errors import (
    AckTimeoutError,
    ConnectError,
    ConnectionLostError,
    EndRejectedError,
    EndTimeoutError,
    HandshakeRejectedError,
    StreamError,
    StreamstraightServerError,
    WriterClosedError,
)
from .._core.options import ServerOptions, StreamOptions
from .._core.protocol import (
    EV_ACK,
    EV_CHUNK,
    EV_CONNECTION_ERROR,
    EV_END,
    EV_HEARTBEAT,
    EV_INFO,
    EV_STREAM_ERROR,
    last_seq_for,
    producer_auth,
)
from .._core.version import sdk_version
from .._shims._async import (
    AsyncEvent,
    AsyncLock,
    AsyncSocket,
    AsyncTask,
    SocketError,
    monotonic,
    sleep,
)
from .connector import open_producer_socket

logger = logging.getLogger("streamstraight_server")

#: how long to wait for ``stream:info`` after a handshake; a server may not send it
INFO_WAIT = 1.0
#: without a single ``producer:ack`` by then, the server is taken to confirm only END
ACK_PROBE = 2.0


class AsyncProducerSession:
    """The producer side of one stream: handshake, window, acks, resume, heartbeat, END."""

    def __init__(self, options: ServerOptions, stream: StreamOptions) -> None:
        self.options = options
        self.stream = stream
        self.window = InFlightWindow(options.max_in_flight_chunks, options.max_in_flight_bytes)
        self.ended = False
        self.end_redis_id: str | None = None
        self._socket: AsyncSocket | None = None
        self._lost = False
        self._closed = False
        self._error: StreamstraightServerError | None = None
        self._info: dict[str, Any] | None = None
        self._info_event = AsyncEvent()
        self._wakeup = AsyncEvent()
        self._waiting = False
        #: while waiting, acks wake the writer only once this seq is confirmed
        self._wake_at = 0
        self._stop = AsyncEvent()
        self._heartbeat: AsyncTask | None = None
        self._lock = AsyncLock()

    def __repr__(self) -> str:
        return (
            f"<AsyncProducerSession stream_id={self.stream.stream_id!r} "
            f"sent={self.window.sent} confirmed={self.window.confirmed} ended={self.ended}>"
        )

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def connected(self) -> bool:
        return self._socket is not None and not self._lost and self._socket.connected

    # -- errors -------------------------------------------------------------------------

    def _progress(self, error: StreamstraightServerError) -> StreamstraightServerError:
        window = self.window
        window.prune()
        return error.with_progress(self.stream.stream_id, window.acked_through, window.sent)

    def _check(self) -> None:
        if self._error is not None:
            raise self._progress(self._error)
        if self._closed:
            raise WriterClosedError("the connection was closed by disconnect()")

    # -- socket events (run on the socket's reader; they only record state) ------------

    def _handlers(self, socket_ref: list[AsyncSocket]) -> dict[str, Any]:
        def current() -> bool:
            return bool(socket_ref) and socket_ref[0] is self._socket

        def on_ack(payload: Any = None) -> None:
            if isinstance(payload, dict) and current():
                self.window.note_ack(payload.get("seq"))
                if self._waiting and self.window.acked_through >= self._wake_at:
                    self._wakeup.set()

        def on_info(payload: Any = None) -> None:
            if isinstance(payload, dict) and current():
                self._info = payload
                self._info_event.set()

        def on_error(payload: Any = None) -> None:
            if not current():
                return
            data = payload if isinstance(payload, dict) else {}
            retry = data.get("retryInMs")
            error = StreamError(
                f"the server reported: {data.get('message') or 'an unspecified error'}",
                code=data.get("code") if isinstance(data.get("code"), str) else None,
                retry_in_ms=retry if isinstance(retry, int) else None,
            )
            logger.error("stream %r: %s", self.stream.stream_id, error)
            if self._error is None:
                self._error = error
            self._info_event.set()
            self._wakeup.set()

        return {
            EV_ACK: on_ack,
            EV_INFO: on_info,
            EV_STREAM_ERROR: on_error,
            EV_CONNECTION_ERROR: on_error,
        }

    def _on_disconnect(self, socket_ref: list[AsyncSocket]) -> Any:
        def on_disconnect(*_reason: Any) -> None:
            if socket_ref and socket_ref[0] is self._socket and not self._closed:
                self._lost = True
                self._info_event.set()
                self._wakeup.set()

        return on_disconnect

    # -- connecting ---------------------------------------------------------------------

    async def open(self) -> None:
        """First connection, with retries; continues a stream the server already holds."""
        await self._connect(resuming=False)
        info = await self._await_info()
        last_seq = info.get("lastSeq") if info else None
        if info and info.get("ended"):
            raise HandshakeRejectedError(
                f"stream {self.stream.stream_id!r} has already ended; pass "
                "overwrite_existing_stream=True to replace it",
                code="stream-ended",
            )
        if isinstance(last_seq, int) and last_seq >= 0:
            logger.warning(
                "stream %r already holds chunks 0..%d from an earlier producer; "
                "continuing at seq %d",
                self.stream.stream_id,
                last_seq,
                last_seq + 1,
            )
            self.window.start_at(last_seq + 1)
        interval = self.options.heartbeat_interval
        if interval is not None:
            self._heartbeat = AsyncTask(self._beat, name="streamstraight-heartbeat")

    async def _await_info(self) -> dict[str, Any] | None:
        await self._info_event.wait(min(INFO_WAIT, self.options.connect_timeout))
        if self._error is not None:
            await self._drop_socket()
            raise self._error
        return self._info

    async def _connect(self, *, resuming: bool) -> None:
        overwrite = self.stream.overwrite_existing_stream and not resuming and not self.window.sent
        try:
            self._socket = await open_producer_socket(
                self.options,
                producer_auth(self.stream.stream_id, sdk_version(), overwrite),
                self._new_socket,
                attempts=1 if resuming else self.options.num_connect_retries + 1,
                resuming=resuming,
                aborted=lambda: self._closed,
            )
        except BaseException:
            self._socket = None
            raise
        self._lost = False

    def _new_socket(self) -> AsyncSocket:
        socket_ref: list[AsyncSocket] = []
        socket = AsyncSocket(self._handlers(socket_ref), self._on_disconnect(socket_ref))
        socket_ref.append(socket)
        self._info = None
        self._info_event.clear()
        self._error = None
        self._socket = socket  # current from the handshake on, so its stream:info counts
        return socket

    async def _resume(self) -> None:
        """Reconnect after a drop and resend what the server lacks; raise when impossible."""
        window = self.window
        window.prune()
        logger.warning(
            "stream %r: connection lost with %d of %d chunks confirmed; resuming",
            self.stream.stream_id,
            window.acked_through,
            window.sent,
        )
        await self._drop_socket()
        started = monotonic()
        failures: list[str] = []
        for attempt in range(self.options.resume_attempts):
            if monotonic() - started > self.options.resume_timeout:
                break
            if attempt:
                await sleep(retry_delay(self.options.connect_retry_delay_ms, attempt - 1))
            try:
                await self._connect(resuming=True)
                info = await self._await_info()
            except (ConnectError, StreamError) as exc:
                failures.append(str(exc))
                continue
            except StreamstraightServerError as exc:
                raise self._progress(
                    ConnectionLostError(f"the connection dropped and resuming was refused: {exc}")
                ) from None
            if info and info.get("ended"):
                raise self._progress(
                    ConnectionLostError(
                        "the connection dropped and the server has ended the stream meanwhile"
                    )
                )
            last_seq = info.get("lastSeq") if info else None
            try:
                resend = window.resume_from(last_seq if isinstance(last_seq, int) else None)
            except ResumeImpossible as exc:
                raise self._progress(ConnectionLostError(f"cannot resume: {exc}")) from None
            try:
                for chunk in resend:
                    await self._emit_chunk(chunk.seq, chunk.data)
            except SocketError as exc:
                failures.append(str(exc))
                self._lost = True
                continue
            logger.info(
                "stream %r: resumed; resent %d chunks from seq %s",
                self.stream.stream_id,
                len(resend),
                resend[0].seq if resend else window.sent,
            )
            return
        self._error = ConnectionLostError(
            f"the connection dropped and could not be resumed within "
            f"{self.options.resume_attempts} attempts / {self.options.resume_timeout:g}s"
            + (f": {failures[-1]}" if failures else "")
        )
        raise self._progress(self._error)

    async def _drop_socket(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close()

    # -- writing ------------------------------------------------------------------------

    async def _emit_chunk(self, seq: int, data: str) -> None:
        socket = self._socket
        if socket is None:
            raise SocketError("not connected")
        await socket.emit(EV_CHUNK, {"seq": seq, "data": data})

    async def send(self, data: str) -> int:
        """Queue one encoded chunk; waits only while the in-flight window is full."""
        async with self._lock:
            if self._error is not None or self._closed or self.ended:
                self._check_writable()
            window = self.window
            if not window.has_room(len(data)):
                await self._make_room(len(data))
            if self._lost:
                await self._resume()
            seq = window.add(data)
            try:
                await self._emit_chunk(seq, data)
            except SocketError:
                self._lost = True  # the chunk stays in the window and is resent on resume
            return seq

    def _check_writable(self) -> None:
        self._check()
        if self.ended:
            raise WriterClosedError(
                f"stream {self.stream.stream_id!r} has ended; connect() again to write another"
            )

    async def _make_room(self, size: int) -> None:
        window = self.window
        # wake once a quarter of what is in flight is confirmed rather than on every ack
        wake_at = window.oldest_held + max(1, window.unconfirmed // 4)
        await self._wait_until(
            lambda: window.has_room(size), "room in the in-flight window", wake_at
        )
        while window.end_only and not window.has_room(size):
            window.evict_oldest()

    async def flush(self) -> None:
        """Return once the server has confirmed every chunk sent so far (at once with a server
        that confirms only END: see ``InFlightWindow.end_only``)."""
        async with self._lock:
            self._check_writable()
            window = self.window
            await self._wait_until(lambda: window.unconfirmed == 0, "confirmation", window.sent)

    async def _wait_until(self, done: Callable[[], bool], what: str, wake_at: int) -> None:
        window = self.window
        mark = window.acked_through
        started = monotonic()
        deadline = started + self.options.ack_timeout
        if window.end_only and window.acks_seen:
            logger.info("stream %r: the server confirms chunks again", self.stream.stream_id)
            window.end_only = False
        while True:
            self._wake_at = min(wake_at, window.sent)
            self._waiting = True
            self._wakeup.clear()
            try:
                self._check()
                if self._lost:
                    await self._resume()
                    deadline = monotonic() + self.options.ack_timeout
                    continue
                if done() or window.end_only:
                    return
                now = monotonic()
                if window.acked_through != mark:
                    mark = window.acked_through
                    deadline = now + self.options.ack_timeout
                if not window.acks_seen and now - started >= min(
                    ACK_PROBE, self.options.ack_timeout
                ):
                    logger.warning(
                        "stream %r: the server sends no per-chunk acks; chunks are confirmed "
                        "when the stream ends",
                        self.stream.stream_id,
                    )
                    window.end_only = True
                    return
                if now >= deadline:
                    raise self._progress(
                        AckTimeoutError(
                            f"no confirmation from the server for {self.options.ack_timeout:g}s "
                            f"while waiting for {what}"
                        )
                    )
                await self._wakeup.wait(deadline - now)
            finally:
                self._waiting = False

    async def _beat(self) -> None:
        interval = self.options.heartbeat_interval or 0.0
        seen = self.window.sent
        while not await self._stop.wait(interval):
            socket = self._socket
            if self.window.sent == seen and socket is not None and not self._lost:
                try:
                    await socket.emit(EV_HEARTBEAT, {})
                except SocketError:
                    pass  # the disconnect handler has marked the connection lost
            seen = self.window.sent

    # -- ending -------------------------------------------------------------------------

    async def end(self, reason: str) -> str:
        """Send END and return the server's id for it once the server confirms it.

        A drop before the answer resumes the stream and sends END again."""
        async with self._lock:
            self._check_writable()
            for _ in range(self.options.resume_attempts + 1):
                if self._lost:
                    await self._resume()
                answer = await self._send_end(reason)
                if answer:
                    return self._ended(answer[0])
            raise self._progress(ConnectionLostError("the connection kept dropping during END"))

    async def _send_end(self, reason: str) -> list[Any]:
        """One END attempt: the answer in a list, or an empty list if the connection dropped."""
        answer: list[Any] = []

        def on_answer(*args: Any) -> None:
            answer.append(args[0] if args else None)
            self._wakeup.set()

        payload = {"reason": reason, "lastSeq": last_seq_for(self.window.sent)}
        socket = self._socket
        try:
            if socket is None:
                raise SocketError("not connected")
            await socket.emit_with_ack(EV_END, payload, on_answer)
        except SocketError:
            self._lost = True
            return answer
        deadline = monotonic() + self.options.end_timeout
        # acks do not wake this wait (self._waiting stays False): only the answer, an error
        # or a drop does
        while True:
            self._wakeup.clear()
            if answer:
                return answer
            self._check()
            if self._lost:
                return answer
            remaining = deadline - monotonic()
            if remaining <= 0:
                raise self._progress(
                    EndTimeoutError(
                        f"the server did not answer END within {self.options.end_timeout:g}s"
                    )
                )
            await self._wakeup.wait(remaining)

    def _ended(self, answer: Any) -> str:
        if isinstance(answer, dict) and answer.get("success") is True:
            self.window.confirm_all()
            self.ended = True
            self.end_redis_id = str(answer.get("endRedisId", ""))
            logger.info(
                "stream %r: ended, %d chunks confirmed", self.stream.stream_id, self.window.sent
            )
            return self.end_redis_id
        if isinstance(answer, dict) and answer.get("success") is False:
            raise self._progress(
                EndRejectedError(f"the server refused END: {answer.get('error') or 'no reason'}")
            )
        self._check()
        raise self._progress(
            EndRejectedError(f"the server answered END with something unexpected: {answer!r}")
        )

    async def abort(self) -> None:
        """Best effort after an exception or cancellation: END with producer-error, then close."""
        try:
            if not self.ended and self._error is None and self.connected:
                socket = self._socket
                if socket is not None:
                    payload = {
                        "reason": "producer-error",
                        "lastSeq": last_seq_for(self.window.sent),
                    }
                    await socket.call(EV_END, payload, min(self.options.end_timeout, 5.0))
                    self.ended = True
        except (SocketError, StreamstraightServerError) as exc:
            logger.warning(
                "stream %r: could not send END after an error: %s", self.stream.stream_id, exc
            )
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the socket and stop the heartbeat. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if not self.ended and self.window.sent and self._error is None:
            logger.warning(
                "stream %r: disconnected with %d chunks sent and no END; readers will see "
                "the stream end as producer-disconnected",
                self.stream.stream_id,
                self.window.sent,
            )
        self._stop.set()
        self._wakeup.set()  # a writer waiting on the server sees the close at once
        await self._drop_socket()
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            await heartbeat.join()
