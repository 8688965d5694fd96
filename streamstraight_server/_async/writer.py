"""The writer: ``send()`` chunks, ``flush()`` to see them confirmed, ``close()`` to end."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from .._core.cancel import CancelRequest, StreamCancelledError
from .._core.encoder import chunk_size, encode_chunk
from .._core.errors import StreamstraightServerError, WriterClosedError
from .._core.options import StreamOptions
from .._core.protocol import ProducerEndReason
from .._core.stats import WriterStats
from .._core.watch import StreamWatch
from .._shims._async import AsyncHome, AsyncLock, AsyncTask, PlainWithGuard, monotonic, shielded
from .cancel import AsyncCancelRegistry
from .session import AsyncStreamSession

logger = logging.getLogger("streamstraight_server")


class AsyncWriterHost(Protocol):
    """What a writer needs of the client that made it, handed over when it is made: a way to
    open its session, and the registry that ``cancel()`` looks writers up in."""

    _cancels: AsyncCancelRegistry

    async def _session_for(
        self, stream: StreamOptions | None, *, log_failure: bool = True
    ) -> AsyncStreamSession: ...


class AsyncStreamWriter(PlainWithGuard):
    """Writes one stream over a connection of its own. Use it as a context manager: leaving it
    sends END and waits for the server to confirm it; an exception inside ends the stream with
    ``producer-error``.

    ``stream`` None is the official SDK's "current stream" of the client (see ``connect()``).
    ``log_failure`` False leaves logging the writer's failure to its owner (``tee()``).
    """

    def __init__(
        self,
        host: AsyncWriterHost,
        stream: StreamOptions | None,
        *,
        log_failure: bool = True,
    ) -> None:
        self._host = host
        self._stream = stream
        self._log_failure = log_failure
        self._session: AsyncStreamSession | None = None
        self._closed = False
        self._start_lock = AsyncLock()
        # cancel(): the stop asked for, the task carrying it out, and what it came to
        self._stop: CancelRequest | None = None
        self._stopper: AsyncTask | None = None
        self._stop_hooks: list[Callable[[], None]] = []
        self._stop_end_id: str | None = None
        self._stop_error: BaseException | None = None
        self._home: AsyncHome | None = None
        self._registered: str | None = None  # the id this writer answers cancel() for
        self._owned = False  # a tee drives this writer and answers cancel() itself

    def __repr__(self) -> str:
        session = self._session
        if session is None:
            return "<AsyncStreamWriter (not started)>"
        machine = session.machine
        return (
            f"<AsyncStreamWriter stream_id={machine.stream_id!r} {machine.state.value} "
            f"sent={machine.sent} confirmed={machine.confirmed}>"
        )

    @property
    def stream_id(self) -> str | None:
        if self._session is not None:
            return self._session.stream.stream_id
        return self._stream.stream_id if self._stream is not None else None

    @property
    def sent(self) -> int:
        """Chunks of the stream handed to the server so far (seq ``0 .. sent - 1``)."""
        return self._session.machine.sent if self._session else 0

    @property
    def confirmed(self) -> int:
        """Chunks the server has confirmed so far: it holds seq ``0 .. confirmed - 1``."""
        return self._session.machine.confirmed if self._session else 0

    @property
    def stats(self) -> WriterStats:
        """This stream's figures so far: chunks and bytes sent, confirmed and resent, drops
        and reconnects, time to the first confirmed chunk, ack latency (p50, p99)."""
        session = self._session
        if session is None:
            return StreamWatch(self.stream_id or "", monotonic()).stats()
        return session.watch.stats()

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` stopped this stream: ``send()`` raises from then on."""
        return self._stop is not None

    async def _started(self) -> AsyncStreamSession:
        if self._closed:
            raise WriterClosedError("this writer is closed; open a new stream_writer()")
        session = self._session
        if session is None:
            session = await self._open_session()
        return session

    async def _open_session(self) -> AsyncStreamSession:
        """Connect once, however many callers (the writer's user, a stop) ask at once."""
        async with self._start_lock:
            session = self._session
            if session is None:
                self._arm()
                try:
                    session = await self._host._session_for(
                        self._stream, log_failure=self._log_failure
                    )
                except BaseException:
                    self._disarm()
                    raise
                self._session = session
                self._arm()  # the current stream's id is known only now
        return session

    # -- cancel() ------------------------------------------------------------------------

    def _arm(self) -> None:
        """Answer ``cancel()`` for this stream from now on (not when a tee drives it)."""
        if self._owned or self._registered is not None or self._closed:
            return
        stream_id = self.stream_id
        if stream_id is None:
            return
        if self._home is None:
            self._home = AsyncHome()
        if self._host._cancels.add(stream_id, self):
            self._registered = stream_id

    def _still_running(self) -> bool:
        session = self._session
        return not self._closed and (session is None or session.live)

    def _disarm(self) -> None:
        stream_id, self._registered = self._registered, None
        if stream_id is not None:
            self._host._cancels.discard(stream_id, self)

    def _on_stop(self, hook: Callable[[], None]) -> None:
        """``hook()`` runs when a stop begins (``stream()`` interrupts its source with it)."""
        self._stop_hooks.append(hook)

    def _stop_soon(self, request: CancelRequest) -> None:
        """``cancel()`` reached this writer; callable from any task or thread."""
        home = self._home
        if home is None:
            self._begin_stop(request)
        else:
            home.call(lambda: self._begin_stop(request))

    def _begin_stop(self, request: CancelRequest) -> None:
        if self._stop is not None or self._closed:
            return  # stopping already, or ending anyway
        self._stop = request
        for hook in self._stop_hooks:
            hook()
        self._stopper = AsyncTask(self._stop_now, name=f"streamstraight-stop-{self.stream_id}")

    async def _stop_now(self) -> None:
        """Send the final chunk, if any, then END with the stop's reason."""
        request = self._stop
        assert request is not None
        session: AsyncStreamSession | None = None
        ended = False
        try:
            async with self._start_lock:  # a connection being opened is waited for
                session = self._session
            if session is None:
                return  # opening failed: whoever opened it has the error
            session.watch.stop_requested(request.reason, request.has_final_chunk)
            if request.has_final_chunk:
                await self._send_final(session, request.final_chunk)
            self._stop_end_id = await session.end(request.reason)
            ended = True
            logger.info(
                "stream %r: stopped by cancel() (%s), %d chunks",
                session.stream.stream_id,
                request.reason,
                session.machine.sent,
            )
        except Exception as exc:
            self._stop_error = exc
            if not isinstance(exc, StreamstraightServerError):
                logger.error("stream %r: stopping it failed: %s", self.stream_id, exc)
        finally:
            if session is not None and not (ended and session.stream.keep_open):
                await shielded(session.close)
            self._disarm()

    async def _send_final(self, session: AsyncStreamSession, chunk: Any) -> None:
        try:
            data = encode_chunk(session.stream.encoder, chunk)
            size = chunk_size(data, session.options.max_chunk_bytes) if data else 0
        except StreamstraightServerError as exc:  # the stream still ends, without it
            logger.error(
                "stream %r: the final chunk of the stop was not sent: %s", self.stream_id, exc
            )
            return
        if data:
            await session.send(data, size)

    async def _join_stop(self) -> None:
        stopper = self._stopper
        if stopper is not None:
            await stopper.join()

    def _raise_stop_error(self) -> None:
        error = self._stop_error
        if isinstance(error, StreamstraightServerError):
            raise error.fresh()
        if error is not None:
            raise error

    def _cancelled_error(self) -> StreamCancelledError:
        return StreamCancelledError(
            "stopped by cancel(): the writer takes no more chunks, and the stream ends as the "
            "stop asked when the writer's block is left",
            stream_id=self.stream_id,
        )

    async def __aenter__(self) -> AsyncStreamWriter:
        await self._started()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        if self._closed:
            return None
        if self._stop is not None:
            self._closed = True
            await shielded(self._join_stop)
            ours = isinstance(exc, StreamCancelledError) and exc.stream_id == self.stream_id
            if exc is not None and not ours:
                return None  # another exception goes on; the stop ended the stream meanwhile
            self._raise_stop_error()
            return ours  # the stop this writer raised for ends here, as cancel scopes do
        if exc_type is None:
            await self.close()
        else:
            self._closed = True
            try:
                session = self._session
                if session is not None:
                    await shielded(session.abort)
            finally:
                self._disarm()
        return None

    async def send(self, chunk: Any) -> int | None:
        """Encode and send one chunk; returns its seq, or None for a chunk that encodes to "".

        Returns without waiting for the server unless the in-flight window is full. A chunk
        that cannot be encoded, is not valid text or is larger than ``max_chunk_bytes`` raises
        (:class:`EncodeError`, :class:`ChunkTooLargeError`) before anything is sent, and leaves
        the writer usable.
        """
        session = self._session or await self._started()
        if self._closed:
            raise WriterClosedError("this writer is closed; open a new stream_writer()")
        if self._stop is not None:
            raise self._cancelled_error()
        data = encode_chunk(session.stream.encoder, chunk)
        if not data:
            return None
        try:
            return await session.send(data, chunk_size(data, session.options.max_chunk_bytes))
        except WriterClosedError:
            if self._stop is not None:  # the stop ended the stream while this chunk waited
                raise self._cancelled_error() from None
            raise

    async def flush(self) -> None:
        """Return once the server has confirmed every chunk sent so far.

        With a server that sends no per-chunk acks (found out within 2 seconds, once per
        stream), it returns without waiting: such a server confirms the stream when it ends."""
        session = await self._started()
        if self._stop is not None:
            raise self._cancelled_error()
        await session.flush()

    async def close(self, *, reason: ProducerEndReason = "completed") -> str | None:
        """End the stream and wait for the server to confirm it; returns its END id.

        Disconnects afterwards unless the stream was opened with ``keep_open=True``.
        Calling it again does nothing.
        """
        if self._closed:
            return None
        if self._stop is not None:  # cancel() is ending the stream: wait for it
            self._closed = True
            await self._join_stop()
            self._raise_stop_error()
            return self._stop_end_id
        session = await self._started()
        self._closed = True
        try:
            end_id = await session.end(reason)
        except BaseException:
            await shielded(session.close)
            raise
        finally:
            self._disarm()
        if not session.stream.keep_open:
            await session.close()
        return end_id
