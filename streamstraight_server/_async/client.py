"""The producer client: one per application, shared by every request, task or thread."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .._core.cancel import NO_FINAL_CHUNK, CancelRequest
from .._core.errors import ConfigurationError, StreamBusyError, WriterClosedError
from .._core.keep import OnComplete, check_on_complete
from .._core.options import ServerOptions, StreamOptions, split_options
from .._core.protocol import ProducerEndReason
from .._core.stats import ClientStats
from .._core.stderr_fallback import FOR_A_PERSON
from .._core.telemetry import TelemetryChoice
from .._core.tokens import TokenCache
from .._core.watch import WatchHub
from .._shims._async import (
    AnyIterable,
    AsyncLock,
    PlainWithGuard,
    StateGuard,
    check_blocking_allowed,
    finish_at_exit,
    iterate,
    monotonic,
    sleep,
)
from .cancel import AsyncCancelRegistry
from .check import check_server
from .feed import AsyncFeed
from .session import AsyncStreamSession
from .tee import DEFAULT_TEE_BUFFER, AsyncTee, AsyncTeeGroup
from .tokens import request_client_token
from .writer import AsyncStreamWriter

logger = logging.getLogger("streamstraight_server")

#: how long closing the client waits for the tee streams still running (seconds)
TEE_CLOSE_TIMEOUT = 30.0


class AsyncStreamstraight(PlainWithGuard):
    """Streamstraight producer client.

    Create one per application and share it: each writer opens a connection of its own. ::

        client = AsyncStreamstraight(api_key="...")
        async with client.stream_writer(stream_id="answer-42") as writer:
            await writer.send({"delta": "Hello"})

    ``api_key`` defaults to ``STREAMSTRAIGHT_API_KEY`` and ``base_url`` to
    ``STREAMSTRAIGHT_API_BASE_URL``, then the hosted service. Options come as keywords, as the
    official SDK's two dicts, or both. Stream options given here (``encoder``, ...) are the
    defaults of every stream; a ``stream_id`` given here is the official SDK's "current stream",
    written by ``stream_writer()`` and ``stream()`` without arguments.

    ``cancel_url`` (``redis://...``, the ``redis`` extra) lets ``cancel()`` reach streams
    running in other processes. ``telemetry`` (None: on once the app imports OpenTelemetry),
    ``tracer_provider`` and ``meter_provider`` control the OpenTelemetry span and metrics of
    each stream (the ``otel`` extra).
    """

    def __init__(
        self,
        server_options: Mapping[str, Any] | ServerOptions | None = None,
        stream_options: Mapping[str, Any] | StreamOptions | None = None,
        *,
        cancel_url: str | None = None,
        telemetry: bool | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        **options: Any,
    ) -> None:
        server_kw, stream_kw = split_options(options)
        self.options = ServerOptions.build(server_options, **server_kw)
        defaults = StreamOptions.defaults(stream_options, **stream_kw)
        self._stream_defaults = {k: v for k, v in defaults.items() if k != "stream_id"}
        self._stream: StreamOptions | None = (
            StreamOptions.build(defaults) if "stream_id" in defaults else None
        )
        self._sessions: dict[str, AsyncStreamSession] = {}
        self._registry = StateGuard()
        self._current: AsyncStreamSession | None = None
        self._current_lock = AsyncLock()
        self._tokens = TokenCache()
        self._tees = AsyncTeeGroup()
        self._cancels = AsyncCancelRegistry(cancel_url)
        self._hub = WatchHub(
            TelemetryChoice(telemetry, self.options.base_url, tracer_provider, meter_provider)
        )
        finish_at_exit(self)

    def __repr__(self) -> str:
        stream = self._stream.stream_id if self._stream else None
        return (
            f"<AsyncStreamstraight base_url={self.options.base_url!r} stream_id={stream!r} "
            f"writers={len(self._sessions)}>"
        )

    @property
    def connected(self) -> bool:
        """Whether the current stream (see ``connect()``) is connected."""
        return self._current is not None and self._current.connected

    # -- streams -------------------------------------------------------------------------

    def stream_writer(
        self, stream_id: str | None = None, **stream_options: Any
    ) -> AsyncStreamWriter:
        """A writer for stream ``stream_id``, with a connection of its own, opened on entry.

        Stream options (``overwrite_existing_stream``, ``encoder``, ``keep_open``) override the
        client's. Without arguments, the writer writes the current stream (see ``connect()``).
        """
        if stream_id is None and not stream_options:
            return AsyncStreamWriter(self, None)
        return AsyncStreamWriter(self, self._stream_options(stream_id, stream_options))

    async def stream(
        self,
        source: AnyIterable,
        stream_id: str | None = None,
        *,
        on_complete: OnComplete | None = None,
        **stream_options: Any,
    ) -> int:
        """Send every chunk of ``source``, end the stream, and return how many chunks were sent.

        ``source`` is any iterable; the asyncio client also takes asynchronous iterables.
        ``cancel(stream_id)`` stops it: the source is closed and the stream ends early.
        ``on_complete(result)`` is called once the source ended or was stopped, with its chunks
        (:class:`StreamResult`); with it, a Streamstraight failure does not stop the source,
        which is read to its end before the failure is raised.
        """  # unasync: keep
        check_on_complete(on_complete)
        chunks = iterate(source)
        writer = self.stream_writer(stream_id, **stream_options)
        return await AsyncFeed(writer, chunks, on_complete).run()

    def tee(
        self,
        source: AnyIterable,
        stream_id: str | None = None,
        *,
        buffer: int = DEFAULT_TEE_BUFFER,
        on_complete: OnComplete | None = None,
        **stream_options: Any,
    ) -> AsyncTee:
        """Stream ``source`` to Streamstraight in the background and return an iterator over
        the same chunks, for the HTTP response. ``stream_id`` defaults to the client's, as
        with ``stream()``.

        The source is read to its end and the stream ends ``completed`` even when the HTTP
        client goes away; a Streamstraight failure is logged once and never breaks the
        response (``wait()`` on the result raises it); an exception in the source ends the
        stream with ``producer-error`` and is raised on the response's side too. A response
        that falls more than ``buffer`` chunks behind is detached (:class:`ReaderDetachedError`)
        instead of holding the source back. Closing the client waits for running tees.
        ``cancel()`` on the result, or ``client.cancel(stream_id)``, stops it; ``on_complete``
        gets the source's chunks once it ended or was stopped, Streamstraight or not.
        """
        check_on_complete(on_complete)
        if stream_id is None and not stream_options:
            if self._stream is None:
                raise ConfigurationError(
                    "no stream to write: pass stream_id=... to tee() or to the client"
                )
            stream = self._stream
        else:
            stream = self._stream_options(stream_id, stream_options)
        return AsyncTee(self, iterate(source), stream, buffer, self._tees, on_complete)

    def _stream_options(self, stream_id: str | None, given: Mapping[str, Any]) -> StreamOptions:
        if stream_id is None:
            raise ConfigurationError(
                "stream options need a stream: pass stream_id=... as well "
                f"(got {', '.join(sorted(given))})"
            )
        return StreamOptions.build({**self._stream_defaults, **given, "stream_id": stream_id})

    async def _session_for(
        self, stream: StreamOptions | None, *, log_failure: bool = True
    ) -> AsyncStreamSession:
        """A session: a new one for ``stream``, which connects in the background (the writer
        need not wait for the handshake), or the current stream's for None, connected."""
        check_blocking_allowed(self)
        if stream is None:
            return await self._current_session()
        return await self._open(stream, log_failure=log_failure, wait=False)

    async def _open(
        self, stream: StreamOptions, *, log_failure: bool = True, wait: bool = True
    ) -> AsyncStreamSession:
        session = AsyncStreamSession(self.options, stream, on_close=self._forget, hub=self._hub)
        session.log_failure = log_failure
        with self._registry:
            other = self._sessions.get(stream.stream_id)
            if other is not None and other.live:
                raise StreamBusyError(
                    f"stream {stream.stream_id!r} already has a live writer in this client; "
                    "close it first (two producers on one stream would interleave chunks)"
                )
            self._sessions[stream.stream_id] = session
        if other is not None:
            await other.close()  # ended but kept open (keep_open=True): its connection goes
        await session.open(wait=wait)  # closes itself (leaving the registry) when it fails
        return session

    def _forget(self, session: AsyncStreamSession) -> None:
        with self._registry:
            if self._sessions.get(session.stream.stream_id) is session:
                del self._sessions[session.stream.stream_id]

    # -- the official SDK's current stream -----------------------------------------------

    async def connect(
        self, stream_options: Mapping[str, Any] | StreamOptions | None = None, **options: Any
    ) -> None:
        """Connect the current stream (the official SDK's ``connect``), with retries for
        transient failures; a rejected API key or a refused stream fails at once.

        Connecting again to the stream already connected (or resuming after a drop) does
        nothing; after a stream has ended or failed it starts afresh with the options given.
        """
        if stream_options is None and not options:
            if self._stream is None:
                raise ConfigurationError("connect() needs stream options: pass stream_id=...")
            stream = self._stream
        else:
            given = StreamOptions.defaults(stream_options, **options)
            stream = StreamOptions.build({**self._stream_defaults, **given})
        async with self._current_lock:
            await self._connect_current(stream)

    async def _connect_current(self, stream: StreamOptions) -> AsyncStreamSession:
        current = self._current
        if current is not None and current.live:
            if current.stream.stream_id == stream.stream_id:
                return current
            raise ConfigurationError(
                f"already writing stream {current.stream.stream_id!r}; close its writer or "
                "call disconnect() before connecting to another"
            )
        if current is not None:
            await current.close()
            self._current = None
        self._stream = stream
        self._current = await self._open(stream)
        return self._current

    async def _current_session(self) -> AsyncStreamSession:
        async with self._current_lock:
            current = self._current
            if (
                current is not None
                and current.machine.delivered
                and current.stream.keep_open
                and current.connected
            ):
                raise WriterClosedError(
                    f"stream {current.stream.stream_id!r} has ended; call connect() with "
                    "another stream_id to write again"
                )
            if current is not None and current.machine.reusable:
                return current
            if self._stream is None:
                raise ConfigurationError(
                    "no stream to write: pass stream_id=... to stream_writer() or to the client"
                )
            return await self._connect_current(self._stream)

    # -- start-up ------------------------------------------------------------------------

    async def acheck(self) -> None:
        """Check that the server answers and accepts the API key; raise if not.

        Call it when the app starts (a FastAPI lifespan, Django's ``AppConfig.ready``), so a
        wrong key or a server that is down stops the app at once instead of every stream
        failing later. Raises :class:`AuthenticationError` for a rejected key and
        :class:`ConnectError` for a server that cannot be reached or is not a Streamstraight
        server.
        """
        check_blocking_allowed(self)
        await check_server(self.options)

    # -- stop and watch ------------------------------------------------------------------

    async def cancel(
        self,
        stream_id: str,
        final_chunk: Any = NO_FINAL_CHUNK,
        *,
        reason: ProducerEndReason = "completed",
    ) -> bool:
        """Stop the writer, ``stream()`` or ``tee()`` writing ``stream_id``; returns whether one
        was running.

        Its source is closed (so the model's call stops), ``final_chunk`` (if given) is sent
        after the chunks already taken from it, and the stream ends with ``reason``
        (``"completed"`` or ``"producer-error"``). A writer's ``send()`` raises
        :class:`StreamCancelledError` from then on. With ``cancel_url``, a stream running in
        another process is reached through Redis (``final_chunk`` must then be
        JSON-encodable); otherwise only streams of this client are.
        """
        request = CancelRequest.build(final_chunk, reason)
        return await self._cancels.cancel(stream_id, request)

    def stats(self) -> ClientStats:
        """The client's figures: live writers, and totals over every stream it wrote (chunks,
        bytes, reconnects, streams by outcome, failures by kind)."""
        return self._hub.snapshot()

    # -- tokens --------------------------------------------------------------------------

    async def fetch_client_token(self) -> str:
        """A short-lived token for a browser to read streams with.

        With ``reuse_client_token=True`` the same token is returned until shortly before it
        expires (its expiry is read without verifying the token).
        """
        check_blocking_allowed(self)
        if self.options.reuse_client_token:
            cached = self._tokens.get(time.time())
            if cached is not None:
                return cached
        token = await request_client_token(self.options)
        if self.options.reuse_client_token:
            self._tokens.put(token)
        return token

    # -- closing -------------------------------------------------------------------------

    async def aclose(self, *, tee_timeout: float = TEE_CLOSE_TIMEOUT) -> None:
        """Wait up to ``tee_timeout`` seconds for the ``tee()`` streams still running, then close
        every writer this client opened. A stream still being written is left without END: its
        readers see it end as ``producer-disconnected`` once the server's grace period for the
        producer to come back has passed. The client stays usable."""
        if len(self._tees):
            left = await self._tees.wait(tee_timeout)
            if left:
                logger.warning(
                    "closing the client with %d tee stream(s) still running after %gs",
                    left,
                    tee_timeout,
                    extra=FOR_A_PERSON,
                )
        await self._close_sessions()

    async def _close_sessions(self, connect_wait: float | None = None) -> None:
        with self._registry:
            sessions = list(self._sessions.values())
        self._current = None
        for session in sessions:
            await session.close(connect_wait=connect_wait)
        await self._cancels.aclose()

    async def _finish(self, timeout: float = TEE_CLOSE_TIMEOUT) -> None:
        """When the process exits: let the tees and writers still running finish, up to
        ``timeout`` seconds in all, then close the rest (each named in one log line)."""
        deadline = monotonic() + timeout
        with self._registry:
            writing = [s for s in self._sessions.values() if s.live]
        if len(self._tees) or writing:
            logger.warning(
                "the process is exiting: finishing %d stream(s) still being written (up to %gs)",
                max(len(self._tees), len(writing)),
                timeout,
                extra=FOR_A_PERSON,  # a person wonders why the process does not exit yet
            )
        left = await self._tees.wait(timeout)
        while writing and monotonic() < deadline:
            await sleep(0.05)
            writing = [s for s in writing if s.live]
        for session in writing:
            logger.error(
                "stream %r was still being written when the process exited; it was closed "
                "without END and its readers will see it end as producer-disconnected",
                session.stream.stream_id,
                extra=FOR_A_PERSON,
            )
        if left:
            logger.error(
                "%d tee stream(s) did not finish before the process exited",
                left,
                extra=FOR_A_PERSON,
            )
        await self._close_sessions(connect_wait=0)

    async def disconnect(self) -> None:
        """The official SDK's name for :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> AsyncStreamstraight:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
