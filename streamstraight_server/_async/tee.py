"""``tee()``: one source, two readers: the HTTP response and a Streamstraight stream.

A background pump consumes the whole source, whoever reads the HTTP side. Each chunk goes to
two bounded queues: the HTTP reader's (when it falls more than ``buffer`` chunks behind it is
detached, so a stalled browser never holds the source back) and the Streamstraight sender's
(which holds the source back while the server is behind: the writer's in-flight window is
bounded too). The sender runs in a task of its own, so the HTTP response never waits for the
connection to Streamstraight, and its failure never touches the HTTP side (fail-open).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from .._core.errors import (
    ConfigurationError,
    ReaderDetachedError,
    StreamError,
    StreamstraightServerError,
    describe,
    progress_text,
)
from .._core.options import StreamOptions
from .._core.stderr_fallback import FOR_A_PERSON
from .._shims._async import (
    AsyncEvent,
    AsyncQueue,
    AsyncTask,
    PlainForGuard,
    StateGuard,
    monotonic,
)
from .writer import AsyncStreamWriter

if TYPE_CHECKING:
    from .client import AsyncStreamstraight

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


_END = _End()
_DETACHED = _Detached()

#: every tee still running: the loop keeps only weak references to its tasks, so without this
#: a tee whose client and response are both dropped could be collected mid-flight
_RUNNING: set[AsyncTee] = set()
_RUNNING_GUARD = StateGuard()


class AsyncTee(PlainForGuard):
    """What ``client.tee()`` returns: iterate it for the source's chunks (the HTTP response),
    and wait on it for the Streamstraight side (``await tee.wait()``).

    The source and the stream go on when the HTTP reader stops early, is cancelled or is
    dropped; the stream then ends ``completed`` once the source is exhausted.
    """

    def __init__(
        self,
        client: AsyncStreamstraight,
        chunks: AsyncIterator[Any],
        stream: StreamOptions,
        buffer: int,
        on_done: AsyncTeeGroup,
    ) -> None:
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1:
            raise ConfigurationError(f"buffer must be a positive number of chunks, not {buffer!r}")
        self.stream_id = stream.stream_id
        self._chunks = chunks
        self._buffer = buffer
        self._writer = AsyncStreamWriter(client, stream, log_failure=False)  # logged here, once
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
        with _RUNNING_GUARD:
            _RUNNING.add(self)
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
        if not self._reader_attached:
            return
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
        try:
            async for chunk in self._chunks:
                self._give_reader(chunk)
                if self._server_error is None:
                    await self._to_server.put(chunk)
        except BaseException as exc:
            self._source_error = exc
            if not self._reader_attached:
                logger.error(
                    "stream %r: the source raised %s; the stream ends with producer-error",
                    self.stream_id,
                    type(exc).__name__,
                    extra=FOR_A_PERSON,
                )
            self._give_reader(_Failed(exc))
            await self._to_server.put(_Failed(exc))
            if not isinstance(exc, Exception):
                raise
        else:
            self._give_reader(_END)
            await self._to_server.put(_END)

    async def _send_all(self) -> None:
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
        except BaseException as exc:  # cancelled: the pump is being stopped as well
            self._server_error = exc
            raise
        finally:
            with _RUNNING_GUARD:
                _RUNNING.discard(self)
            self._group.discard(self)
            self._done.set()

    async def _stream_to_server(self) -> None:
        async with self._writer as writer:
            while True:
                item = await self._to_server.get()
                if isinstance(item, (_End, _Failed)):
                    self._source_done = True
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failed):
                    raise item.error  # leaving the block ends the stream with producer-error
                if await writer.send(item) is not None:
                    self._sent += 1

    async def _discard_rest(self) -> None:
        """Keep taking chunks so that the pump never waits for a sender that has failed."""
        while True:
            item = await self._to_server.get()
            if isinstance(item, (_End, _Failed)):
                return

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
    """The tees a client started and that are still running, for its close to wait on."""

    def __init__(self) -> None:
        self._guard = StateGuard()
        self._running: set[AsyncTee] = set()

    def __len__(self) -> int:
        return len(self._running)

    def add(self, tee: AsyncTee) -> None:
        with self._guard:
            self._running.add(tee)

    def discard(self, tee: AsyncTee) -> None:
        with self._guard:
            self._running.discard(tee)

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
