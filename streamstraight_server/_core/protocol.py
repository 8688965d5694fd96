"""The stream-v1 wire protocol: event names, payload shapes and constants."""

from __future__ import annotations

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
