from __future__ import annotations

import asyncio
import threading
import time

from streamstraight_server.devserver import DevServer, Faults, ThreadedDevServer
from streamstraight_server.devserver.consumer import read_stream
from tests.support.devserver import FAST, RawProducer, eventually, producer_gone


async def test_refuse_connections() -> None:
    async with DevServer(faults=Faults(refuse_connections=2), **FAST) as server:
        for left in (1, 0):
            refusal = await RawProducer(server.base_url, server.api_key, "f").refused()
            assert refusal["code"] == "internal" and "injected" in refusal["message"]
            assert refusal["retryInMs"] > 0
            assert server.faults.refuse_connections == left
        producer = await RawProducer(server.base_url, server.api_key, "f").connect()
        await producer.close()


async def test_drop_after_chunks_stores_but_does_not_ack_then_resume(server: DevServer) -> None:
    server.faults.drop_after_chunks = 3
    producer = await RawProducer(server.base_url, server.api_key, "d").connect()
    await producer.send("a", "b", "c", "d")
    await asyncio.wait_for(producer.disconnected.wait(), 5)
    assert [a["seq"] for a in producer.acks] == [0, 1]
    snap = server.snapshot("d")
    assert snap is not None and snap.data == ["a", "b", "c"] and not snap.ended
    assert server.faults.drop_after_chunks is None
    await producer.close()
    await eventually(lambda: producer_gone(server, "d"))
    again = await RawProducer(server.base_url, server.api_key, "d").connect()
    assert again.infos[0]["lastSeq"] == 2
    await again.send("c", "d", start=2)
    assert (await again.end(3))["success"]
    await again.close()


async def test_ack_delay_keeps_order() -> None:
    async with DevServer(faults=Faults(ack_delay=0.3), **FAST) as server:
        producer = await RawProducer(server.base_url, server.api_key, "ad").connect()
        started = time.monotonic()
        await producer.send("a", "b", "c")
        await asyncio.sleep(0.15)
        assert producer.acks == []
        await producer.wait_acks(3)
        assert time.monotonic() - started >= 0.3
        assert [a["seq"] for a in producer.acks] == [0, 1, 2]
        await producer.close()


async def test_withhold_acks_still_answers_end() -> None:
    async with DevServer(faults=Faults(withhold_acks=True), **FAST) as server:
        producer = await RawProducer(server.base_url, server.api_key, "wa").connect()
        await producer.send("a", "b")
        reply = await producer.end(1)
        assert reply["success"] is True
        await asyncio.sleep(0.1)
        assert [a["seq"] for a in producer.acks] == [2]
        await producer.close()


async def test_withhold_end_ack() -> None:
    async with DevServer(faults=Faults(withhold_end_ack=True), **FAST) as server:
        producer = await RawProducer(server.base_url, server.api_key, "we").connect()
        await producer.send("a")
        try:
            await producer.end(0, timeout=0.5)
        except Exception as exc:
            assert type(exc).__name__ == "TimeoutError"
        else:
            raise AssertionError("END was answered")
        snap = server.snapshot("we")
        assert snap is not None and snap.ended and snap.end_reason == "completed"
        await producer.close()


async def test_error_after_chunks() -> None:
    async with DevServer(
        faults=Faults(error_after_chunks=2, error_code="seq-gap"), **FAST
    ) as server:
        producer = await RawProducer(server.base_url, server.api_key, "ea").connect()
        await producer.send("a", "b", "c")
        await asyncio.wait_for(producer.disconnected.wait(), 5)
        assert producer.errors[0]["code"] == "seq-gap"
        assert [a["seq"] for a in producer.acks] == [0, 1]
        snap = await server.wait_for_end("ea", 2)
        assert snap.end_reason == "producer-error" and snap.data == ["a", "b"]
        assert server.faults.error_after_chunks is None
        await producer.close()


async def test_restart_keeps_stored_streams_and_allows_resume(server: DevServer) -> None:
    port = server.port
    producer = await RawProducer(server.base_url, server.api_key, "rs").connect()
    await producer.send("a", "b")
    await producer.wait_acks(2)
    await server.restart(down_for=0.2)
    assert server.port == port
    await asyncio.wait_for(producer.disconnected.wait(), 5)
    await producer.close()
    snap = server.snapshot("rs")
    assert snap is not None and snap.data == ["a", "b"] and not snap.producer_connected
    again = await RawProducer(server.base_url, server.api_key, "rs").connect()
    assert again.infos[0]["lastSeq"] == 1
    await again.send("c", start=2)
    assert (await again.end(2))["success"]
    consumed = await read_stream(server.base_url, server.mint_token(), "rs")
    assert consumed.data == ["a", "b", "c"]
    assert server.snapshot("rs").producer_connections == 2  # type: ignore[union-attr]
    await again.close()


def test_threaded_dev_server() -> None:
    before = threading.active_count()
    with ThreadedDevServer(**FAST) as server:
        assert server.base_url.startswith("http://127.0.0.1:")

        async def produce() -> None:
            producer = await RawProducer(server.base_url, server.api_key, "t").connect()
            await producer.send("a", "b")
            assert (await producer.end(1))["success"]
            await producer.close()

        asyncio.run(produce())
        snap = server.wait_for_end("t", 5)
        assert snap.data == ["a", "b"] and snap.end_reason == "completed"
        assert server.snapshot("t") is not None
        server.restart()
        after = server.snapshot("t")
        assert after is not None and after.chunks == snap.chunks
        assert after.end_redis_id == snap.end_redis_id
        token = server.mint_token()
        consumed = asyncio.run(read_stream(server.base_url, token, "t"))
        assert consumed.data == ["a", "b"]
        server.faults.refuse_connections = 1
        assert server.faults.refuse_connections == 1
    assert threading.active_count() == before
