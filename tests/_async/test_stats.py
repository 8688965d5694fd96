"""writer.stats and client.stats(): what a stream and a client did, drops and failures included."""

from __future__ import annotations

from typing import Any

import pytest

from streamstraight_server import AsyncStreamstraight, ConnectError
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import closed_port


async def test_writer_stats_of_a_stream_that_dropped_and_resumed(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.drop_after_chunks = 40
    client = AsyncStreamstraight(**options)
    assert client.stream_writer(stream_id="figures").stats.state == "not started"
    async with client.stream_writer(stream_id="figures") as writer:
        for i in range(100):
            await writer.send(f"chunk {i:03d}")  # 11 bytes once encoded
        await writer.flush()
        live = writer.stats
        assert live.state == "open" and live.outcome is None
        assert live.chunks_sent == 100 and live.chunks_confirmed == 100
    stats = writer.stats
    assert stats.stream_id == "figures" and stats.outcome == "delivered"
    assert stats.state == "ended"
    assert stats.chunks_sent == stats.chunks_confirmed == 100
    assert stats.bytes_sent == stats.bytes_confirmed == 100 * 11
    assert stats.drops == 1 and stats.reconnects == 1
    assert stats.chunks_resent >= 1 and stats.bytes_resent == 11 * stats.chunks_resent
    assert stats.time_to_first_confirm is not None and 0 < stats.time_to_first_confirm < 5
    assert stats.ack_latency_p50 is not None and stats.ack_latency_p99 is not None
    assert 0 < stats.ack_latency_p50 <= stats.ack_latency_p99 < 10
    assert stats.duration >= stats.time_to_first_confirm


async def test_client_stats_count_live_writers_outcomes_and_failures(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    assert client.stats().streams == 0 and client.stats().live_writers == 0
    async with client.stream_writer(stream_id="one") as writer:
        await writer.send("a")
        await writer.flush()
        live = client.stats()
        assert live.live_writers == 1 and live.chunks_sent == 1 and live.streams == 1
    await client.stream(["b", "c"], stream_id="two")
    async with client.stream_writer(stream_id="three") as writer:
        await writer.send("d")
        assert await client.cancel("three")
    with pytest.raises(RuntimeError):
        async with client.stream_writer(stream_id="four") as writer:
            await writer.send("e")
            raise RuntimeError("the app failed")
    stats = client.stats()
    assert stats.live_writers == 0 and stats.streams == 4
    assert (stats.delivered, stats.stopped, stats.producer_errors) == (2, 1, 1)
    assert stats.chunks_sent == stats.chunks_confirmed == 5
    assert stats.failed == 0 and dict(stats.failures) == {}

    down = AsyncStreamstraight(
        **{**options, "base_url": f"http://127.0.0.1:{closed_port()}", "num_connect_retries": 0}
    )
    with pytest.raises(ConnectError):
        await down.stream(["x"], stream_id="nowhere")
    failed = down.stats()
    assert failed.failed == 1 and dict(failed.failures) == {"ConnectError": 1}
    # the chunk was taken while the connection was being made, and never confirmed
    assert failed.live_writers == 0 and failed.chunks_sent == 1
    assert failed.chunks_confirmed == 0


async def test_a_writer_closed_by_the_client_counts_as_abandoned(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    writer = client.stream_writer(stream_id="left-open")
    await writer.__aenter__()
    await writer.send("a")
    await client.aclose()
    stats = client.stats()
    assert stats.abandoned == 1 and stats.live_writers == 0
    assert writer.stats.outcome == "abandoned"
