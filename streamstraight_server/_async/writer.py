"""The writer: ``send()`` chunks, ``flush()`` to see them confirmed, ``close()`` to end."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._core.encoder import encode_chunk
from .._core.errors import WriterClosedError
from .._core.protocol import ProducerEndReason
from .._shims._async import shielded
from .session import AsyncProducerSession

if TYPE_CHECKING:
    from .client import AsyncStreamstraight


class AsyncStreamWriter:
    """Writes one stream. Use it as a context manager: leaving it sends END and waits for the
    server to confirm it; an exception inside ends the stream with ``producer-error``."""

    def __init__(self, client: AsyncStreamstraight) -> None:
        self._client = client
        self._session: AsyncProducerSession | None = None
        self._closed = False

    def __repr__(self) -> str:
        session = self._session
        if session is None:
            return "<AsyncStreamWriter (not started)>"
        return (
            f"<AsyncStreamWriter stream_id={session.stream.stream_id!r} sent={session.window.sent} "
            f"closed={self._closed}>"
        )

    @property
    def stream_id(self) -> str | None:
        return self._session.stream.stream_id if self._session else None

    @property
    def sent(self) -> int:
        """Chunks handed to the server so far (their seq are ``0 .. sent - 1``)."""
        return self._session.window.sent if self._session else 0

    @property
    def confirmed(self) -> int:
        """Chunks the server has confirmed so far."""
        if self._session is None:
            return 0
        window = self._session.window
        return max(window.acked_through, window.confirmed)

    async def _started(self) -> AsyncProducerSession:
        if self._closed:
            raise WriterClosedError("this writer is closed; open a new stream_writer()")
        if self._session is None:
            self._session = await self._client._writable_session()
        return self._session

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
        that cannot be encoded raises :class:`EncodeError` and leaves the writer usable.
        """
        session = await self._started()
        data = encode_chunk(session.stream.encoder, chunk)
        if not data:
            return None
        return await session.send(data)

    async def flush(self) -> None:
        """Return once the server has confirmed every chunk sent so far.

        With a server that sends no per-chunk acks, it returns at once: such a server confirms
        the stream only when it ends."""
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
