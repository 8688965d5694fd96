"""Options of the client and of a stream, validated before anything is sent.

The official SDK's dicts (``ServerOptionsDict``, ``StreamOptionsDict``) are accepted as they are;
keyword arguments map onto the same dataclasses. Durations of our own options are in seconds;
``connect_retry_delay_ms`` keeps the official name and unit.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypedDict
from urllib.parse import urlsplit

from .errors import ConfigurationError
from .protocol import DEFAULT_BASE_URL, MAX_STREAM_ID_LENGTH, SOCKETIO_PATH

ENV_API_KEY = "STREAMSTRAIGHT_API_KEY"
ENV_BASE_URL = "STREAMSTRAIGHT_API_BASE_URL"

Encoder = Callable[[Any], str]

#: upper bounds of the options: beyond them a value is a mistake, and some would overflow
MAX_SECONDS = 86_400.0
MAX_RETRIES = 100
MAX_RETRY_DELAY_MS = 600_000
MAX_IN_FLIGHT_CHUNKS = 10_000_000
MAX_BYTES = 1024**3


class _ServerOptionsRequired(TypedDict):
    api_key: str


class ServerOptionsDict(_ServerOptionsRequired, total=False):
    """The official SDK's server options (and ours, by the same names)."""

    base_url: str
    num_connect_retries: int
    connect_retry_delay_ms: int
    connect_timeout: float
    ack_timeout: float
    end_timeout: float
    http_timeout: float
    max_in_flight_chunks: int
    max_in_flight_bytes: int
    max_chunk_bytes: int
    heartbeat_interval: float | None
    resume_attempts: int
    resume_timeout: float
    reuse_client_token: bool


class _StreamOptionsRequired(TypedDict):
    stream_id: str


class StreamOptionsDict(_StreamOptionsRequired, total=False):
    """The official SDK's stream options."""

    overwrite_existing_stream: bool
    encoder: Encoder
    keep_open: bool


@dataclass(frozen=True)
class ServerOptions:
    """How to reach the server and how patient to be with it."""

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    #: retries after the first attempt, for transient failures only
    num_connect_retries: int = 2
    #: first retry delay; doubled per retry, with jitter
    connect_retry_delay_ms: int = 500
    #: deadline of one connection attempt (seconds)
    connect_timeout: float = 10.0
    #: how long the writer waits for the server to confirm chunks before failing (seconds)
    ack_timeout: float = 15.0
    #: how long to wait for the answer to END (seconds)
    end_timeout: float = 10.0
    #: deadline of a token request (seconds)
    http_timeout: float = 10.0
    #: unconfirmed chunks allowed in flight before ``send()`` waits
    max_in_flight_chunks: int = 4096
    #: unconfirmed bytes allowed in flight before ``send()`` waits
    max_in_flight_bytes: int = 16 * 1024 * 1024
    #: largest chunk, in bytes of UTF-8 once encoded; larger ones raise ChunkTooLargeError
    max_chunk_bytes: int = 1024 * 1024
    #: heartbeat while a writer is idle (seconds); ``None`` turns it off
    heartbeat_interval: float | None = 10.0
    #: reconnections tried after the connection drops mid-stream
    resume_attempts: int = 5
    #: overall time allowed to resume one drop (seconds)
    resume_timeout: float = 30.0
    #: reuse a fetched client token until shortly before it expires
    reuse_client_token: bool = False

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "api_key"
        )
        return f"ServerOptions(api_key='***', {shown})"

    def __post_init__(self) -> None:
        _check_api_key(self.api_key)
        object.__setattr__(self, "base_url", _check_url(self.base_url))
        _check_int("num_connect_retries", self.num_connect_retries, 0, MAX_RETRIES)
        _check_int("connect_retry_delay_ms", self.connect_retry_delay_ms, 0, MAX_RETRY_DELAY_MS)
        _check_int("max_in_flight_chunks", self.max_in_flight_chunks, 1, MAX_IN_FLIGHT_CHUNKS)
        _check_int("max_in_flight_bytes", self.max_in_flight_bytes, 1, MAX_BYTES)
        _check_int("max_chunk_bytes", self.max_chunk_bytes, 1, MAX_BYTES)
        _check_int("resume_attempts", self.resume_attempts, 0, MAX_RETRIES)
        for name in ("connect_timeout", "ack_timeout", "end_timeout", "http_timeout"):
            _check_seconds(name, getattr(self, name))
        _check_seconds("resume_timeout", self.resume_timeout)
        if self.heartbeat_interval is not None:
            _check_seconds("heartbeat_interval", self.heartbeat_interval)
        if not isinstance(self.reuse_client_token, bool):
            raise ConfigurationError("reuse_client_token must be True or False")

    @property
    def socketio_path(self) -> str:
        """Where Socket.IO is served: ``socket.io`` under the path of ``base_url``, if any."""
        path = urlsplit(self.base_url).path.strip("/")
        return f"{path}/{SOCKETIO_PATH}" if path else SOCKETIO_PATH

    @classmethod
    def build(
        cls, given: Mapping[str, Any] | ServerOptions | None = None, **kw: Any
    ) -> ServerOptions:
        """Options from a dict, from keywords, or both (keywords win), with env defaults."""
        if isinstance(given, ServerOptions):
            return replace(given, **kw) if kw else given
        merged = {**_as_mapping(given, "server options"), **kw}
        merged = {k: v for k, v in merged.items() if v is not None or k == "heartbeat_interval"}
        _reject_unknown(merged, _SERVER_FIELDS, "server option")
        merged.setdefault("api_key", os.environ.get(ENV_API_KEY, ""))
        merged.setdefault("base_url", os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        return cls(**merged)


@dataclass(frozen=True)
class StreamOptions:
    """Which stream to write and how to encode its chunks."""

    stream_id: str
    overwrite_existing_stream: bool = False
    encoder: Encoder | None = None
    #: stay connected after the stream ends (the official SDK's option)
    keep_open: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.stream_id, str) or not self.stream_id:
            raise ConfigurationError("stream_id is required and must be a non-empty string")
        if len(self.stream_id) > MAX_STREAM_ID_LENGTH:
            raise ConfigurationError(
                f"stream_id is {len(self.stream_id)} characters; at most "
                f"{MAX_STREAM_ID_LENGTH} are allowed"
            )
        if self.stream_id != self.stream_id.strip() or any(
            not c.isprintable() for c in self.stream_id
        ):
            raise ConfigurationError(
                "stream_id must not have surrounding whitespace or control characters: "
                f"{self.stream_id!r}"
            )
        if self.encoder is not None and not callable(self.encoder):
            raise ConfigurationError(
                f"encoder must be a callable returning str, not {type(self.encoder).__name__}"
            )
        for name in ("overwrite_existing_stream", "keep_open"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name} must be True or False")

    @classmethod
    def defaults(
        cls, given: Mapping[str, Any] | StreamOptions | None = None, **kw: Any
    ) -> dict[str, Any]:
        """Stream options as a dict, names checked, ``stream_id`` optional."""
        if isinstance(given, StreamOptions):
            given = {f.name: getattr(given, f.name) for f in fields(given)}
        merged = {**_as_mapping(given, "stream options"), **kw}
        merged = {k: v for k, v in merged.items() if v is not None}
        _reject_unknown(merged, _STREAM_FIELDS, "stream option")
        return merged

    @classmethod
    def build(
        cls, given: Mapping[str, Any] | StreamOptions | None = None, **kw: Any
    ) -> StreamOptions:
        if isinstance(given, StreamOptions):
            return replace(given, **kw) if kw else given
        merged = cls.defaults(given, **kw)
        if "stream_id" not in merged:
            raise ConfigurationError("stream_id is required: pass stream_id=...")
        return cls(**merged)


