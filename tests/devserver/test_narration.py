"""The dev server's narration: a line per connection, refusal, end, consumer and fault, and
never a credential, even from a server that echoes them."""

from __future__ import annotations

import re

import aiohttp

from streamstraight_server.devserver import DevServer
from streamstraight_server.devserver.consumer import ConsumerRefusedError, read_stream
from streamstraight_server.devserver.narration import Narrator
from tests.support.devserver import FAST, RawProducer, eventually

ADVICE = "<what to do about the key>"


def narrated(server: DevServer) -> list[str]:
    """Start collecting the server's narration; returns the list it fills (clock removed)."""
    lines: list[str] = []
    narrator = Narrator(lambda line: lines.append(line[10:]), key_advice=ADVICE)
    server.add_listener(narrator)
    return lines


async def test_consumers_faults_and_abnormal_ends_are_narrated() -> None:
    async with DevServer(**{**FAST, "consumer_wait": 0.3}) as server:
        lines = narrated(server)
        server.faults.error_after_chunks = 2
        server.faults.error_code = "quota"
        producer = await RawProducer(server.base_url, server.api_key, "faulty").connect()
        await producer.send("a", "b")
        await eventually(lambda: any("ended" in line for line in lines))
        await producer.close()
        consumed = await read_stream(server.base_url, server.mint_token(), "faulty", timeout=5)
        assert consumed.end_reason == "producer-error"
        missing = await read_stream(server.base_url, server.mint_token(), "nobody", timeout=5)
        assert missing.end_reason == "not-found"
        await eventually(lambda: any("not-found" in line for line in lines))
    assert lines[0] == "faulty  producer connected"
    assert lines[1] == (
        "faulty  injected fault --error-after-chunks: sent stream:error [quota] after 2 chunks; "
        "the stream ends producer-error"
    )
    assert re.fullmatch(
        r"faulty  ended producer-error: 2 chunks, 2 B in \d+ ms  <-- not completed", lines[2]
    )
    assert "faulty  consumer connected, reading from seq 0" in lines
    assert (
        "nobody  consumer connected, waiting for the stream to start (up to 0.3s, then "
        "not-found)" in lines
    )
    assert lines[-1] == (
        "nobody  consumer given not-found: no producer started the stream within 0.3s "
        "(check the stream id)"
    )


async def test_refusals_say_why_and_never_quote_credentials() -> None:
    async with DevServer(**FAST) as server:
        server.faults.echo_credentials = True
        lines = narrated(server)
        secret = "sk_live_" + "Q" * 24
        assert (await RawProducer(server.base_url, secret, "s").refused())["code"] == (
            "unauthorized"
        )
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {secret}"}
            async with http.post(server.base_url + "/v1/token", headers=headers) as answer:
                assert answer.status == 401
        try:
            await read_stream(server.base_url, "not.a.token", "s", timeout=5)
        except ConsumerRefusedError:
            pass
        else:
            raise AssertionError("the consumer was accepted")
        server.faults.refuse_connections = 1
        assert (await RawProducer(server.base_url, server.api_key, "s").refused())["code"] == (
            "internal"
        )
        await eventually(lambda: len(lines) >= 4)
    assert lines == [
        f"s  refused a producer: wrong API key. {ADVICE}",
        f"-  refused a token request: wrong API key. {ADVICE}",
        "s  refused a consumer: consumer token rejected: invalid token (DecodeError); its "
        "backend must fetch a fresh client token",
        "s  refused a producer: injected fault (--refuse-connections, 0 left)",
    ]
    assert not [line for line in lines if secret in line or "not.a.token" in line]


async def test_a_busy_stream_and_an_overwrite_are_narrated() -> None:
    async with DevServer(**FAST) as server:
        lines = narrated(server)
        first = await RawProducer(server.base_url, server.api_key, "busy").connect()
        assert (await RawProducer(server.base_url, server.api_key, "busy").refused())["code"] == (
            "stream-busy"
        )
        replacing = RawProducer(server.base_url, server.api_key, "busy", overwrite=True)
        await replacing.connect()
        await eventually(lambda: len(lines) >= 4)
        await first.close()
        await replacing.close()
    assert lines[:4] == [
        "busy  producer connected",
        "busy  refused a producer: another producer is connected to this stream",
        "busy  ended producer-disconnected: 0 chunks, 0 B in " + lines[2].split(" in ")[1],
        "busy  producer connected, replacing the earlier stream (overwrite)",
    ]
