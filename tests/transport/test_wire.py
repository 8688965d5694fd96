"""The Socket.IO client connection without sockets: handshake, events, answers, and input of
any shape from a server that misbehaves."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from streamstraight_server._shims._wire import Phase, ProtocolError, WireConnection, chunk_message

OPEN = '0{"sid":"s1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}'


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.closed: list[str] = []

    def handler(self, name: str) -> Any:
        return lambda payload: self.events.append((name, payload))


def connected(recorder: Recorder | None = None) -> tuple[WireConnection, Recorder]:
    recorder = recorder or Recorder()
    handlers = {
        name: recorder.handler(name) for name in ("producer:ack", "stream:info", "stream:error")
    }
    wire = WireConnection(handlers, recorder.closed.append)
    wire.start({"role": "producer", "streamId": "s"})
    assert wire.receive(OPEN) == ['40{"role":"producer","streamId":"s"}']
    assert wire.phase is Phase.CONNECTING
    assert wire.receive('40{"sid":"x"}') == []
    assert wire.connected and wire.ping_interval == 0.3 and wire.liveness_timeout == 0.5
    return wire, recorder


def test_the_handshake_and_the_events_of_a_stream() -> None:
    wire, seen = connected()
    wire.receive('42["stream:info",{"lastSeq":null,"ended":false}]')
    wire.receive('42["producer:ack",{"seq":0,"redisId":"1-0"}]')
    assert wire.receive("2") == ["3"]
    assert wire.receive("2probe") == ["3probe"]
    answers: list[Any] = []
    assert wire.event_with_ack("producer:end", {"lastSeq": 0}, answers.append) == (
        '420["producer:end",{"lastSeq":0}]'
    )
    wire.receive('430[{"success":true,"endRedisId":"2-0"}]')
    assert answers == [{"success": True, "endRedisId": "2-0"}]
    assert seen.events == [
        ("stream:info", {"lastSeq": None, "ended": False}),
        ("producer:ack", {"seq": 0, "redisId": "1-0"}),
    ]
    wire.receive("41")
    assert seen.closed == ["the server disconnected the socket"] and wire.phase is Phase.CLOSED


def test_a_refused_connect_keeps_the_servers_payload() -> None:
    wire = WireConnection({}, lambda reason: None)
    wire.receive(OPEN)
    wire.receive('44{"message":"invalid API key","code":"unauthorized"}')
    assert wire.phase is Phase.REFUSED and wire.handshake_done
    assert wire.refusal == {"message": "invalid API key", "code": "unauthorized"}


def test_a_chunk_message_is_the_event_python_socketio_would_build() -> None:
    text = chunk_message(7, 'quote " and \u00e9')
    assert text.startswith('42["producer:chunk",')
    assert json.loads(text[2:]) == ["producer:chunk", {"seq": 7, "data": 'quote " and \u00e9'}]


@pytest.mark.parametrize(
    "text",
    [
        '42["producer:ack",{"seq":1},"x",42]',  # extra arguments
        "42" + "[" * 100_000 + "]" * 100_000,  # nested past the recursion limit
        '42["producer:ack",' + "[" * 100_000,  # the fast path's prefix, then garbage
        "42{not json",
        '42"a string"',
        "42[]",
        "42[1,2]",
        '43999["unexpected ack"]',
        '42/other,["stream:info",{}]',  # another namespace
        '451-["producer:ack",{"_placeholder":true,"num":0}]',  # a binary event
        "9",
        "",
        "4",
        "40",  # a second CONNECT
        '42["unknown:event",{}]',
    ],
)
def test_input_of_any_shape_never_raises(text: str, caplog: pytest.LogCaptureFixture) -> None:
    wire, seen = connected()
    with caplog.at_level(logging.WARNING, logger="streamstraight_server.transport"):
        assert wire.receive(text) == []
        wire.receive('42["producer:ack",{"seq":5}]')  # and the connection still works
    assert ("producer:ack", {"seq": 5}) in seen.events
    assert wire.connected
    assert len(caplog.records) <= 1  # once per connection at most, and never the text itself
    assert all("[[[" not in record.getMessage() for record in caplog.records)


def test_an_event_with_an_ack_id_still_reaches_its_handler() -> None:
    wire, seen = connected()
    wire.receive('420["stream:error",{"message":"busy","code":"stream-busy"}]')
    assert seen.events == [("stream:error", {"message": "busy", "code": "stream-busy"})]


def test_a_connect_error_after_the_handshake_is_ignored() -> None:
    wire, seen = connected()
    wire.receive('44{"message":"kicked","code":"internal"}')
    assert seen.events == [] and wire.connected


def test_a_broken_handshake_fails_the_attempt() -> None:
    wire = WireConnection({}, lambda reason: None)
    with pytest.raises(ProtocolError):
        wire.receive("0not json")
    assert wire.phase is Phase.CLOSED


def test_a_handler_that_raises_does_not_stop_the_reader() -> None:
    calls: list[Any] = []

    def broken(payload: Any) -> None:
        calls.append(payload)
        raise TypeError("a bug in a handler")

    wire = WireConnection({"stream:info": broken}, lambda reason: None)
    wire.receive(OPEN)
    wire.receive("40")
    wire.receive('42["stream:info",{}]')
    wire.receive('42["stream:info",{"n":2}]')
    assert calls == [{}, {"n": 2}] and wire.connected
