"""Cancellation of a task that is writing a stream (the asyncio flavour only)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streamstraight_server import AsyncStreamstraight, WriterClosedError
from streamstraight_server.devserver import ThreadedDevServer


def other_tasks() -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


async def test_cancelled_writer_ends_with_producer_error_and_leaves_nothing(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    before = other_tasks()
    client = AsyncStreamstraight(**options, stream_id="cancel", heartbeat_interval=0.05)
    started = asyncio.Event()

    async def produce() -> None:
        async with client.stream_writer() as writer:
            await writer.send("first")
            started.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(produce())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    snap = server.wait_for_end("cancel", timeout=5)
    assert snap.end_reason == "producer-error" and snap.data == ['"first"']
    assert not client.connected
    await asyncio.sleep(0.05)
    assert other_tasks() <= before


async def test_timeout_around_a_slow_source_ends_the_stream(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    async def slow() -> Any:
        yield "one"
        await asyncio.sleep(30)
        yield "never"

    client = AsyncStreamstraight(**options, stream_id="slow")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(client.stream(slow()), 0.5)
    snap = server.wait_for_end("slow", timeout=5)
    assert snap.end_reason == "producer-error" and snap.data == ['"one"']


async def test_disconnect_wakes_a_writer_waiting_for_room(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.ack_delay = 5.0
    client = AsyncStreamstraight(
        **{**options, "ack_timeout": 10.0}, stream_id="waiting", max_in_flight_chunks=2
    )
    writer = client.stream_writer()
    await writer.send(0)
    await writer.send(1)
    blocked = asyncio.create_task(writer.send(2))
    await asyncio.sleep(0.2)
    assert not blocked.done()
    started = asyncio.get_running_loop().time()
    await client.disconnect()
    with pytest.raises(WriterClosedError, match=r"closed by close\(\) or disconnect\(\)"):
        await blocked
    assert asyncio.get_running_loop().time() - started < 1.0
