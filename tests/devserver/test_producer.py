from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streamstraight_server._core.protocol import EV_CHUNK, EV_END, PROTOCOL_VERSION
from streamstraight_server.devserver import DevServer
from streamstraight_server.devserver.consumer import read_stream
from tests.support.devserver import FAST, RawProducer, eventually, producer_gone


async def test_bad_api_key_is_unauthorized(server: DevServer) -> None:
    refusal = await RawProducer(server.base_url, "wrong", "s").refused()
    assert refusal == {
        "message": "invalid or missing API key (this server makes a new API key each time "
        "it starts)",
        "code": "unauthorized",
    }
    refusal = await RawProducer(server.base_url, None, "s").refused()
    assert refusal["code"] == "unauthorized"
    assert server.snapshot("s") is None


async def test_a_key_given_to_the_server_is_refused_without_the_new_key_remark() -> None:
    async with DevServer(**FAST, api_key="sk_given") as server:
        refusal = await RawProducer(server.base_url, "wrong", "s").refused()
        assert refusal == {"message": "invalid or missing API key", "code": "unauthorized"}


@pytest.mark.parametrize(
    "auth",
    [
        None,
        {"role": "producer", "version": PROTOCOL_VERSION, "sdkVersion": "t"},
        {"role": "producer", "streamId": 5, "version": PROTOCOL_VERSION},
        {"role": "producer", "streamId": "s", "version": "stream-v0"},
        {"role": "admin", "streamId": "s", "version": PROTOCOL_VERSION},
        {"streamId": "s", "version": PROTOCOL_VERSION},
        {
            "role": "producer",
            "streamId": "s",
            "version": PROTOCOL_VERSION,
            "overwriteExistingStream": "yes",
        },
    ],
)
async def test_bad_handshake_is_bad_request(auth: Any, server: DevServer) -> None:
    producer = RawProducer(server.base_url, server.api_key, "s", auth=auth)
    if auth is None:
        producer.auth = None
    refusal = await producer.refused()
    assert refusal["code"] == "bad-request"
    assert isinstance(refusal["message"], str) and refusal["message"]


async def test_second_producer_is_stream_busy(server: DevServer) -> None:
    first = await RawProducer(server.base_url, server.api_key, "busy").connect()
    refusal = await RawProducer(server.base_url, server.api_key, "busy").refused()
    assert refusal["code"] == "stream-busy"
    await first.close()


async def test_ended_stream_refused_unless_overwrite(server: DevServer) -> None:
    first = await RawProducer(server.base_url, server.api_key, "done").connect()
    await first.send("old0", "old1")
    assert (await first.end(1))["success"]
    await first.close()
    refusal = await RawProducer(server.base_url, server.api_key, "done").refused()
    assert refusal["code"] == "stream-ended"

    second = RawProducer(server.base_url, server.api_key, "done", overwrite=True)
    await second.connect()
    assert second.infos[0]["lastSeq"] is None
    await second.send("new0")
    assert (await second.end(0))["success"]
    await second.close()
    snap = server.snapshot("done")
    assert snap is not None and snap.data == ["new0"] and snap.producer_connections == 1


async def test_overwrite_kicks_live_producer_and_ends_its_consumers(server: DevServer) -> None:
    first = await RawProducer(server.base_url, server.api_key, "ow").connect()
    await first.send("a")
    await first.wait_acks(1)
    reader = asyncio.create_task(read_stream(server.base_url, server.mint_token(), "ow"))
    await asyncio.sleep(0.2)
    second = await RawProducer(server.base_url, server.api_key, "ow", overwrite=True).connect()
    await asyncio.wait_for(first.disconnected.wait(), 5)
    old = await reader
    assert old.chunks == [(0, "a")] and old.end_reason == "producer-disconnected"
    await second.send("b")
    assert (await second.end(0))["success"]
    snap = server.snapshot("ow")
    assert snap is not None and snap.data == ["b"]
    await first.close()
    await second.close()


async def test_duplicate_seq_is_acked_again_and_stored_once(server: DevServer) -> None:
    producer = await RawProducer(server.base_url, server.api_key, "dup").connect()
    await producer.send("a", "b")
    await producer.chunk(1, "b")
    await producer.wait_acks(3)
    assert producer.acks[2] == producer.acks[1]
    snap = server.snapshot("dup")
    assert snap is not None and snap.data == ["a", "b"]
    assert producer.errors == []
    await producer.close()


async def test_seq_gap_is_refused_and_not_stored(server: DevServer) -> None:
    producer = await RawProducer(server.base_url, server.api_key, "gap").connect()
    await producer.chunk(0, "a")
    await producer.chunk(2, "c")
    await eventually(lambda: bool(producer.errors))
    assert producer.errors[0]["code"] == "seq-gap"
    assert "expected seq 1" in producer.errors[0]["message"]
    assert "got 2" in producer.errors[0]["message"]
    snap = server.snapshot("gap")
    assert snap is not None and snap.data == ["a"]
    await producer.close()


