"""``tee()``: one source, two readers: the HTTP response and a Streamstraight stream.

A background pump consumes the whole source, whoever reads the HTTP side. Each chunk goes to
two bounded queues: the HTTP reader's (when it falls more than ``buffer`` chunks behind it is
detached, so a stalled browser never holds the source back) and the Streamstraight sender's
(which holds the source back while the server is behind: the writer's in-flight window is
bounded too). The sender runs in a task of its own, so the HTTP response never waits for the
connection to Streamstraight, and its failure never touches the HTTP side (fail-open).

``cancel()`` stops a tee: the pump stops reading (in the asynchronous client its task is
cancelled while it waits on the source, which cancels the model's call; a blocking source is
closed once it yields its next chunk, which is dropped) and closes the source; the sender
sends the chunks the pump had already taken, the final chunk if one was given, and END. The
HTTP response gets the same chunks and ends. ``on_complete`` runs once the source is done and
the stream ended.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from .._core.cancel import NO_FINAL_CHUNK, CancelRequest
from .._core.errors import (
    ChunkTooLargeError,
    ConfigurationError,
    EncodeError,
    ReaderDetachedError,
    StreamError,
    StreamstraightServerError,
    describe,
    progress_text,
)
from .._core.keep import OnComplete, StreamResult
from .._core.options import StreamOptions
from .._core.protocol import ProducerEndReason
from .._core.stderr_fallback import FOR_A_PERSON
from .._shims._async import (
    AsyncEvent,
    AsyncHome,
    AsyncInterrupt,
    AsyncQueue,
    AsyncTask,
    Cancelled,
    PlainForGuard,
    StateGuard,
    monotonic,
)
from .feed import close_source, deliver
from .writer import AsyncStreamWriter, AsyncWriterHost

logger = logging.getLogger("streamstraight_server")

#: chunks an HTTP reader may fall behind the source before it is detached
DEFAULT_TEE_BUFFER = 1024


class _End:
    """The source is exhausted."""


class _Detached:
    """The HTTP reader fell too far behind."""


class _Failed:
    """The source raised ``error``."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Stopped:
    """The pump stopped reading the source: ``cancel()``."""


class _Wake:
    """Wakes the sender to see a stop."""


_END = _End()
_DETACHED = _Detached()
_STOPPED = _Stopped()
_WAKE = _Wake()
_SOURCE_DONE = (_End, _Failed, _Stopped)

#: the groups (one per client) with a tee still running: the loop keeps only weak references
#: to its tasks, so without this a tee whose client and response are both dropped could be
#: collected mid-flight
_GROUPS_RUNNING: set[AsyncTeeGroup] = set()
_GROUPS_GUARD = StateGuard()


