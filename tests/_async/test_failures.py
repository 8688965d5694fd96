"""Failures mid-stream: every error says how many chunks the server confirmed."""

from __future__ import annotations

from typing import Any

import pytest

from streamstraight_server import (
    AckTimeoutError,
    AsyncStreamstraight,
    ConnectionLostError,
    EndTimeoutError,
    StreamError,
)
from streamstraight_server._shims._async import sleep
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import snapshot, stored


async def test_dropped_connection_is_resumed_without_loss_or_duplicates(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.drop_after_chunks = 7
    client = AsyncStreamstraight(**options, stream_id="drop")
    async with client.stream_writer() as writer:
        for i in range(30):
            await writer.send(i)
        await writer.flush()
        assert writer.confirmed == 30
    snap = snapshot(server, "drop")
    assert stored(server, "drop") == [str(i) for i in range(30)]
    assert snap.producer_connections == 2 and snap.end_reason == "completed"


async def test_server_restart_mid_stream_is_resumed(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, stream_id="restart")
    async with client.stream_writer() as writer:
        for i in range(10):
            await writer.send(i)
        await writer.flush()
        server.restart(down_for=0.3)
        for i in range(10, 20):
            await writer.send(i)
    assert stored(server, "restart") == [str(i) for i in range(20)]
    assert snapshot(server, "restart").producer_connections == 2


async def test_resume_that_cannot_succeed_says_what_was_confirmed(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(
        **{**options, "resume_attempts": 2, "resume_timeout": 2.0}, stream_id="gone"
    )
    writer = client.stream_writer()
    with pytest.raises(ConnectionLostError) as caught:
        async with writer:
            for i in range(5):
                await writer.send(i)
            await writer.flush()
            server.faults.refuse_connections = 100
            server.faults.drop_after_chunks = 1
            await writer.send(5)
            await writer.send(6)
            await writer.flush()
    error = caught.value
    assert error.confirmed == 5
    assert error.sent is not None and error.sent >= 6
    assert "confirmed 5 of" in str(error) and "could not be resumed" in str(error)
    assert not client.connected
    server.faults.refuse_connections = 0
    await sleep(0.5)  # a library-level reconnection would attach a ghost producer by now
    snap = snapshot(server, "gone")
    assert snap.producer_connections == 1 and not snap.producer_connected


async def test_server_that_confirms_no_chunks_is_handled_by_end(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.withhold_acks = True
    client = AsyncStreamstraight(
        **{**options, "ack_timeout": 0.3}, stream_id="noacks", max_in_flight_chunks=4
    )
    async with client.stream_writer() as writer:
        for i in range(25):
            await writer.send(i)
    assert writer.confirmed == 25
    assert stored(server, "noacks") == [str(i) for i in range(25)]


async def test_acks_that_come_back_are_waited_for_again(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.withhold_acks = True
    client = AsyncStreamstraight(
        **{**options, "ack_timeout": 0.3}, stream_id="pause", max_in_flight_chunks=2
    )
    async with client.stream_writer() as writer:
        for i in range(4):
            await writer.send(i)
        assert writer.confirmed == 0
        server.faults.withhold_acks = False
        for i in range(4, 8):
            await writer.send(i)
        await sleep(0.5)  # the acks of 4..7 arrive; flush() then waits for acks again
        await writer.flush()
        assert writer.confirmed == 8
        server.faults.ack_delay = 0.02
        for i in range(8, 16):
            await writer.send(i)
            assert writer.sent - writer.confirmed <= 2  # the window bounds sends again
    assert stored(server, "pause") == [str(i) for i in range(16)]


async def test_acks_that_stop_coming_raise_with_progress(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(
        **{**options, "ack_timeout": 0.5}, stream_id="stalled", max_in_flight_chunks=2
    )
    writer = client.stream_writer()
    with pytest.raises(AckTimeoutError, match="confirmed 3 of 5") as caught:
        async with writer:
            for i in range(3):
                await writer.send(i)
            await writer.flush()
            server.faults.withhold_acks = True
            for i in range(3, 10):
                await writer.send(i)
    assert caught.value.confirmed == 3 and caught.value.sent == 5


async def test_unanswered_end_is_an_end_timeout(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.withhold_end_ack = True
    client = AsyncStreamstraight(**{**options, "end_timeout": 0.5}, stream_id="noend")
    with pytest.raises(EndTimeoutError, match="did not answer END") as caught:
        async with client.stream_writer() as writer:
            for i in range(4):
                await writer.send(i)
            await writer.flush()
    assert caught.value.confirmed == 4 and caught.value.sent == 4
    assert not client.connected


async def test_server_stream_error_surfaces_with_code_and_progress(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.error_after_chunks = 3
    server.faults.error_code = "internal"
    client = AsyncStreamstraight(**options, stream_id="err")
    with pytest.raises(StreamError, match="server reported") as caught:
        async with client.stream_writer() as writer:
            for i in range(50):
                await writer.send(i)
            await writer.flush()
    assert caught.value.code == "internal"
    held = len(stored(server, "err"))
    assert held == 3
    assert caught.value.confirmed is not None and caught.value.confirmed <= held
    assert "[internal]" in str(caught.value)
    assert snapshot(server, "err").end_reason == "producer-error"
    assert not client.connected
