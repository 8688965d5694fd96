from __future__ import annotations

import asyncio

import aiohttp
import pytest

from streamstraight_server.devserver import DevServer
from streamstraight_server.devserver.consumer import iter_stream, read_stream
from tests.support.devserver import RawProducer, eventually


async def test_happy_path_replay_and_end(server: DevServer) -> None:
    producer = await RawProducer(server.base_url, server.api_key, "s1").connect()
    assert producer.infos[0] == {
        "streamId": "s1",
        "deploymentId": "local",
        "lastSeq": None,
        "ended": False,
    }
    await producer.send('"a"', '"b"', '"c"')
    await producer.wait_acks(3)
    assert [a["seq"] for a in producer.acks] == [0, 1, 2]
    result = await producer.end(2)
    assert result["success"] is True
    assert isinstance(result["endRedisId"], str)
    await producer.wait_acks(4)
    assert producer.acks[3] == {"seq": 3, "redisId": result["endRedisId"]}
    await producer.close()

    snap = server.snapshot("s1")
    assert snap is not None
    assert snap.data == ['"a"', '"b"', '"c"']
    assert snap.ended and snap.end_reason == "completed"
    assert snap.end_redis_id == result["endRedisId"]
    ids = [c.redis_id for c in snap.chunks]
    assert all("-" in i for i in ids) and len(set(ids)) == 3
    assert [a["redisId"] for a in producer.acks[:3]] == ids

    consumed = await read_stream(server.base_url, server.mint_token(), "s1", timeout=5)
    assert consumed.chunks == [(0, '"a"'), (1, '"b"'), (2, '"c"')]
    assert consumed.end_reason == "completed" and consumed.last_seq == 2

    tail = await read_stream(server.base_url, server.mint_token(), "s1", from_seq=2)
    assert tail.chunks == [(2, '"c"')]


async def test_live_tail_and_many_consumers_exactly_once_in_order(server: DevServer) -> None:
    producer = await RawProducer(server.base_url, server.api_key, "live").connect()
    await producer.send("0", "1")
    await producer.wait_acks(2)
    token = server.mint_token()
    readers = [
        asyncio.create_task(read_stream(server.base_url, token, "live", timeout=5))
        for _ in range(5)
    ]
    late = asyncio.create_task(read_stream(server.base_url, token, "live", from_seq=1))
    await asyncio.sleep(0.2)
    for seq in range(2, 50):
        await producer.chunk(seq, str(seq))
    await producer.wait_acks(50)
    assert (await producer.end(49))["success"]
    expected = [(i, str(i)) for i in range(50)]
    for consumed in await asyncio.gather(*readers):
        assert consumed.chunks == expected
        assert consumed.end_reason == "completed"
    assert (await late).chunks == expected[1:]
    await producer.close()


async def test_iter_stream_yields_live_chunks(server: DevServer) -> None:
    producer = await RawProducer(server.base_url, server.api_key, "it").connect()
    seen: list[tuple[int, str]] = []
    ends: list[tuple[str, int]] = []

    async def consume() -> None:
        async for chunk in iter_stream(
            server.base_url,
            server.mint_token(),
            "it",
            timeout=5,
            on_end=lambda r, s: ends.append((r, s)),
        ):
            seen.append(chunk)

    task = asyncio.create_task(consume())
    await producer.chunk(0, "x")
    await eventually(lambda: seen == [(0, "x")])
    await producer.chunk(1, "y")
    await eventually(lambda: len(seen) == 2)
    await producer.end(1, reason="producer-error")
    await task
    assert ends == [("producer-error", 1)]
    await producer.close()


async def test_healthz_and_token_endpoint(server: DevServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.base_url + "/healthz") as resp:
            assert resp.status == 200
            assert await resp.json() == {"ok": True}
        async with http.post(
            server.base_url + "/v1/token", headers={"Authorization": "Bearer nope"}
        ) as resp:
            assert resp.status == 401
            assert "error" in await resp.json()
        async with http.post(server.base_url + "/v1/token") as resp:
            assert resp.status == 401
        async with http.post(
            server.base_url + "/v1/token", headers={"Authorization": f"Bearer {server.api_key}"}
        ) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert isinstance(body["token"], str)


@pytest.mark.parametrize("port", [0])
async def test_dev_server_attributes(port: int) -> None:
    server = DevServer(port=port, api_key="sk_fixed")
    await server.start()
    try:
        assert server.api_key == "sk_fixed"
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.port > 0
        assert server.snapshot("missing") is None
    finally:
        await server.stop()