class AsyncTee(PlainForGuard):
    """What ``client.tee()`` returns: iterate it for the source's chunks (the HTTP response),
    and wait on it for the Streamstraight side (``await tee.wait()``).

    The source and the stream go on when the HTTP reader stops early, is cancelled or is
    dropped; the stream then ends ``completed`` once the source is exhausted.
    """

    def __init__(
        self,
        client: AsyncWriterHost,
        chunks: AsyncIterator[Any],
        stream: StreamOptions,
        buffer: int,
        on_done: AsyncTeeGroup,
        on_complete: OnComplete | None = None,
    ) -> None:
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1:
            raise ConfigurationError(f"buffer must be a positive number of chunks, not {buffer!r}")
        self.stream_id = stream.stream_id
        self._chunks = chunks
        self._buffer = buffer
        self._writer = AsyncStreamWriter(client, stream, log_failure=False)  # logged here, once
        self._writer._owned = True  # cancel() reaches the tee, which stops its writer
        self._group = on_done
        self._to_reader = AsyncQueue(buffer + 1)  # + 1: room for the end marker
        self._to_server = AsyncQueue(buffer)
        self._reader_attached = True
        self._reader_done = False
        self._sent = 0
        self._source_error: BaseException | None = None
        self._server_error: BaseException | None = None
        self._source_done = False  # the sender has taken the source's last item
        self._done = AsyncEvent()
        self._on_complete = on_complete
        self._kept: list[Any] | None = [] if on_complete is not None else None
        # cancel(): chunks the pump committed to the sender, and how many the sender took
        self._guard = StateGuard()
        self._stop: CancelRequest | None = None
        self._accepted = 0
        self._accepted_at_stop = 0
        self._taken = 0
        self._reader_over = False  # the reader was given its last item
        self._interrupt: AsyncInterrupt | None = None
        self._home = AsyncHome()
        self._cancels = client._cancels
        self._registered = self._cancels.add(self.stream_id, self)
        on_done.add(self)
        self._sender = AsyncTask(self._send_all, name=f"streamstraight-tee-send-{self.stream_id}")
        self._pump = AsyncTask(self._pump_all, name=f"streamstraight-tee-{self.stream_id}")

    def __repr__(self) -> str:
        state = "done" if self._done.is_set() else "running"
        return f"<AsyncTee stream_id={self.stream_id!r} {state} sent={self._sent}>"

    # -- the HTTP side ------------------------------------------------------------------

    def __aiter__(self) -> AsyncTee:
        return self

    async def __anext__(self) -> Any:
        if self._reader_done:
            raise StopAsyncIteration
        item = await self._to_reader.get()
        if isinstance(item, _End):
            self._reader_done = True
            raise StopAsyncIteration
        if isinstance(item, _Failed):
            self._reader_done = True
            raise item.error
        if isinstance(item, _Detached):
            self._reader_done = True
            raise ReaderDetachedError(
                f"the response fell more than {self._buffer} chunks behind its source and was "
                "detached; the stream goes on: its reader can resume it from Streamstraight",
                stream_id=self.stream_id,
            )
        return item

    async def aclose(self) -> None:
        """Stop reading (the HTTP client went away); the source and the stream go on."""
        self._reader_done = True
        self._reader_attached = False
        self._to_reader.drain()

    def _give_reader(self, item: Any) -> None:
        if self._reader_over or not self._reader_attached:
            return
        if isinstance(item, (_End, _Failed)):
            self._reader_over = True
        if self._to_reader.size() < self._buffer and self._to_reader.offer(item):
            return
        if isinstance(item, (_End, _Failed)) and self._to_reader.offer(item):
            return
        self._reader_attached = False
        self._to_reader.drain()
        self._to_reader.offer(_DETACHED)
        logger.info(
            "stream %r: the response fell more than %d chunks behind and was detached; "
            "the stream goes on",
            self.stream_id,
            self._buffer,
        )

    # -- the background work -------------------------------------------------------------

    async def _pump_all(self) -> None:
        self._interrupt = interrupt = AsyncInterrupt()
        chunks, guard, kept = self._chunks, self._guard, self._kept
        try:
            while self._stop is None:
                interrupt.armed = True  # a stop cancels this task while it waits on the source
                try:
                    chunk = await chunks.__anext__()
                finally:
                    interrupt.armed = False
                with guard:
                    if self._stop is not None:
                        break  # yielded after the stop: dropped
                    self._accepted += 1
                    if kept is not None:
                        kept.append(chunk)
                    self._give_reader(chunk)
                if self._server_error is None:
                    await self._to_server.put(chunk)
        except StopAsyncIteration:
            with guard:
                self._give_reader(_END)
            await self._to_server.put(_END)
            return
        except BaseException as exc:
            # after a stop, the source's end (its cancellation included) is the stop's
            stopped = self._stop is not None and (
                isinstance(exc, Exception) or (isinstance(exc, Cancelled) and interrupt.absorb())
            )
            if not stopped:
                await self._source_failed(exc)
                return
        interrupt.settle()
        await close_source(chunks)
        await self._to_server.put(_STOPPED)

    async def _source_failed(self, exc: BaseException) -> None:
        self._source_error = exc
        if not self._reader_attached:
            logger.error(
                "stream %r: the source raised %s; the stream ends with producer-error",
                self.stream_id,
                type(exc).__name__,
                extra=FOR_A_PERSON,
            )
        with self._guard:
            self._give_reader(_Failed(exc))
        await self._to_server.put(_Failed(exc))
        if not isinstance(exc, Exception):
            raise exc

    async def _send_all(self) -> None:
        try:
            try:
                await self._stream_to_server()
            except Exception as exc:
                if self._source_error is None:
                    self._server_error = exc
                    logger.error(
                        "stream %r: streaming to Streamstraight failed; the response went on "
                        "without it: %s",
                        self.stream_id,
                        _without_stream_id(exc),
                        extra=FOR_A_PERSON,
                    )
            if not self._source_done:
                await self._discard_rest()
            await self._complete()
        except BaseException as exc:  # cancelled: the pump is being stopped as well
            if self._server_error is None:
                self._server_error = exc
            raise
        finally:
            if self._registered:
                self._cancels.discard(self.stream_id, self)
            self._group.discard(self)
            self._done.set()

    async def _stream_to_server(self) -> None:
        async with self._writer as writer:
            while True:
                if self._stop is not None:
                    await self._send_stopped(writer, self._stop)
                    return
                item = await self._to_server.get()
                if isinstance(item, _Wake):
                    continue
                if isinstance(item, _SOURCE_DONE):
                    self._source_done = True
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failed):
                    raise item.error  # leaving the block ends the stream with producer-error
                if isinstance(item, _Stopped):
                    continue  # the stop is seen at the top
                self._taken += 1
                if await writer.send(item) is not None:
                    self._sent += 1

    async def _send_stopped(self, writer: AsyncStreamWriter, request: CancelRequest) -> None:
        """The chunks the pump took before the stop, the final chunk, then END."""
        while self._taken < self._accepted_at_stop:
            item = await self._to_server.get()
            if isinstance(item, _Wake):
                continue
            if isinstance(item, _SOURCE_DONE):
                self._source_done = True
                break
            self._taken += 1
            if await writer.send(item) is not None:
                self._sent += 1
        session = writer._session
        if session is not None:
            session.watch.stop_requested(request.reason, request.has_final_chunk)
        if request.has_final_chunk:
            try:
                if await writer.send(request.final_chunk) is not None:
                    self._sent += 1
            except (EncodeError, ChunkTooLargeError) as exc:  # the stream still ends
                logger.error("stream %r: the final chunk was not sent: %s", self.stream_id, exc)
        await writer.close(reason=request.reason)
        logger.info("stream %r: stopped by cancel() (%s)", self.stream_id, request.reason)

    async def _discard_rest(self) -> None:
        """Keep taking chunks so that the pump never waits for a sender that is done."""
        while True:
            item = await self._to_server.get()
            if isinstance(item, _SOURCE_DONE):
                self._source_done = True
                return

    async def _complete(self) -> None:
        if self._on_complete is None:
            return
        session = self._writer._session
        delivered = session is not None and session.machine.delivered
        error: BaseException | None = None
        if not delivered:
            error = self._server_error or (session.machine.error if session else None)
        result = StreamResult(
            stream_id=self.stream_id,
            chunks=self._kept or [],
            stopped=self._stop is not None,
            delivered=delivered,
            error=error,
            source_error=self._source_error,
            stats=self._writer.stats,
        )
        await deliver(self._on_complete, result)

    # -- cancel() ------------------------------------------------------------------------

    def cancel(
        self, final_chunk: Any = NO_FINAL_CHUNK, *, reason: ProducerEndReason = "completed"
    ) -> bool:
        """Stop this tee: the source is closed, ``final_chunk`` (if given) is sent after the
        chunks already taken from it, and the stream ends with ``reason``. The HTTP response
        gets the same chunks and ends too. Returns whether the tee was still running.
        Callable from any task or thread; ``client.cancel(stream_id)`` does the same."""
        request = CancelRequest.build(final_chunk, reason)
        if self._done.is_set():
            return False
        self._stop_soon(request)
        return True

    def _still_running(self) -> bool:
        return not self._done.is_set()

    def _stop_soon(self, request: CancelRequest) -> None:
        self._home.call(lambda: self._begin_stop(request))

    def _begin_stop(self, request: CancelRequest) -> None:
        with self._guard:
            if self._stop is not None or self._done.is_set():
                return
            self._stop = request
            self._accepted_at_stop = self._accepted
            if request.has_final_chunk:
                self._give_reader(request.final_chunk)
            self._give_reader(_END)
        self._to_server.offer(_WAKE)  # a sender waiting for chunks sees the stop at once
        interrupt = self._interrupt
        if interrupt is not None:
            interrupt.request()

    # -- the handle ----------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether the source is exhausted and the stream has ended (or failed)."""
        return self._done.is_set()

    async def wait(self) -> int:
        """Wait until the source is exhausted and the stream has ended; return how many chunks
        the stream holds. Raises the source's exception, or else Streamstraight's failure."""
        await self._done.wait()
        await self._pump.join()
        await self._sender.join()
        if self._source_error is not None:
            raise self._source_error
        if self._server_error is not None:
            raise self._server_error
        return self._sent

    join = wait

    async def _finished(self, timeout: float) -> bool:
        return await self._done.wait(timeout)