_SERVER_FIELDS = frozenset(f.name for f in fields(ServerOptions))
_STREAM_FIELDS = frozenset(f.name for f in fields(StreamOptions))


def split_options(kw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split keyword arguments into server and stream options; unknown names are an error."""
    server = {k: v for k, v in kw.items() if k in _SERVER_FIELDS}
    stream = {k: v for k, v in kw.items() if k in _STREAM_FIELDS}
    _reject_unknown(kw, _SERVER_FIELDS | _STREAM_FIELDS, "option")
    return server, stream


def _as_mapping(given: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise ConfigurationError(f"{what} must be a dict, not {type(given).__name__}")
    return dict(given)


def _reject_unknown(given: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    unknown = sorted(set(given) - known, key=str)
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(str(name), sorted(known), n=1)
        hints.append(f"{name!s} (did you mean {close[0]}?)" if close else str(name))
    raise ConfigurationError(
        f"unknown {what}{'s' if len(unknown) > 1 else ''}: {', '.join(hints)}; "
        f"known: {', '.join(sorted(known))}"
    )


def _check_api_key(key: object) -> None:
    if not isinstance(key, str) or not key.strip():
        raise ConfigurationError(f"api_key is required: pass api_key=... or set {ENV_API_KEY}")
    if key != key.strip():
        raise ConfigurationError("api_key has surrounding whitespace; check how it was pasted")
    bad = sorted({c for c in key if not (c.isascii() and c.isprintable()) or c.isspace()})
    if bad:
        # the characters are named by code point only: the key itself is never shown
        names = ", ".join(f"U+{ord(c):04X}" for c in bad[:5])
        raise ConfigurationError(
            f"api_key must be printable ASCII without whitespace; it contains {names}. "
            "Check how it was pasted"
        )


def _check_url(url: object) -> str:
    """The URL without a trailing slash; its path, if any, prefixes every endpoint."""
    if not isinstance(url, str):
        raise ConfigurationError(f"base_url must be a string, not {type(url).__name__}")
    hint = f"(set base_url=... or {ENV_BASE_URL})"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigurationError(f"base_url {url!r} is malformed: {exc} {hint}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an http:// or https:// URL, got {url!r} {hint}")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigurationError(
            f"base_url must not have a query or fragment, got {url!r}; a path is allowed "
            f"and prefixes both the Socket.IO endpoint and /v1/token {hint}"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError("base_url must not carry credentials; pass api_key=... instead")
    if any(not c.isprintable() or c.isspace() for c in url):
        raise ConfigurationError(f"base_url contains spaces or control characters: {url!r}")
    return url.rstrip("/")


def _check_int(name: str, value: object, minimum: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigurationError(
            f"{name} must be an integer from {minimum} to {maximum}, got {value!r}"
        )


def _check_seconds(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 < value <= MAX_SECONDS
    ):
        raise ConfigurationError(
            f"{name} must be a number of seconds above 0 and at most {MAX_SECONDS:g}, got {value!r}"
        )
