"""Every error the SDK raises derives from :class:`StreamstraightServerError`.

Errors raised once a stream has started carry its progress: ``confirmed`` is how many chunks
(seq ``0 .. confirmed - 1``) the server has confirmed and ``sent`` how many were handed to
``send()``; both are ``None`` where no stream was under way.

Errors that quote the server carry its words whole, scrubbed of the API key, in
``server_message``; their message shows at most a few hundred characters of them.
"""

from __future__ import annotations

from typing import Any


class StreamstraightServerError(Exception):
    """Base class of every error raised by the SDK."""

    def __init__(
        self,
        message: str,
        *,
        stream_id: str | None = None,
        confirmed: int | None = None,
        sent: int | None = None,
        server_message: str | None = None,
    ) -> None:
        self.message = message
        self.stream_id = stream_id
        self.confirmed = confirmed
        self.sent = sent
        #: what the server said, whole and scrubbed of the API key (None: not the server's words)
        self.server_message = server_message
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.stream_id is not None:
            parts.append(f"stream {self.stream_id!r}")
        if self.sent is not None and self.confirmed is not None:
            parts.append(progress_text(self.confirmed, self.sent))
        return "; ".join(parts)

    def with_progress(
        self, stream_id: str | None, confirmed: int, sent: int
    ) -> StreamstraightServerError:
        """Attach the stream's progress unless the error already carries it; returns self."""
        if self.stream_id is None:
            self.stream_id = stream_id
        if self.sent is None:
            self.confirmed, self.sent = confirmed, sent
        return self

    def fresh(self) -> StreamstraightServerError:
        """A copy to raise again: same class, message and progress, a traceback of its own."""
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.args = self.args
        copy.__cause__ = self.__cause__
        copy.__suppress_context__ = True
        return copy


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message``, for error messages that name their cause."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a chain (explicit causes first, then implicit contexts)."""
    seen = {id(exc)}
    while True:
        inner = exc.__cause__ or exc.__context__
        if inner is None or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner


def progress_text(confirmed: int, sent: int) -> str:
    if sent == 0:
        return "no chunks were sent"
    if confirmed == 0:
        return f"the server confirmed none of the {sent} chunks sent"
    if confirmed == sent:
        return f"the server confirmed all {sent} chunks (seq 0..{sent - 1})"
    return (
        f"the server confirmed {confirmed} of {sent} chunks (seq 0..{confirmed - 1}); "
        f"seq {confirmed}..{sent - 1} are not confirmed"
    )


class StreamstraightServerAbortError(StreamstraightServerError):
    """A connection attempt was aborted because ``disconnect()`` was called meanwhile."""

    def __init__(self, message: str = "connect aborted by disconnect()") -> None:
        super().__init__(message)


class StreamstraightTokenError(StreamstraightServerError):
    """Fetching a client token failed (network, non-2xx answer, or no token in the body)."""

    def __init__(
        self, message: str, *, status: int | None = None, server_message: str | None = None
    ) -> None:
        self.status = status
        super().__init__(message, server_message=server_message)


class ConfigurationError(StreamstraightServerError, ValueError):
    """An option is missing or invalid. Raised before anything is sent."""


class AuthenticationError(StreamstraightServerError):
    """The server rejected the API key. Never retried: fix the key."""


class TokenAuthenticationError(StreamstraightTokenError, AuthenticationError):
    """The token endpoint rejected the API key (HTTP 401 or 403): both a token error and an
    authentication error, so ``except AuthenticationError`` catches a rejected key on either
    path."""


class HandshakeRejectedError(StreamstraightServerError):
    """The server refused the handshake for a reason retrying cannot fix (bad request, a
    stream that is busy or has ended)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        server_message: str | None = None,
    ) -> None:
        self.code = code
        #: the server's refusal (CONNECT_ERROR data), scrubbed of the API key at every depth
        self.details = details or {}
        super().__init__(message, server_message=server_message)


class ConnectError(StreamstraightServerError):
    """Could not connect after every retry; ``attempts`` says how many were made."""

    def __init__(self, message: str, *, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(message)

    @classmethod
    def after(cls, base_url: str, attempts: int, last: str) -> ConnectError:
        """Every attempt failed; ``last`` says how the last one did."""
        plural = "s" if attempts > 1 else ""
        return cls(
            f"could not connect to {base_url} after {attempts} attempt{plural}: {last}",
            attempts=attempts,
        )


class StreamError(StreamstraightServerError):
    """The server reported an error on the stream (``stream:error`` or ``connection:error``)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_in_ms: int | None = None,
        stream_id: str | None = None,
        confirmed: int | None = None,
        sent: int | None = None,
        server_message: str | None = None,
    ) -> None:
        self.code = code
        #: the server's hint, in 0 .. the longest retry wait (30 s); None when absent or invalid
        self.retry_in_ms = retry_in_ms
        super().__init__(
            message,
            stream_id=stream_id,
            confirmed=confirmed,
            sent=sent,
            server_message=server_message,
        )

    def __str__(self) -> str:
        text = super().__str__()
        return f"[{self.code}] {text}" if self.code else text