async def test_chunk_too_large() -> None:
    async with DevServer(max_chunk_bytes=10, **FAST) as server:
        producer = await RawProducer(server.base_url, server.api_key, "big").connect()
        await producer.chunk(0, "x" * 11)
        await eventually(lambda: bool(producer.errors))
        assert producer.errors[0]["code"] == "chunk-too-large"
        await producer.chunk(0, "x" * 10)
        await producer.wait_acks(1)
        snap = server.snapshot("big")
        assert snap is not None and snap.data == ["x" * 10]
        await producer.close()


async def test_malformed_payloads_do_not_hurt_other_streams(server: DevServer) -> None:
    bad = await RawProducer(server.base_url, server.api_key, "bad").connect()
    good = await RawProducer(server.base_url, server.api_key, "good").connect()
    payloads = [None, "x", {"seq": "0", "data": "a"}, {"seq": 0}, {"seq": True, "data": ""}]
    for payload in payloads:
        await bad.client.emit(EV_CHUNK, payload)
    await bad.client.emit(EV_CHUNK)
    await eventually(lambda: len(bad.errors) == 6)
    assert {e["code"] for e in bad.errors} == {"bad-request"}
    reply = await bad.client.call(EV_END, {"reason": "nope", "lastSeq": 0}, timeout=5)
    assert reply["success"] is False
    await good.send("a", "b")
    assert (await good.end(1))["success"]
    await bad.send("ok")
    await bad.wait_acks(1)
    await bad.close()
    await good.close()


async def test_end_failure_on_last_seq_mismatch_then_success(server: DevServer) -> None:
    producer = await RawProducer(server.base_url, server.api_key, "e").connect()
    await producer.send("a", "b", "c")
    reply = await producer.end(5)
    assert reply["success"] is False and "lastSeq 5" in reply["error"]
    snap = server.snapshot("e")
    assert snap is not None and not snap.ended
    reply = await producer.end(2)
    assert reply["success"] is True
    again = await producer.end(2)
    assert again == reply
    await producer.close()


@pytest.mark.parametrize("chunks", [0, 1])
async def test_end_last_seq_zero_for_empty_and_single(chunks: int, server: DevServer) -> None:
    producer = await RawProducer(server.base_url, server.api_key, "z").connect()
    await producer.send(*["only"] * chunks)
    reply = await producer.end(0)
    assert reply["success"] is True
    await producer.wait_acks(chunks + 1)
    assert producer.acks[-1] == {"seq": 1, "redisId": reply["endRedisId"]}
    consumed = await read_stream(server.base_url, server.mint_token(), "z")
    assert len(consumed.chunks) == chunks and consumed.last_seq == 0
    await producer.close()


async def test_heartbeat_keeps_alive_then_inactivity_timeout() -> None:
    config = dict(FAST, inactivity_timeout=0.4)
    async with DevServer(**config) as server:
        producer = await RawProducer(server.base_url, server.api_key, "hb").connect()
        for _ in range(8):
            await producer.heartbeat()
            await asyncio.sleep(0.1)
        snap = server.snapshot("hb")
        assert snap is not None and not snap.ended and snap.heartbeats == 8
        reader = asyncio.create_task(read_stream(server.base_url, server.mint_token(), "hb"))
        snap = await server.wait_for_end("hb", 3)
        assert snap.end_reason == "inactivity-timeout"
        await asyncio.wait_for(producer.disconnected.wait(), 3)
        assert producer.errors and producer.errors[0]["code"] is None
        assert (await reader).end_reason == "inactivity-timeout"
        await producer.close()


async def test_resume_within_grace() -> None:
    async with DevServer(**dict(FAST, producer_grace=5.0)) as server:
        first = await RawProducer(server.base_url, server.api_key, "r").connect()
        await first.send("a", "b")
        await first.wait_acks(2)
        await first.close()
        await eventually(lambda: producer_gone(server, "r"))
        second = await RawProducer(server.base_url, server.api_key, "r").connect()
        assert second.infos[0]["lastSeq"] == 1 and second.infos[0]["ended"] is False
        await second.send("b", "c", start=1)
        await second.wait_acks(2)
        assert (await second.end(2))["success"]
        snap = server.snapshot("r")
        assert snap is not None
        assert snap.data == ["a", "b", "c"] and snap.producer_connections == 2
        await second.close()


async def test_producer_disconnected_after_grace() -> None:
    async with DevServer(**dict(FAST, producer_grace=0.3)) as server:
        producer = await RawProducer(server.base_url, server.api_key, "g").connect()
        await producer.send("a")
        await producer.wait_acks(1)
        reader = asyncio.create_task(read_stream(server.base_url, server.mint_token(), "g"))
        await producer.close()
        snap = await server.wait_for_end("g", 3)
        assert snap.end_reason == "producer-disconnected" and snap.data == ["a"]
        consumed = await reader
        assert consumed.chunks == [(0, "a")] and consumed.end_reason == "producer-disconnected"
        refusal = await RawProducer(server.base_url, server.api_key, "g").refused()
        assert refusal["code"] == "stream-ended"
