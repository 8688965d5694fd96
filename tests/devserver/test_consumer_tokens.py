from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import jwt
import pytest

from streamstraight_server.devserver import DevServer
from streamstraight_server.devserver.consumer import ConsumerRefusedError, read_stream
from streamstraight_server.devserver.server import CONSUMER_BACKLOG
from tests.support.devserver import FAST, RawProducer

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


async def test_consumer_not_found_after_wait() -> None:
    async with DevServer(**dict(FAST, consumer_wait=0.3)) as server:
        started = time.monotonic()
        consumed = await read_stream(server.base_url, server.mint_token(), "nobody")
        assert consumed.chunks == [] and consumed.end_reason == "not-found"
        assert time.monotonic() - started >= 0.25


async def test_consumer_held_then_served() -> None:
    async with DevServer(**dict(FAST, consumer_wait=5.0)) as server:
        reader = asyncio.create_task(read_stream(server.base_url, server.mint_token(), "later"))
        await asyncio.sleep(0.3)
        producer = await RawProducer(server.base_url, server.api_key, "later").connect()
        await producer.send("a", "b")
        assert (await producer.end(1))["success"]
        consumed = await reader
        assert consumed.chunks == [(0, "a"), (1, "b")] and consumed.end_reason == "completed"
        await producer.close()


async def test_token_claims() -> None:
    async with DevServer(jwt_secret=SECRET, api_key="sk_test_key", token_ttl=120) as server:
        token = server.mint_token()
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        assert header["alg"] == "HS256" and header["kid"] == claims["kid"]
        assert claims["iss"] == "streamstraight-local"
        assert claims["scope"] == "stream:read"
        assert claims["exp"] - claims["iat"] == 120
        assert (
            isinstance(claims["jti"], str)
            and claims["jti"]
            != jwt.decode(server.mint_token(), SECRET, algorithms=["HS256"])["jti"]
        )
        assert "sk_test_key" not in token and "sk_test_key" not in str(claims)


@pytest.mark.parametrize("kind", ["expired", "forged", "garbage"])
async def test_bad_consumer_token_refused(kind: str, server: DevServer) -> None:
    if kind == "expired":
        token = server.mint_token(ttl=-5)
    elif kind == "forged":
        token = jwt.encode(
            {"iss": "streamstraight-local", "iat": 0, "exp": 2**40, "scope": "stream:read"},
            "other-" + SECRET,
            algorithm="HS256",
        )
    else:
        token = "not-a-jwt"
    with pytest.raises(ConsumerRefusedError) as info:
        await read_stream(server.base_url, token, "s", timeout=5)
    assert info.value.code == "unauthorized"


async def test_retention_sweep_drops_ended_streams() -> None:
    async with DevServer(**dict(FAST, retention=0.3)) as server:
        producer = await RawProducer(server.base_url, server.api_key, "old").connect()
        await producer.send("a")
        assert (await producer.end(0))["success"]
        await producer.close()
        assert server.snapshot("old") is not None
        await asyncio.sleep(0.7)
        assert server.snapshot("old") is None
        assert "old" not in server.stream_ids()
        again = await RawProducer(server.base_url, server.api_key, "old").connect()
        assert again.infos[0]["lastSeq"] is None
        await again.close()


async def recv(ws: aiohttp.ClientWebSocketResponse[bool]) -> str:
    message = await ws.receive()
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return str(message.data)


async def test_slow_consumer_does_not_slow_the_producer(server: DevServer) -> None:
    """A consumer that stops reading its socket must not hold up the producer nor grow memory."""
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(
            server.base_url + "/socket.io/?EIO=4&transport=websocket",
            max_msg_size=0,
        )
        assert (await recv(ws)).startswith("0")
        auth = {
            "role": "consumer",
            "streamId": "fast",
            "version": "stream-v1",
            "token": server.mint_token(),
        }
        await ws.send_str("40" + json.dumps(auth))
        assert (await recv(ws)).startswith("40")
        await ws.send_str('42["consumer:ready",{}]')
        # from here on the consumer reads nothing until the producer is done

        producer = await RawProducer(server.base_url, server.api_key, "fast").connect()
        run = server._run
        assert run is not None
        backlog = 0

        def sample() -> None:
            nonlocal backlog
            for sock in run.sio.eio.sockets.values():
                backlog = max(backlog, sock.queue.qsize())

        started = time.monotonic()
        payload = "x" * 100_000
        for seq in range(200):
            await producer.chunk(seq, payload)
            sample()
        await producer.wait_acks(200, timeout=10)
        assert (await producer.end(199))["success"]
        assert time.monotonic() - started < 5.0
        sample()
        assert backlog <= CONSUMER_BACKLOG + 8

        seqs: list[int] = []
        while True:
            message = await asyncio.wait_for(recv(ws), 10)
            if message == "2":
                await ws.send_str("3")
                continue
            event, data = json.loads(message[2:])
            if event == "stream:end":
                assert data == {"reason": "completed", "lastSeq": 199}
                break
            assert event == "stream:chunk" and data["data"] == payload
            seqs.append(data["seq"])
        assert seqs == list(range(200))
        await ws.close()
        await producer.close()
