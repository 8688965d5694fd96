"""The producer client."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .._core.errors import ConfigurationError, WriterClosedError
from .._core.options import ServerOptions, StreamOptions, split_options
from .._core.tokens import TokenCache
from .._shims._async import AnyIterable, iterate
from .session import AsyncProducerSession
from .tokens import request_client_token
from .writer import AsyncStreamWriter

logger = logging.getLogger("streamstraight_server")


class AsyncStreamstraight:
    """Streamstraight producer client.

    Options come as keywords, as the official SDK's two dicts, or both::

        client = AsyncStreamstraight(api_key="...", stream_id="answer-42")
        async with client.stream_writer() as writer:
            await writer.send({"delta": "Hello"})

    ``api_key`` defaults to ``STREAMSTRAIGHT_API_KEY`` and ``base_url`` to
    ``STREAMSTRAIGHT_API_BASE_URL``, then the hosted service. Stream options given here are
    used by ``stream_writer()`` and ``stream()`` until ``connect()`` names another stream.
    """

    def __init__(
        self,
        server_options: Mapping[str, Any] | ServerOptions | None = None,
        stream_options: Mapping[str, Any] | StreamOptions | None = None,
        **options: Any,
    ) -> None:
        server_kw, stream_kw = split_options(options)
        self.options = ServerOptions.build(server_options, **server_kw)
        self._stream: StreamOptions | None = (
            StreamOptions.build(stream_options, **stream_kw)
            if stream_options is not None or stream_kw
            else None
        )
        self._session: AsyncProducerSession | None = None
        self._tokens = TokenCache()

    def __repr__(self) -> str:
        stream = self._stream.stream_id if self._stream else None
        return (
            f"<AsyncStreamstraight base_url={self.options.base_url!r} stream_id={stream!r} "
            f"connected={self.connected}>"
        )

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.connected

    async def connect(
        self, stream_options: Mapping[str, Any] | StreamOptions | None = None, **options: Any
    ) -> None:
        """Connect to a stream (the official SDK's ``connect``), with retries for transient
        failures. A rejected API key or a refused stream fails at once."""
        if stream_options is None and not options and self._stream is None:
            raise ConfigurationError("connect() needs stream options: pass stream_id=...")
        stream = (
            StreamOptions.build(stream_options, **options)
            if stream_options is not None or options
            else self._stream
        )
        assert stream is not None
        current = self._session
        mid_stream = current is not None and current.window.sent and not current.closed
        if current is not None and not current.ended and (current.connected or mid_stream):
            if current.stream.stream_id == stream.stream_id:
                # a session that dropped mid-stream resumes on its next call, keeping its window
                logger.info("stream %r: already connected", stream.stream_id)
                return
            raise ConfigurationError(
                f"already writing stream {current.stream.stream_id!r}; close its writer or "
                "call disconnect() before connecting to another"
            )
        if current is not None:
            await current.close()
        self._stream = stream
        session = AsyncProducerSession(self.options, stream)
        self._session = session
        try:
            await session.open()
        except BaseException:
            await session.close()
            self._session = None
            raise

    async def _writable_session(self) -> AsyncProducerSession:
        session = self._session
        if session is not None and session.ended and session.connected:
            raise WriterClosedError(
                f"stream {session.stream.stream_id!r} has ended; call connect() with another "
                "stream_id to write again"
            )
        if session is None or session.ended or not session.connected:
            if self._stream is None:
                raise ConfigurationError(
                    "no stream to write: pass stream_id=... to the client or call connect() first"
                )
            await self.connect(self._stream)
            session = self._session
            assert session is not None
        return session

    def stream_writer(self) -> AsyncStreamWriter:
        """A writer for the current stream; it connects on entry if needed."""
        return AsyncStreamWriter(self)

    async def stream(self, source: AnyIterable) -> int:
        """Send every chunk of ``source``, end the stream, and return how many chunks were sent.

        ``source`` is any iterable; the asyncio client also takes asynchronous iterables.
        """  # unasync: keep
        chunks = iterate(source)
        sent = 0
        async with self.stream_writer() as writer:
            async for chunk in chunks:
                if await writer.send(chunk) is not None:
                    sent += 1
        return sent

    async def fetch_client_token(self) -> str:
        """A short-lived token for a browser to read streams with.

        With ``reuse_client_token=True`` the same token is returned until shortly before it
        expires (its expiry is read without verifying the token).
        """
        if self.options.reuse_client_token:
            cached = self._tokens.get(time.time())
            if cached is not None:
                return cached
        token = await request_client_token(self.options)
        if self.options.reuse_client_token:
            self._tokens.put(token)
        return token

    async def disconnect(self) -> None:
        """Close the connection. A stream left without END ends as ``producer-disconnected``."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> AsyncStreamstraight:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.disconnect()
