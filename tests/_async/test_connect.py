"""Connecting: options checked before any I/O, retries for transient failures only."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from streamstraight_server import (
    AsyncStreamstraight,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    HandshakeRejectedError,
    StreamError,
    StreamstraightServerError,
)
from streamstraight_server._shims._async import monotonic
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import closed_port, snapshot


async def test_missing_api_key_is_refused_before_any_io(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="STREAMSTRAIGHT_API_KEY"):
        AsyncStreamstraight(stream_id="x")


async def test_api_key_and_base_url_come_from_the_environment(
    server: ThreadedDevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMSTRAIGHT_API_KEY", server.api_key)
    monkeypatch.setenv("STREAMSTRAIGHT_API_BASE_URL", server.base_url)
    await AsyncStreamstraight(stream_id="env").stream(["from env"])
    assert snapshot(server, "env").data == ['"from env"']


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"api_key": "k", "stream_id": ""}, "stream_id is required"),
        ({"api_key": "k", "stream_id": " padded"}, "surrounding whitespace"),
        ({"api_key": "k", "base_url": "ftp://host"}, "http:// or https://"),
        ({"api_key": "k", "num_connect_retries": -1}, "num_connect_retries"),
        ({"api_key": "k", "ack_timeout": 0}, "ack_timeout"),
        ({"api_key": "k", "stream_id": "s", "encoder": "json"}, "encoder must be a callable"),
        ({"api_key": "k", "stream_id": "s", "keep_open": "yes"}, "keep_open must be True or False"),
        (
            {"api_key": "k", "stream_idd": "typo"},
            r"unknown option: stream_idd \(did you mean stream_id\?\)",
        ),
        ({"api_key": "two words"}, "whitespace"),
        ({"api_key": "k", "ack_timeout": 1e300}, "ack_timeout must be .* at most 86400"),
        ({"api_key": "k", "resume_timeout": float("nan")}, "resume_timeout"),
        ({"api_key": "k", "heartbeat_interval": 1e300}, "heartbeat_interval"),
        ({"api_key": "k", "connect_retry_delay_ms": 10**400}, "connect_retry_delay_ms must be"),
        ({"api_key": "k", "num_connect_retries": 10**6}, "num_connect_retries must be"),
        ({"api_key": "k", "max_chunk_bytes": 0}, "max_chunk_bytes must be"),
        ({"api_key": "sk\x00key"}, "U\\+0000"),
        ({"api_key": "sk_ключ"}, "printable ASCII"),
        ({"api_key": " sk_padded "}, "surrounding whitespace"),
        ({"api_key": "k", "base_url": "https://host/?region=eu"}, "query or fragment"),
        ({"api_key": "k", "base_url": "https://user:pw@host"}, "must not carry credentials"),
        ({"api_key": "k", "base_url": "http://host:99999"}, "malformed"),
        ({"api_key": "k", "stream_id": "a\nb\x00c"}, "control characters"),
    ],
)
async def test_bad_options_name_the_problem(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        AsyncStreamstraight(**options)
    key = options.get("api_key", "")
    if len(key) > 3:
        assert key.strip() not in str(caught.value)  # a bad key is described, never shown


async def test_official_option_dicts_are_accepted(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(
        {"api_key": server.api_key, "base_url": server.base_url, "num_connect_retries": 0},
        {"stream_id": "dicts", "keep_open": False},
    )
    assert client.options.num_connect_retries == 0
    await client.stream([1])
    assert snapshot(server, "dicts").data == ["1"]


async def test_rejected_key_fails_at_once_without_retries(server: ThreadedDevServer) -> None:
    client = AsyncStreamstraight(
        api_key="sk-wrong-key",
        base_url=server.base_url,
        stream_id="denied",
        num_connect_retries=5,
        connect_retry_delay_ms=1000,
    )
    started = monotonic()
    with pytest.raises(AuthenticationError, match="rejected the API key") as caught:
        await client.connect()
    assert monotonic() - started < 1.0
    assert "sk-wrong-key" not in str(caught.value)
    assert server.snapshot("denied") is None


async def test_transient_refusals_are_retried(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.refuse_connections = 2
    client = AsyncStreamstraight(**options, stream_id="flaky", num_connect_retries=2)
    await client.stream(["made it"])
    snap = snapshot(server, "flaky")
    assert snap.data == ['"made it"'] and snap.producer_connections == 1


async def test_gives_up_after_the_configured_retries(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.refuse_connections = 10
    client = AsyncStreamstraight(**options, stream_id="down", num_connect_retries=2)
    with pytest.raises(ConnectError, match="after 3 attempts") as caught:
        await client.connect()
    assert caught.value.attempts == 3
    assert server.faults.refuse_connections == 7


async def test_unreachable_server_is_a_connect_error() -> None:
    client = AsyncStreamstraight(
        api_key="k",
        base_url=f"http://127.0.0.1:{closed_port()}",
        stream_id="nowhere",
        num_connect_retries=1,
        connect_retry_delay_ms=10,
        connect_timeout=2.0,
    )
    with pytest.raises(ConnectError, match="could not connect"):
        await client.connect()
    assert not client.connected


async def test_second_live_producer_is_refused(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    first = AsyncStreamstraight(**options, stream_id="busy")
    await first.connect()
    try:
        refused = "already has a connected producer"
        with pytest.raises(HandshakeRejectedError, match=refused) as caught:
            await AsyncStreamstraight(**options, stream_id="busy").connect()
        assert caught.value.code == "stream-busy"
    finally:
        await first.disconnect()


async def test_ended_stream_is_refused_without_overwrite(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    await AsyncStreamstraight(**options, stream_id="done").stream(["a"])
    with pytest.raises(HandshakeRejectedError, match="overwrite_existing_stream=True") as caught:
        await AsyncStreamstraight(**options, stream_id="done").stream(["b"])
    assert caught.value.code == "stream-ended"
    assert snapshot(server, "done").data == ['"a"']


async def test_connect_to_another_stream_while_writing_is_refused(
    options: dict[str, Any],
) -> None:
    client = AsyncStreamstraight(**options, stream_id="one")
    await client.connect()
    try:
        with pytest.raises(ConfigurationError, match="already writing stream 'one'"):
            await client.connect(stream_id="two")
        await client.connect(stream_id="one")  # same stream: nothing to do
        assert client.connected
    finally:
        await client.disconnect()


async def test_secrets_stay_out_of_reprs_errors_and_logs(
    server: ThreadedDevServer, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = AsyncStreamstraight(**options, stream_id="secret")
    async with client.stream_writer() as writer:
        await writer.send("x")
        assert server.api_key not in repr(writer)
    token = await client.fetch_client_token()
    bad = AsyncStreamstraight(api_key="sk-live-abcdef", base_url=server.base_url, stream_id="s")
    with pytest.raises(StreamstraightServerError) as caught:
        await bad.connect()
    for text in (repr(client), repr(client.options), str(caught.value), caplog.text):
        assert server.api_key not in text
        assert "sk-live-abcdef" not in text
        assert token not in text


async def test_nothing_is_printed_even_when_things_fail(
    server: ThreadedDevServer, options: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(AuthenticationError):
        await AsyncStreamstraight(
            api_key="sk-wrong", base_url=server.base_url, stream_id="quiet"
        ).connect()
    server.faults.drop_after_chunks = 2
    server.faults.error_after_chunks = 6
    with pytest.raises(StreamError):
        await AsyncStreamstraight(**options, stream_id="quiet").stream(range(20))
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
