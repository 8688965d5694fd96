"""Stopping a running stream: the request, and how it travels between processes.

``cancel(stream_id)`` reaches the writer, ``stream()`` or ``tee()`` of that id in this process
directly. With ``cancel_url`` it also travels through Redis pub/sub: every process that runs a
stream subscribes to the stream's channel while it runs, so ``PUBLISH`` reaches exactly the
processes running it (and says how many did). Nothing is stored in Redis: a process that dies
leaves no trace there, its subscriptions go with its connection.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from .encoder import encode_chunk
from .errors import (
    ConfigurationError,
    EncodeError,
    StreamstraightServerError,
    WriterClosedError,
    describe,
)
from .protocol import PRODUCER_END_REASONS, ProducerEndReason

logger = logging.getLogger("streamstraight_server")

#: prefix of the pub/sub channel of a stream: ``streamstraight:cancel:<stream_id>``
CHANNEL_PREFIX = "streamstraight:cancel:"
#: version of the message format on the channel
MESSAGE_VERSION = 1
CANCEL_URL_SCHEMES = ("redis", "rediss", "unix")


class StreamCancelledError(WriterClosedError):
    """The stream was stopped by ``cancel()``: the writer takes no more chunks. Leaving the
    writer's ``with`` block absorbs it (the stream ends as the stop asked)."""


class CancelRelayError(StreamstraightServerError):
    """``cancel()`` could not publish the stop through Redis (``cancel_url``)."""


class _NoFinalChunk:
    """No final chunk: the stream ends right after the chunks already taken from the source."""

    _instance: _NoFinalChunk | None = None

    def __new__(cls) -> _NoFinalChunk:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_FINAL_CHUNK"

    def __bool__(self) -> bool:
        return False


NO_FINAL_CHUNK: Any = _NoFinalChunk()


@dataclass(frozen=True)
class CancelRequest:
    """What ``cancel()`` asks of a running stream: an optional last chunk, then END."""

    reason: ProducerEndReason = "completed"
    final_chunk: Any = NO_FINAL_CHUNK

    @property
    def has_final_chunk(self) -> bool:
        return self.final_chunk is not NO_FINAL_CHUNK

    @classmethod
    def build(cls, final_chunk: Any, reason: object) -> CancelRequest:
        if reason not in PRODUCER_END_REASONS:
            raise ConfigurationError(
                f"reason must be one of {', '.join(PRODUCER_END_REASONS)}, got {reason!r}"
            )
        return cls(reason=reason, final_chunk=final_chunk)  # type: ignore[arg-type]

    def to_message(self) -> str:
        """The request as it travels on the channel: JSON, the final chunk as a JSON value.

        The final chunk is encoded here with the default encoder (Pydantic models, dataclasses
        and JSON values), then decoded on the receiving side and encoded again by that stream's
        own encoder."""
        message: dict[str, Any] = {"v": MESSAGE_VERSION, "reason": self.reason}
        if self.has_final_chunk:
            try:
                message["final"] = json.loads(encode_chunk(None, self.final_chunk))
            except (EncodeError, ValueError) as exc:
                raise EncodeError(
                    "the final chunk must be JSON-encodable to travel to another process: "
                    f"{describe(exc)}"
                ) from exc
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_message(cls, raw: bytes | str) -> CancelRequest | None:
        """A request read from the channel, or None (logged) when it is not one of ours."""
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            message = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            logger.warning("ignored a cancel message that is not JSON")
            return None
        if not isinstance(message, dict) or message.get("v") != MESSAGE_VERSION:
            logger.warning("ignored a cancel message of an unknown format")
            return None
        reason = message.get("reason")
        if reason not in PRODUCER_END_REASONS:
            logger.warning("ignored a cancel message with the unknown reason %r", reason)
            return None
        return cls(reason=reason, final_chunk=message.get("final", NO_FINAL_CHUNK))


def channel_for(stream_id: str) -> str:
    return CHANNEL_PREFIX + stream_id


def stream_of(channel: bytes | str) -> str | None:
    """The stream id of a channel name, or None for a channel that is not a stream's."""
    name = channel.decode("utf-8", "replace") if isinstance(channel, bytes) else channel
    return name[len(CHANNEL_PREFIX) :] if name.startswith(CHANNEL_PREFIX) else None


def check_cancel_url(url: object) -> str:
    """A ``redis://``, ``rediss://`` or ``unix://`` URL; the error never shows a password."""
    if not isinstance(url, str) or not url:
        raise ConfigurationError(
            "cancel_url must be a Redis URL string (redis://host:port/db), not "
            f"{type(url).__name__}"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigurationError(f"cancel_url {shown_url(url)!r} is malformed: {exc}") from None
    if parts.scheme not in CANCEL_URL_SCHEMES:
        raise ConfigurationError(
            f"cancel_url must start with redis://, rediss:// or unix://, got {shown_url(url)!r}"
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigurationError(f"cancel_url {shown_url(url)!r} names no host")
    return url


def shown_url(url: str) -> str:
    """``url`` fit for a log line or an error: scheme, host, port and path only (no user name,
    password or query, where a password may also be given)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        if parts.username is not None or parts.password is not None:
            host = f"***@{host}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "<a malformed URL>"


class Stoppable(Protocol):
    """What the cancel registry can stop: a writer, a ``stream()`` or a ``tee()``."""

    def _stop_soon(self, request: CancelRequest) -> None:
        """Ask the running stream to stop; callable from any task or thread."""

    def _still_running(self) -> bool:
        """False once its stream is over (an entry left behind is then replaced)."""