class StreamBusyError(HandshakeRejectedError):
    """The stream already has a live producer: another writer of this client, or (refused by
    the server) another process."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="stream-busy")


class ConnectionLostError(StreamstraightServerError):
    """The connection dropped mid-stream and could not be resumed."""

    @classmethod
    def refused(cls, refusal: BaseException) -> ConnectionLostError:
        return cls(f"the connection dropped and resuming was refused: {refusal}")

    @classmethod
    def not_resumed(cls, attempts: int, timeout: float, last: str | None) -> ConnectionLostError:
        return cls(
            f"the connection dropped and could not be resumed within {attempts} attempts / "
            f"{timeout:g}s" + (f": {last}" if last is not None else "")
        )

    @classmethod
    def without_info(cls) -> ConnectionLostError:
        return cls(
            "the connection dropped and, after reconnecting, the server did not say which "
            "chunks it holds (no stream:info); resuming could lose or duplicate chunks"
        )

    @classmethod
    def ended_unsaid(cls) -> ConnectionLostError:
        return cls(
            "the connection dropped during END and the server now refuses the stream as ended "
            "without saying which chunks it holds; the stream may be incomplete"
        )

    @classmethod
    def another_producer(cls, held_through: int, sent: int) -> ConnectionLostError:
        return cls(
            f"after reconnecting, the server holds seq 0..{held_through - 1} but only {sent} "
            "chunks were sent: another producer wrote this stream"
        )

    @classmethod
    def ended_meanwhile(cls, what: str, held_through: int) -> ConnectionLostError:
        return cls(
            f"after reconnecting, the server has {what} (it holds seq 0..{held_through - 1})"
        )


class DataLossError(ConnectionLostError):
    """After a reconnect the server lacks chunks that the producer no longer holds.

    ``missing`` is the range of seq (first, last) that neither side holds; seq
    ``0 .. confirmed - 1`` are what the server holds now. The stream cannot be completed.
    """

    def __init__(self, message: str, *, missing: tuple[int, int]) -> None:
        self.missing = missing
        super().__init__(message)

    @classmethod
    def not_held(cls, first: int, last: int) -> DataLossError:
        """The server lost chunks that the window no longer holds to send again."""
        return cls(
            f"after reconnecting, the server lacks seq {first}..{last}, which are no longer "
            "held for resending; the stream cannot be completed",
            missing=(first, last),
        )

    @classmethod
    def ended_short(cls, what: str, held_through: int, sent: int) -> DataLossError:
        """The server ended the stream, while away, holding fewer chunks than were sent."""
        held = f"holding seq 0..{held_through - 1} only" if held_through else "holding no chunks"
        return cls(
            f"after reconnecting, the server has {what} {held}; seq {held_through}..{sent - 1} "
            "are not in the stream",
            missing=(held_through, sent - 1),
        )


class EndRejectedError(StreamstraightServerError):
    """The server answered END with ``success: false``."""


class StreamstraightTimeoutError(StreamstraightServerError, TimeoutError):
    """Base of the SDK's timeouts."""


class ConnectTimeoutError(ConnectError, StreamstraightTimeoutError):
    """Every connection attempt ran past ``connect_timeout``."""


class AckTimeoutError(StreamstraightTimeoutError):
    """The server did not confirm chunks within ``ack_timeout``."""

    @classmethod
    def after(cls, timeout: float) -> AckTimeoutError:
        return cls(f"no confirmation from the server for {timeout:g}s while waiting for acks")


class EndTimeoutError(StreamstraightTimeoutError):
    """The server did not answer END within ``end_timeout``."""

    @classmethod
    def after(cls, timeout: float) -> EndTimeoutError:
        return cls(f"the server did not answer END within {timeout:g}s")


class EncodeError(StreamstraightServerError, TypeError):
    """A chunk could not be encoded. Nothing was sent and the writer stays usable."""


class ChunkTooLargeError(StreamstraightServerError, ValueError):
    """A chunk is larger than ``max_chunk_bytes`` once encoded. Nothing was sent and the writer
    stays usable."""


class ReaderDetachedError(StreamstraightServerError):
    """A ``tee()`` response reader fell more than ``buffer`` chunks behind its source and was
    detached; the stream goes on, and its reader can resume it from Streamstraight."""


class WriterClosedError(StreamstraightServerError):
    """The writer or client was used after it was closed."""

    @classmethod
    def by_close(cls, stream_id: str) -> WriterClosedError:
        return cls(
            f"stream {stream_id!r}: closed by close() or disconnect(); open a new writer to "
            "write again"
        )

    @classmethod
    def ended(cls, stream_id: str) -> WriterClosedError:
        return cls(f"stream {stream_id!r} has ended; open a new writer to write another")
