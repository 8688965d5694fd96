"""The catalogue: one mode per way a server can answer wrongly, and what the SDK must make of it.

Each mode is a ``Behaviour`` (what the server does differently from a correct one) and what is
expected of the client: delivered (``error`` empty: the server must then hold every chunk) or
one of the documented error types, within ``deadline`` seconds. The scenario is the same for
every stream mode: open a writer, send ``CHUNKS`` chunks, ``flush()``, close; token modes fetch
one client token. ``pending`` names the flavours whose transport cannot pass the mode yet; their
case is a strict xfail, so it fails loudly once the transport is fixed.

The groups follow issue 16: the budgets of a stream, the reader's input, server text (bounded,
scrubbed), ``retryInMs``, the handshake's and the token request's deadlines, then what was
already handled well and must stay so (acks, END answers, ``stream:info``, floods, frames).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import socketio
from aiohttp import web

from streamstraight_server import (
    AckTimeoutError,
    AuthenticationError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    EndRejectedError,
    EndTimeoutError,
    HandshakeRejectedError,
    StreamError,
    StreamstraightServerError,
    StreamstraightTokenError,
    TokenAuthenticationError,
)

from . import raw
from .server import NO_ANSWER, Behaviour, Conn, RawHandler

if TYPE_CHECKING:
    from .checks import Outcome, Records
    from .server import Stored

CHUNKS = 30
#: the options of every case; a mode may change some
OPTIONS: dict[str, Any] = {
    "num_connect_retries": 1,
    "connect_retry_delay_ms": 50,
    "connect_timeout": 3.0,
    "ack_timeout": 3.0,
    "end_timeout": 3.0,
    "http_timeout": 3.0,
    "resume_attempts": 3,
    "resume_timeout": 6.0,
    "heartbeat_interval": None,
}
#: a connection that fails: two attempts of connect_timeout and a short delay
CONNECT_BOUND = 2 * 3.0 + 0.2
#: a drop that cannot be resumed: resume_timeout and a connection attempt
RESUME_BOUND = 6.0 + 3.0
#: a stream that goes well (the slowest: a server with no acks, found out in 2 s)
DELIVERED_BOUND = 6.0
#: nested arrays in a packet that no JSON parser should be asked to recurse into
DEEP = 100_000
MEGABYTE = 1024 * 1024
TRANSPORT = "needs the new transport (issue 12)"

Errors = tuple[type[StreamstraightServerError], ...]
Check = Callable[["Outcome", "Stored", "Records"], None]


@dataclass(frozen=True)
class Mode:
    name: str
    behaviour: Callable[[], Behaviour]
    #: the documented error types the call may end with; empty: the stream is delivered
    error: Errors = ()
    deadline: float = DELIVERED_BOUND
    action: Literal["stream", "token"] = "stream"
    #: what the server must hold afterwards, beyond the checks every case makes
    stored: Literal["all", "none", None] = None
    options: dict[str, Any] = field(default_factory=dict)
    #: flavours ("async", "sync") that cannot pass yet: strict xfail, reason TRANSPORT
    pending: frozenset[str] = frozenset()
    check: Check | None = None
    #: the row of issue 16 (or the area of the regression net) the mode stands for
    row: str = ""


# -- helpers for modes ---------------------------------------------------------------------


def nested(depth: int, inner: str = "0") -> str:
    return "[" * depth + inner + "]" * depth


def straddling(key: str, at: int, before: str = "") -> str:
    """Padding, the key and a tail such that, in ``before + text``, the key spans offset
    ``at``: a cut there would leave part of it on each side."""
    pad = max(at - len(key) // 2 - len(before), 0)
    return "x" * pad + key + " and the rest of the answer" * 4


def megabyte_with(key: str) -> str:
    half = "The server explains at length. " * (MEGABYTE // 62)
    return f"Bearer {key} " + half + f" (you sent {key}) " + half + f" {key}"


async def trickle(response: web.StreamResponse, data: bytes, every: float) -> None:
    for index in range(len(data)):
        await response.write(data[index : index + 1])
        await asyncio.sleep(every)


def stream_error_is(code: str | None) -> Check:
    def check(outcome: Outcome, stored: Stored, records: Records) -> None:
        assert isinstance(outcome.error, StreamError) and outcome.error.code == code, outcome.error

    return check


def whole_text_kept(minimum: int) -> Check:
    """The message is short, and the server's whole text is on the error, scrubbed."""

    def check(outcome: Outcome, stored: Stored, records: Records) -> None:
        error = outcome.error
        assert error is not None and error.server_message is not None
        assert len(error.server_message) >= minimum, len(error.server_message)
        assert "***" in error.server_message

    return check


