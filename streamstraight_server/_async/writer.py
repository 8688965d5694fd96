"""The writer: ``send()`` chunks, ``flush()`` to see them confirmed, ``close()`` to end."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._core.encoder import chunk_size, encode_chunk
from .._core.errors import WriterClosedError
from .._core.options import StreamOptions
from .._core.protocol import ProducerEndReason
from .._shims._async import PlainWithGuard, shielded
from .session import AsyncStreamSession

if TYPE_CHECKING:
    from .client import AsyncStreamstraight


class AsyncStreamWriter(PlainWithGuard):
    """Writes one stream over a connection of its own. Use it as a context manager: leaving it
    sends END and waits for the server to confirm it; an exception inside ends the stream with
    ``producer-error``.

    ``stream`` None is the official SDK's "current stream" of the client (see ``connect()``).
    ``log_failure`` False leaves logging the writer's failure to its owner (``tee()``).
    """

    def __init__(
        self,
        client: AsyncStreamstraight,
        stream: StreamOptions | None,
        *,
        log_failure: bool = True,
    ) -> None:
        self._client = client
        self._stream = stream
        self._log_failure = log_failure
        self._session: AsyncStreamSession | None = None
        self._closed = False

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

    async def _started(self) -> AsyncStreamSession:
        if self._closed:
            raise WriterClosedError("this writer is closed; open a new stream_writer()")
        session = self._session
        if session is None:
            session = await self._client._session_for(self._stream, log_failure=self._log_failure)
            self._session = session
        return session

    async def __aenter__(self) -> AsyncStreamWriter:
        await self._started()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        if exc_type is None:
            await self.close()
        else:
            self._closed = True
            session = self._session
            if session is not None:
                await shielded(session.abort)

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
        data = encode_chunk(session.stream.encoder, chunk)
        if not data:
            return None
        return await session.send(data, chunk_size(data, session.options.max_chunk_bytes))

    async def flush(self) -> None:
        """Return once the server has confirmed every chunk sent so far.

        With a server that sends no per-chunk acks (found out within 2 seconds, once per
        stream), it returns without waiting: such a server confirms the stream when it ends."""
        session = await self._started()
        await session.flush()

    async def close(self, *, reason: ProducerEndReason = "completed") -> str | None:
        """End the stream and wait for the server to confirm it; returns its END id.

        Disconnects afterwards unless the stream was opened with ``keep_open=True``.
        Calling it again does nothing.
        """
        if self._closed:
            return None
        session = await self._started()
        self._closed = True
        try:
            end_id = await session.end(reason)
        except BaseException:
            await shielded(session.close)
            raise
        if not session.stream.keep_open:
            await session.close()
        return end_id
