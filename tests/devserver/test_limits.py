"""Chunk sizes around Engine.IO's buffer and the stream-id alphabet of the local server."""

from __future__ import annotations

import pytest

from streamstraight_server.devserver import DevServer
from streamstraight_server.devserver.consumer import ConsumerRefusedError, read_stream
from tests.support.devserver import FAST, RawProducer, eventually

MIB = 1_048_576


@pytest.mark.parametrize(
    "data",
    [
        "x" * 1_000_001,  # above Engine.IO's default buffer, below the chunk limit
        "x" * MIB,  # exactly the limit
        "\x00" * (MIB // 2),  # six bytes each on the wire once JSON-escaped
        "é" * (MIB // 2),  # two bytes each in UTF-8, six escaped
    ],
    ids=["1000001-ascii", "limit-ascii", "escaped-controls", "two-byte-utf8"],
)
async def test_chunks_up_to_the_limit_are_stored(data: str, server: DevServer) -> None:
    producer = await RawProducer(server.base_url, server.api_key, "fits").connect()
    await producer.chunk(0, data)
    await producer.wait_acks(1, timeout=20)
    assert producer.errors == [] and not producer.disconnected.is_set()
    snap = server.snapshot("fits")
    assert snap is not None and snap.data == [data]
    await producer.close()


@pytest.mark.parametrize(
    "data",
    ["x" * (MIB + 1), "x" * 3_000_000, "\x01" * (MIB + 1), "é" * (MIB // 2 + 1)],
    ids=["limit+1", "3MB", "escaped-controls+1", "two-byte-utf8+1"],
)
async def test_oversized_chunk_is_refused_and_the_connection_stays(
    data: str, server: DevServer
) -> None:
    producer = await RawProducer(server.base_url, server.api_key, "big").connect()
    await producer.chunk(0, data)
    await eventually(lambda: bool(producer.errors), timeout=20)
    [error] = producer.errors
    assert error["code"] == "chunk-too-large"
    assert str(MIB) in error["message"]
    await producer.chunk(0, "small")
    await producer.wait_acks(1)
    assert not producer.disconnected.is_set()
    snap = server.snapshot("big")
    assert snap is not None and snap.data == ["small"] and snap.producer_connections == 1
    await producer.close()


async def test_max_chunk_bytes_setting_moves_the_limit() -> None:
    async with DevServer(**dict(FAST, max_chunk_bytes=4 * MIB)) as server:
        producer = await RawProducer(server.base_url, server.api_key, "raised").connect()
        await producer.chunk(0, "x" * 3_000_000)
        await producer.chunk(1, "x" * (4 * MIB + 1))
        await producer.wait_acks(1, timeout=20)
        await eventually(lambda: bool(producer.errors), timeout=20)
        assert producer.errors[0]["code"] == "chunk-too-large"
        assert not producer.disconnected.is_set()
        await producer.close()


BAD_IDS = [
    "a\nb\x00c",
    "tab\there",
    "nul\x00",
    "del\x7f",
    "c1\x85",
    "zero\u200bwidth",
    "bidi\u202eflip",
    "line\u2028sep",
    " leading",
    "trailing ",
    "",
    "x" * 513,
]


@pytest.mark.parametrize("stream_id", BAD_IDS, ids=repr)
async def test_producer_with_a_bad_stream_id_is_refused(stream_id: str, server: DevServer) -> None:
    refusal = await RawProducer(server.base_url, server.api_key, stream_id).refused()
    assert refusal["code"] == "bad-request"
    assert "streamId" in refusal["message"]
    assert server.stream_ids() == []


@pytest.mark.parametrize("stream_id", ["a\nb\x00c", "zero\u200bwidth", " leading"], ids=repr)
async def test_consumer_with_a_bad_stream_id_is_refused(stream_id: str, server: DevServer) -> None:
    with pytest.raises(ConsumerRefusedError) as caught:
        await read_stream(server.base_url, server.mint_token(), stream_id, timeout=5)
    assert caught.value.code == "bad-request"


@pytest.mark.parametrize(
    "stream_id", ["chat/42:answer", "Ünïcødé-日本語", "emoji-🚀", "with inner space", "x" * 512]
)
async def test_printable_stream_ids_are_accepted(stream_id: str, server: DevServer) -> None:
    producer = await RawProducer(server.base_url, server.api_key, stream_id).connect()
    await producer.send("a")
    await producer.wait_acks(1)
    assert server.stream_ids() == [stream_id]
    await producer.close()