def retry_hint(expected: int | None, warned: bool) -> Check:
    def check(outcome: Outcome, stored: Stored, records: Records) -> None:
        assert isinstance(outcome.error, StreamError), outcome.error
        assert outcome.error.retry_in_ms == expected
        assert warned == any("retryInMs" in w for w in records.warnings()), records.warnings()

    return check


def details_scrubbed(outcome: Outcome, stored: Stored, records: Records) -> None:
    error = outcome.error
    assert isinstance(error, HandshakeRejectedError), error
    detail = error.details["detail"]
    assert detail["request"]["headers"]["authorization"] == "Bearer ***"
    assert detail["trace"] == [["***"]]


# -- budgets: a server that accepts and drops renews nothing -------------------------------


class InfoThenDropForever(Behaviour):
    """Accepts, says where the stream stands, closes, stores nothing: every time."""

    async def connected(self, conn: Conn) -> None:
        await conn.info()
        await asyncio.sleep(0.05)
        await conn.drop()

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        pass


class SilentThenDropForever(InfoThenDropForever):
    """Accepts, says where the stream stands, stays silent for a second, closes."""

    async def connected(self, conn: Conn) -> None:
        await conn.info()
        await asyncio.sleep(1.0)
        await conn.drop()


class DropOnEveryEnd(Behaviour):
    """Stores and acks every chunk; closes the connection whenever END arrives."""

    async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
        conn.later(conn.drop())
        return NO_ANSWER


class EndSilentThenDrop(Behaviour):
    """Never answers END; closes the connection two seconds after it arrives."""

    async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
        async def later() -> None:
            await asyncio.sleep(2.0)
            await conn.drop()

        conn.later(later())
        return NO_ANSWER


# -- the reader's input --------------------------------------------------------------------