def _without_stream_id(exc: BaseException) -> str:
    """The error's text for a record that names the stream already."""
    if not isinstance(exc, StreamstraightServerError):
        return describe(exc)
    text = (
        f"[{exc.code}] {exc.message}" if isinstance(exc, StreamError) and exc.code else exc.message
    )
    if exc.sent is None or exc.confirmed is None:
        return text
    return f"{text}; {progress_text(exc.confirmed, exc.sent)}"


class AsyncTeeGroup:
    """The registry of the tees a client started and that are still running, for its close to
    wait on; while it has one, the group is kept alive (see ``_GROUPS_RUNNING``)."""

    def __init__(self) -> None:
        self._guard = StateGuard()
        self._running: set[AsyncTee] = set()

    def __len__(self) -> int:
        return len(self._running)

    def add(self, tee: AsyncTee) -> None:
        with self._guard:
            self._running.add(tee)
        with _GROUPS_GUARD:
            _GROUPS_RUNNING.add(self)

    def discard(self, tee: AsyncTee) -> None:
        with self._guard:
            self._running.discard(tee)
            empty = not self._running
        if empty:
            with _GROUPS_GUARD:
                if not self._running:
                    _GROUPS_RUNNING.discard(self)

    async def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for every tee to finish; return how many are left."""
        deadline = monotonic() + timeout
        with self._guard:
            running = list(self._running)
        left = 0
        for tee in running:
            if not await tee._finished(max(0.0, deadline - monotonic())):
                left += 1
        return left
