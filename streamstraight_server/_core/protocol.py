"""The stream-v1 wire protocol: event names, payload shapes and constants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

PROTOCOL_VERSION = "stream-v1"
DEFAULT_BASE_URL = "https://api.streamstraight.com"
SOCKETIO_PATH = "socket.io"
TOKEN_PATH = "/v1/token"
#: our limit on stream ids, shared by the SDK's option check and the local server
MAX_STREAM_ID_LENGTH = 512

# producer -> server
EV_CHUNK = "producer:chunk"
EV_END = "producer:end"
EV_HEARTBEAT = "producer:heartbeat"
# server -> producer
EV_ACK = "producer:ack"
# server -> any client
EV_INFO = "stream:info"
EV_STREAM_ERROR = "stream:error"
EV_CONNECTION_ERROR = "connection:error"
# consumer <-> server
EV_CONSUMER_READY = "consumer:ready"
EV_STREAM_CHUNK = "stream:chunk"
EV_STREAM_END = "stream:end"

StreamEndReason = Literal[
    "completed",
    "producer-error",
    "producer-disconnected",
    "inactivity-timeout",
    "not-found",
    "ignore-ended",
]
ProducerEndReason = Literal["completed", "producer-error"]
PRODUCER_END_REASONS: tuple[str, ...] = ("completed", "producer-error")


class ChunkPayload(TypedDict):
    seq: int
    data: str


class AckPayload(TypedDict):
    seq: int
    redisId: str


class EndPayload(TypedDict):
    reason: ProducerEndReason
    lastSeq: int


class EndAckSuccess(TypedDict):
    success: Literal[True]
    endRedisId: str


class EndAckFailure(TypedDict):
    success: Literal[False]
    error: str


EndAck = EndAckSuccess | EndAckFailure


class StreamInfoPayload(TypedDict, total=False):
    streamId: str
    deploymentId: str
    lastSeq: int | None
    ended: bool
    #: our local server's addition: why an ended stream ended
    endReason: StreamEndReason | None


class StreamErrorPayload(TypedDict, total=False):
    message: str
    code: str | None
    retryInMs: int | None


class StreamEndPayload(TypedDict):
    reason: StreamEndReason
    lastSeq: int


class ProducerAuth(TypedDict, total=False):
    role: Literal["producer"]
    streamId: str
    version: str
    sdkVersion: str
    overwriteExistingStream: bool


class ConsumerAuth(TypedDict):
    role: Literal["consumer"]
    streamId: str
    version: str
    token: str


def consumer_auth(stream_id: str, token: str) -> ConsumerAuth:
    return {"role": "consumer", "streamId": stream_id, "version": PROTOCOL_VERSION, "token": token}


def producer_auth(stream_id: str, sdk_version: str, overwrite: bool) -> ProducerAuth:
    auth: ProducerAuth = {
        "role": "producer",
        "streamId": stream_id,
        "version": PROTOCOL_VERSION,
        "sdkVersion": sdk_version,
    }
    if overwrite:
        auth["overwriteExistingStream"] = True
    return auth


def last_seq_for(chunk_count: int) -> int:
    """`lastSeq` of END: the seq of the last chunk, and 0 for an empty stream (as the service)."""
    return max(chunk_count - 1, 0)


# -- what the server says, parsed at the edge: the stream machine takes these -----------------

#: ``lastSeq`` beyond this is not a seq (JavaScript's largest exact integer)
MAX_SEQ = 2**53 - 1


def seq_of(value: object) -> int | None:
    """A seq from the server, or None for anything that is not one."""
    return value if type(value) is int and 0 <= value <= MAX_SEQ else None


@dataclass(frozen=True)
class StreamInfo:
    """``stream:info``: where the server stands on the stream. A payload of any other shape
    reads as a stream the server holds nothing of."""

    last_seq: int | None = None
    ended: bool = False
    #: our local server's addition: why an ended stream ended (any text the server gave)
    end_reason: str | None = None

    @classmethod
    def parse(cls, payload: object) -> StreamInfo:
        data = payload if isinstance(payload, dict) else {}
        reason = data.get("endReason")
        return cls(
            seq_of(data.get("lastSeq")),
            data.get("ended") is True,
            reason if isinstance(reason, str) else None,
        )


@dataclass(frozen=True)
class ServerError:
    """``stream:error`` or ``connection:error``; the text is the server's, unscrubbed, and the
    retry hint as sent (the machine checks it)."""

    message: str = "an unspecified error"
    code: str | None = None
    retry_in_ms: object = None

    @classmethod
    def parse(cls, payload: object) -> ServerError:
        data = payload if isinstance(payload, dict) else {}
        message = data.get("message")
        code = data.get("code")
        return cls(
            message if isinstance(message, str) and message else "an unspecified error",
            code if isinstance(code, str) else None,
            data.get("retryInMs"),
        )


@dataclass(frozen=True)
class EndAnswer:
    """The answer to END: ``success`` True or False, or None for an answer of another shape
    (``raw`` keeps it, to be quoted)."""

    success: bool | None
    end_id: object = None
    error: object = None
    raw: object = None

    @classmethod
    def parse(cls, answer: object) -> EndAnswer:
        success = answer.get("success") if isinstance(answer, dict) else None
        if success is True or success is False:  # not 1 or 0: a careless server's "truthy"
            assert isinstance(answer, dict)
            return cls(success, answer.get("endRedisId"), answer.get("error"), answer)
        return cls(None, raw=answer)