class AckExtraArgs(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        conn.stored.store(seq, data)
        await conn.emit("producer:ack", {"seq": seq, "redisId": f"{seq}-0"}, "x", 42)


class InfoExtraArgs(Behaviour):
    async def connected(self, conn: Conn) -> None:
        info = {"streamId": conn.stream_id, "lastSeq": conn.stored.last_seq, "ended": False}
        await conn.emit("stream:info", info, "x", 42)


class EndAnswerExtraArgs(Behaviour):
    async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
        return (await super().end(conn, payload), "x", 42)


class ErrorAfterFive(Behaviour):
    """Stores and acks five chunks, then reports an error in the way ``report`` says."""

    async def report(self, conn: Conn) -> None:
        raise NotImplementedError

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if seq < 5:
            await super().chunk(conn, seq, data)
        elif seq == 5:
            await self.report(conn)


class StreamErrorExtraArgs(ErrorAfterFive):
    async def report(self, conn: Conn) -> None:
        error = {"message": "quota exceeded", "code": "quota-exceeded", "retryInMs": None}
        await conn.emit("stream:error", error, "x", 42)


class StreamErrorWithAckId(ErrorAfterFive):
    async def report(self, conn: Conn) -> None:
        await conn.raw('20["stream:error",{"message":"quota exceeded","code":"quota-exceeded"}]')


class AckDeeplyNested(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if seq == 3:
            await conn.raw(f'2["producer:ack",{nested(DEEP)}]')
        await super().chunk(conn, seq, data)


class UnknownEventDeeplyNested(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if seq == 3:
            await conn.raw(f'2["surprise",{nested(DEEP)}]')
        await super().chunk(conn, seq, data)


class AcksWithAckIds(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        conn.stored.store(seq, data)
        await conn.raw(f'2{seq + 7}["producer:ack",{{"seq":{seq},"redisId":"{seq}-0"}}]')


class InfoWithAckId(Behaviour):
    async def connected(self, conn: Conn) -> None:
        info = {"streamId": conn.stream_id, "lastSeq": conn.stored.last_seq, "ended": False}
        await conn.raw("21" + json.dumps(["stream:info", info]))


class WrongShapes(Behaviour):
    """Events of every wrong shape before each ack."""

    PACKETS = (
        '2["producer:ack"]',
        '2["producer:ack",null]',
        '2["stream:info"]',
        "2[42,{}]",
        '2{"seq":1}',
        "2[]",
    )

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        for packet in self.PACKETS:
            await conn.raw(packet)
        await super().chunk(conn, seq, data)


class StreamErrorWithoutPayload(ErrorAfterFive):
    async def report(self, conn: Conn) -> None:
        await conn.raw('2["stream:error"]')


class HugeUnknownEvent(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if seq == 5 and conn.received == 6:
            await conn.emit("surprise", "x" * (5 * MEGABYTE))
        await super().chunk(conn, seq, data)


# -- below python-socketio -----------------------------------------------------------------


class GarbagePackets(Behaviour):
    """Socket.IO packets that are not packets, once, early in the stream."""

    PACKETS: tuple[str, ...] = (
        "hello",
        "2",
        "2[",
        '2"x"',
        "9999",
        "3[]",
        "3",
        "2-1",
        "2x[1]",
        "0{}",
    )

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if seq == 2 and conn.received == 3:
            for packet in self.PACKETS:
                await conn.raw(packet)
        await super().chunk(conn, seq, data)


class ConnectErrorAfterConnect(GarbagePackets):
    """A CONNECT_ERROR for the namespace the producer is already connected to: outside the
    protocol, it says nothing about the stream (which the server goes on storing)."""

    PACKETS = ('4{"message":"you are not connected"}', "4{}")


class EngineIoGarbage(Behaviour):
    """WebSocket text frames that are not Engine.IO packets (or are unexpected ones)."""

    FRAMES = (b"9garbage", b"", b"6", b"3", b"x" * 100, b"5", b"3probe")

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if seq == 2 and conn.received == 3:
            for frame in self.FRAMES:
                conn.frame(frame)
        await super().chunk(conn, seq, data)


class InvalidUtf8(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if seq == 10 and conn.received == 11:
            conn.frame(b'42["producer:ack",{"seq":10,"redisId":"\xff\xfe"}]')
        await super().chunk(conn, seq, data)


class BinaryFrames(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if seq == 4 and conn.received == 5:
            conn.frame(b"\x00\x01\x02garbage", opcode=0x2)
            await conn.raw(b"\x04binary engine.io message")
            await conn.emit("surprise", b"\x00\x01binary attachment")
            await conn.emit("producer:ack", {"seq": b"\x00\x01", "redisId": b"x"})
        await super().chunk(conn, seq, data)


class OtherNamespace(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        if seq == 4 and conn.received == 5:
            await conn.raw('2/other,["stream:error",{"message":"not yours","code":"internal"}]')
            await conn.raw('2/other,["producer:ack",{"seq":29}]')
            await conn.raw('0/other,{"sid":"x"}')
            await conn.raw("1/other,")
        await super().chunk(conn, seq, data)


class Flood(Behaviour):
    """A hundred unknown events of a kilobyte each with every ack."""

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        for i in range(100):
            await conn.emit("surprise", {"i": i, "pad": "x" * 1000})
        await super().chunk(conn, seq, data)


class DisconnectPacket(Behaviour):
    """A Socket.IO DISCONNECT once, mid-stream: the SDK must resume."""

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        await super().chunk(conn, seq, data)
        if seq == 10 and conn.stored.connections == 1 and conn.received == 11:
            await conn.raw("1")


class DropOnce(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        await super().chunk(conn, seq, data)
        if seq == 10 and conn.stored.connections == 1 and conn.received == 11:
            await conn.drop()


# -- server text: bounded, scrubbed before it is cut ---------------------------------------


class EndRefusedMegabyte(Behaviour):
    async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
        return {"success": False, "error": megabyte_with(conn.key)}


class StreamErrorMegabyte(ErrorAfterFive):
    async def report(self, conn: Conn) -> None:
        await conn.emit("stream:error", {"message": megabyte_with(conn.key), "code": "internal"})


class EndAnswerKeyAtCut(Behaviour):
    """A garbage answer whose text has the key where the SDK cut answers at 200 characters."""

    async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
        return {"success": None, "echo": straddling(conn.key, 200, "{'success': None, 'echo': '")}


class EndRefusalKeyAtCut(Behaviour):
    async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
        return {"success": False, "error": straddling(conn.key, 200)}


class StreamErrorKeyFragments(ErrorAfterFive):
    """The key whole, cut short by the server itself, and its tail alone."""

    async def report(self, conn: Conn) -> None:
        key = conn.key
        message = f"rejected {key}; header was 'Bearer {key[:-3]}' (tail {key[5:]})"
        await conn.emit("stream:error", {"message": message, "code": "internal"})


class StreamErrorCodeGarbage(ErrorAfterFive):
    async def report(self, conn: Conn) -> None:
        await conn.emit("stream:error", {"message": "odd code", "code": megabyte_with(conn.key)})


class ConnectionErrorEcho(ErrorAfterFive):
    async def report(self, conn: Conn) -> None:
        await conn.emit("connection:error", {"message": f"overloaded; your key {conn.key}"})


class RetryInMs(ErrorAfterFive):
    def __init__(self, retry: Any) -> None:
        self.retry = retry

    async def report(self, conn: Conn) -> None:
        error = {"message": "slow down", "code": "internal", "retryInMs": self.retry}
        await conn.emit("stream:error", error)


class Refuse(Behaviour):
    """Refuses every handshake with this CONNECT_ERROR data (the key echoed into it)."""

    def __init__(self, data: Callable[[str], Any]) -> None:
        self.data = data

    async def handshake(self, conn: Conn) -> None:
        error = socketio.exceptions.ConnectionRefusedError("refused")
        error.error_args = self.data(conn.key)
        raise error


def nested_key_refusal(key: str) -> dict[str, Any]:
    return {
        "message": "stream refused",
        "code": "bad-request",
        "detail": {"request": {"headers": {"authorization": f"Bearer {key}"}}, "trace": [[key]]},
    }


def deep_refusal(key: str) -> dict[str, Any]:
    detail = json.loads(nested(100, f'"{key}"'))
    return {"message": "refused", "code": "bad-request", "detail": detail}


class EndedWithGarbageReason(Behaviour):
    """Stores END, loses the connection before answering; then says the stream ended for a
    reason that is a kilobyte of text holding the key."""

    async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
        await super().end(conn, payload)
        conn.later(conn.drop())
        return NO_ANSWER

    async def connected(self, conn: Conn) -> None:
        if conn.stored.ended:
            await conn.info(endReason="y" * 1000 + conn.key + "z" * 1000)
        else:
            await conn.info()


class EndRedisIdEcho(Behaviour):
    async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
        answer = await super().end(conn, payload)
        return {**answer, "endRedisId": f"1-0 for {conn.key}"}


class UpgradeRefusedEcho(Behaviour):
    """Answers the WebSocket upgrade with an error status, echoing the key in body and header."""

    def __init__(self, status: int) -> None:
        self.status = status

    async def http(self, request: web.Request) -> web.StreamResponse | None:
        if not request.path.startswith("/socket.io/"):
            return None
        echoed = request.headers.get("Authorization", "")
        return web.Response(
            status=self.status,
            text=f"refused: you sent {echoed!r}",
            headers={"X-Echo": echoed},
        )


# -- the handshake's deadline --------------------------------------------------------------


class RawTcp(Behaviour):
    def __init__(self, handler: RawHandler) -> None:
        self.handler = handler

    def raw_listener(self) -> RawHandler:
        return self.handler


class SlowHandshake(Behaviour):
    """Two seconds before the upgrade and two before CONNECT is answered: four in all."""

    async def http(self, request: web.Request) -> web.StreamResponse | None:
        if request.path.startswith("/socket.io/"):
            await asyncio.sleep(2.0)
        return None

    async def handshake(self, conn: Conn) -> None:
        await asyncio.sleep(2.0)


class ConnectNeverAnswered(Behaviour):
    async def handshake(self, conn: Conn) -> None:
        await asyncio.sleep(3600)


# -- the token endpoint --------------------------------------------------------------------


class Token(Behaviour):
    """Answers the token request with this status and body (``{key}`` is the key it got)."""

    def __init__(self, status: int, body: Callable[[str], str]) -> None:
        self.status = status
        self.body = body

    async def token(self, request: web.Request) -> web.StreamResponse:
        key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return web.Response(
            status=self.status, text=self.body(key), content_type="application/json"
        )


class TokenBodyTrickled(Behaviour):
    async def token(self, request: web.Request) -> web.StreamResponse:
        body = json.dumps({"token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"}).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        await trickle(response, body, 0.4)
        return response


TRICKLED_TOKEN_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: "
    + b"p" * 40
    + b'\r\nContent-Length: 20\r\n\r\n{"token": "a.b.c"}\n'
)


def end_garbage(answer: Any) -> Callable[[], Behaviour]:
    class EndGarbage(Behaviour):
        async def end(self, conn: Conn, payload: dict[str, Any]) -> Any:
            await super().end(conn, payload)
            return answer

    return EndGarbage


# -- acks, stream:info -----------------------------------------------------------------------


class UnknownAcks(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        for bogus in (10**6, -1, 2**70, CHUNKS + 5):
            await conn.ack(bogus)
        await super().chunk(conn, seq, data)


class DuplicateAcks(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        await super().chunk(conn, seq, data)
        await conn.ack(seq)
        await conn.ack(seq)


class ReorderedAcks(Behaviour):
    """Acks held back in groups of five and sent newest first."""

    def __init__(self) -> None:
        self.held: list[int] = []

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        conn.stored.store(seq, data)
        self.held.append(seq)
        if len(self.held) == 5 or seq == CHUNKS - 1:
            for held in reversed(self.held):
                await conn.ack(held)
            self.held.clear()


class MalformedAcks(Behaviour):
    BOGUS: tuple[Any, ...] = (
        {"seq": "3"},
        {"seq": True},
        {},
        [1],
        "x",
        None,
        {"seq": 1.5},
        7,
        {"seq": None},
    )

    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        for bogus in self.BOGUS:
            await conn.emit("producer:ack", bogus)
        await super().chunk(conn, seq, data)


class NoAcks(Behaviour):
    async def chunk(self, conn: Conn, seq: int, data: str) -> None:
        conn.stored.store(seq, data)


class Info(Behaviour):
    """Sends this ``stream:info`` payload (``None``: none at all) on the first connection."""

    def __init__(self, payload: Callable[[Conn], Any]) -> None:
        self.payload = payload

    async def connected(self, conn: Conn) -> None:
        payload = self.payload(conn)
        if payload is not None:
            await conn.emit("stream:info", payload)


class InfoTwice(Behaviour):
    async def connected(self, conn: Conn) -> None:
        await conn.info()
        await conn.info(lastSeq=999, ended=True)


class GarbageLastSeqOnResume(DropOnce):
    async def connected(self, conn: Conn) -> None:
        if conn.stored.connections > 1:
            await conn.info(lastSeq="eleven")
        else:
            await conn.info()


def info_last_seq(value: Any) -> Callable[[], Behaviour]:
    return lambda: Info(lambda conn: {"streamId": conn.stream_id, "lastSeq": value, "ended": False})


# -- the catalogue -------------------------------------------------------------------------


CATALOGUE: list[Mode] = [
    # budgets
    Mode(
        "info-then-drop-forever",
        InfoThenDropForever,
        (ConnectionLostError,),
        RESUME_BOUND,
        stored="none",
        row="accepts, stream:info, closes, stores nothing - forever",
    ),
    Mode(
        "silent-then-drop-forever",
        SilentThenDropForever,
        (ConnectionLostError, AckTimeoutError),
        RESUME_BOUND,
        stored="none",
        row="accepts, stream:info, closes, stores nothing - forever (ack timer)",
    ),
    Mode(
        "drop-on-every-end",
        DropOnEveryEnd,
        (ConnectionLostError, EndTimeoutError),
        RESUME_BOUND,
        stored="all",
        row="accepts, stream:info, closes - forever (END re-sent)",
    ),
    Mode(
        "end-silent-then-drop-forever",
        EndSilentThenDrop,
        (EndTimeoutError, ConnectionLostError),
        RESUME_BOUND,
        stored="all",
        row="accepts, stream:info, closes - forever (END's deadline re-armed)",
    ),
    # the reader's input
    Mode("ack-extra-args", AckExtraArgs, row="an event with extra arguments"),
    Mode("info-extra-args", InfoExtraArgs, row="an event with extra arguments"),
    Mode("end-answer-extra-args", EndAnswerExtraArgs, row="an event with extra arguments"),
    Mode(
        "stream-error-extra-args",
        StreamErrorExtraArgs,
        (StreamError,),
        check=stream_error_is("quota-exceeded"),
        row="an event with extra arguments",
    ),
    Mode(
        "ack-nested-100000-deep",
        AckDeeplyNested,
        row="an ack nested 100,000 arrays deep",
    ),
    Mode(
        "unknown-event-nested-100000-deep",
        UnknownEventDeeplyNested,
        row="an ack nested 100,000 arrays deep",
    ),
    Mode(
        "stream-error-with-ack-id",
        StreamErrorWithAckId,
        (StreamError,),
        check=stream_error_is("quota-exceeded"),
        row="events carrying a Socket.IO ack id",
    ),
    Mode("acks-with-ack-ids", AcksWithAckIds, row="events carrying a Socket.IO ack id"),
    Mode("info-with-ack-id", InfoWithAckId, row="events carrying a Socket.IO ack id"),
    Mode("events-of-wrong-shapes", WrongShapes, row="wrong arity, wrong types"),
    Mode(
        "stream-error-without-payload",
        StreamErrorWithoutPayload,
        (StreamError,),
        check=stream_error_is(None),
        row="a stream:error is an error whatever its form",
    ),
    Mode("unknown-event-of-5mb", HugeUnknownEvent, row="a frame too large"),
    # below python-socketio
    Mode("garbage-socketio-packets", GarbagePackets, row="malformed packets (net)"),
    Mode(
        "connect-error-after-connect",
        ConnectErrorAfterConnect,
        row="a packet out of place is ignored (net)",
    ),
    Mode("garbage-engineio-packets", EngineIoGarbage, row="malformed frames (net)"),
    Mode("invalid-utf8", InvalidUtf8, row="invalid UTF-8 (net)"),
    Mode("binary-frames", BinaryFrames, row="binary frames (net)"),
    Mode("other-namespace", OtherNamespace, row="other namespaces (net)"),
    Mode("flood-of-unknown-events", Flood, row="floods (net)"),
    Mode("disconnect-packet-mid-stream", DisconnectPacket, row="drops (net)"),
    Mode("drop-once-mid-stream", DropOnce, row="drops (net)"),
    # server text
    Mode(
        "end-refused-with-1mb",
        EndRefusedMegabyte,
        (EndRejectedError,),
        check=whole_text_kept(MEGABYTE - 4096),
        row="END refused, or stream:error, with a 1 MB message",
    ),
    Mode(
        "stream-error-of-1mb",
        StreamErrorMegabyte,
        (StreamError,),
        check=whole_text_kept(MEGABYTE - 4096),
        row="END refused, or stream:error, with a 1 MB message",
    ),
    Mode(
        "end-answer-key-at-the-cut",
        EndAnswerKeyAtCut,
        (EndRejectedError,),
        row="the API key echoed where the 200-character cut falls (END answer)",
    ),
    Mode(
        "end-refusal-key-at-the-cut",
        EndRefusalKeyAtCut,
        (EndRejectedError,),
        row="the API key echoed where the 200-character cut falls (END answer)",
    ),
    Mode(
        "stream-error-key-fragments",
        StreamErrorKeyFragments,
        (StreamError,),
        row="no prefix or suffix of the key survives",
    ),
    Mode(
        "stream-error-code-of-1mb",
        StreamErrorCodeGarbage,
        (StreamError,),
        row="END refused, or stream:error, with a 1 MB message",
    ),
    Mode(
        "connection-error-echo",
        ConnectionErrorEcho,
        (StreamError,),
        check=stream_error_is(None),
        row="the key echoed (net)",
    ),
    Mode(
        "refusal-key-in-nested-fields",
        lambda: Refuse(nested_key_refusal),
        (HandshakeRejectedError,),
        CONNECT_BOUND,
        stored="none",
        check=details_scrubbed,
        row="the key in nested fields of a refusal",
    ),
    Mode(
        "refusal-of-1mb",
        lambda: Refuse(lambda key: {"message": megabyte_with(key), "code": "bad-request"}),
        (HandshakeRejectedError,),
        CONNECT_BOUND,
        stored="none",
        row="the key in nested fields of a refusal (1 MB)",
    ),
    Mode(
        "refusal-nested-100-deep",
        lambda: Refuse(deep_refusal),
        (HandshakeRejectedError,),
        CONNECT_BOUND,
        stored="none",
        row="the key in nested fields of a refusal (deep)",
    ),
    Mode(
        "refusal-retryable-echo",
        lambda: Refuse(lambda key: {"message": f"busy; you sent {key}", "code": "internal"}),
        (ConnectError,),
        CONNECT_BOUND,
        stored="none",
        row="the key in a refusal worth retrying",
    ),
    Mode(
        "ended-with-garbage-reason",
        EndedWithGarbageReason,
        (ConnectionLostError,),
        RESUME_BOUND,
        row="server text in stream:info",
    ),
    Mode("end-redis-id-echo", EndRedisIdEcho, row="server text in the END answer"),
    Mode(
        "upgrade-500-echo",
        lambda: UpgradeRefusedEcho(500),
        (ConnectError,),
        CONNECT_BOUND,
        stored="none",
        row="the key echoed by a refused upgrade",
    ),
    Mode(
        "upgrade-403-echo",
        lambda: UpgradeRefusedEcho(403),
        (AuthenticationError,),
        CONNECT_BOUND,
        stored="none",
        row="the key echoed by a refused upgrade",
    ),
    # retryInMs
    Mode(
        "retry-in-ms-negative",
        lambda: RetryInMs(-5000),
        (StreamError,),
        check=retry_hint(None, warned=True),
        row="stream:error with retryInMs -5000 or 10^12",
    ),
    Mode(
        "retry-in-ms-10e12",
        lambda: RetryInMs(10**12),
        (StreamError,),
        check=retry_hint(None, warned=True),
        row="stream:error with retryInMs -5000 or 10^12",
    ),
    Mode(
        "retry-in-ms-in-range",
        lambda: RetryInMs(1500),
        (StreamError,),
        check=retry_hint(1500, warned=False),
        row="stream:error with retryInMs (net)",
    ),
    # the handshake's deadline
    Mode(
        "upgrade-trickled",
        lambda: RawTcp(raw.trickled_upgrade(0.5)),
        (ConnectTimeoutError,),
        CONNECT_BOUND,
        row="blocking: the upgrade answer trickled one byte every 500 ms",
    ),
    Mode(
        "handshake-of-4s",
        SlowHandshake,
        (ConnectTimeoutError,),
        3.0,
        options={"num_connect_retries": 0},
        row="blocking: a handshake that needs 4 s, connect_timeout=3",
    ),
    Mode(
        "connect-never-answered",
        ConnectNeverAnswered,
        (ConnectTimeoutError,),
        CONNECT_BOUND,
        row="blocking: Socket.IO CONNECT never answered",
    ),
    Mode(
        "tcp-silent",
        lambda: RawTcp(raw.silent()),
        (ConnectTimeoutError,),
        CONNECT_BOUND,
        row="a server that never answers (net)",
    ),
    Mode(
        "engineio-open-never-sent",
        lambda: RawTcp(raw.upgrade_then()),
        (ConnectTimeoutError,),
        CONNECT_BOUND,
        row="a handshake that stops after the upgrade",
    ),
    Mode(
        "engineio-open-garbage",
        lambda: RawTcp(raw.upgrade_then(b"0not json", b"40")),
        (ConnectError,),
        CONNECT_BOUND,
        row="a handshake that makes no sense",
    ),
    # the token endpoint
    Mode(
        "token-body-trickled",
        TokenBodyTrickled,
        (StreamstraightTokenError,),
        3.0,
        action="token",
        row="blocking: token endpoint sends its body one byte every 400 ms",
    ),
    Mode(
        "token-headers-trickled",
        lambda: RawTcp(raw.trickled_http(TRICKLED_TOKEN_ANSWER, 0.4)),
        (StreamstraightTokenError,),
        3.0,
        action="token",
        row="blocking: token endpoint sends its answer one byte every 400 ms",
    ),
    Mode(
        "token-never-answered",
        lambda: RawTcp(raw.silent()),
        (StreamstraightTokenError,),
        3.0,
        action="token",
        row="token endpoint garbage (net)",
    ),
    Mode(
        "token-500-key-at-the-cut",
        lambda: Token(500, lambda key: json.dumps({"error": straddling(key, 200)})),
        (StreamstraightTokenError,),
        3.0,
        action="token",
        row="the API key echoed where the 200-character cut falls (token 500 body)",
    ),
    Mode(
        "token-500-text-key-at-the-cut",
        lambda: Token(500, lambda key: straddling(key, 200)),
        (StreamstraightTokenError,),
        3.0,
        action="token",
        row="the API key echoed where the 200-character cut falls (token 500 body)",
    ),
    Mode(
        "token-500-of-1mb",
        lambda: Token(500, lambda key: json.dumps({"error": megabyte_with(key)})),
        (StreamstraightTokenError,),
        3.0,
        action="token",
        check=whole_text_kept(60_000),
        row="token endpoint garbage (net)",
    ),
    Mode(
        "token-401-echo",
        lambda: Token(401, lambda key: json.dumps({"error": f"bad key {key}"})),
        (TokenAuthenticationError,),
        3.0,
        action="token",
        row="token endpoint garbage (net)",
    ),
    Mode(
        "token-not-json",
        lambda: Token(200, lambda key: "<html>hello</html>"),
        (StreamstraightTokenError,),
        3.0,
        action="token",
        row="token endpoint garbage (net)",
    ),
    Mode(
        "token-missing",
        lambda: Token(200, lambda key: '{"jwt": "a.b.c"}'),
        (StreamstraightTokenError,),
        3.0,
        action="token",
        row="token endpoint garbage (net)",
    ),
    Mode(
        "token-not-a-jwt",
        lambda: Token(200, lambda key: json.dumps({"token": key})),
        (StreamstraightTokenError,),
        3.0,
        action="token",
        row="token endpoint garbage (net)",
    ),
    Mode(
        "token-answer-of-8mb",
        lambda: Token(200, lambda key: json.dumps({"token": "a.b." + "c" * 8 * MEGABYTE})),
        (StreamstraightTokenError,),
        3.0,
        action="token",
        row="token endpoint garbage (net)",
    ),
    # END answers
    Mode("end-answered-true", end_garbage(True), (EndRejectedError,), row="garbage END (net)"),
    Mode("end-answered-ok", end_garbage("ok"), (EndRejectedError,), row="garbage END (net)"),
    Mode(
        "end-answered-success-string",
        end_garbage({"success": "true", "endRedisId": "1-0"}),
        (EndRejectedError,),
        row="garbage END (net)",
    ),
    Mode("end-answered-nothing", end_garbage(None), (EndRejectedError,), row="garbage END (net)"),
    Mode("end-answered-null", end_garbage((None,)), (EndRejectedError,), row="garbage END (net)"),
    Mode("end-answered-list", end_garbage([True]), (EndRejectedError,), row="garbage END (net)"),
    Mode(
        "end-never-answered",
        end_garbage(NO_ANSWER),
        (EndTimeoutError,),
        3.0 + 1.0,
        row="garbage END (net)",
    ),
    # acks
    Mode("unknown-acks", UnknownAcks, row="unknown acks (net)"),
    Mode("duplicate-acks", DuplicateAcks, row="duplicate acks (net)"),
    Mode("reordered-acks", ReorderedAcks, row="reordered acks (net)"),
    Mode("malformed-acks", MalformedAcks, row="malformed acks (net)"),
    Mode("no-acks", NoAcks, row="a server that confirms only END (net)"),
    # stream:info
    Mode("last-seq-a-string", info_last_seq("eleven"), row="garbage lastSeq (net)"),
    Mode("last-seq-negative", info_last_seq(-7), row="garbage lastSeq (net)"),
    Mode("last-seq-a-float", info_last_seq(2.5), row="garbage lastSeq (net)"),
    Mode("last-seq-true", info_last_seq(True), row="garbage lastSeq (net)"),
    Mode("last-seq-10e30", info_last_seq(10**30), row="garbage lastSeq"),
    Mode("last-seq-garbage-on-resume", GarbageLastSeqOnResume, row="garbage lastSeq (net)"),
    Mode("no-stream-info", lambda: Info(lambda conn: None), row="no stream:info (net)"),
    Mode("stream-info-not-a-dict", lambda: Info(lambda conn: "hello"), row="garbage info (net)"),
    Mode("stream-info-twice", InfoTwice, row="garbage info (net)"),
    Mode(
        "stream-info-says-ended",
        lambda: Info(lambda conn: {"streamId": conn.stream_id, "lastSeq": 3, "ended": True}),
        (HandshakeRejectedError,),
        CONNECT_BOUND,
        stored="none",
        row="garbage info (net)",
    ),
]
