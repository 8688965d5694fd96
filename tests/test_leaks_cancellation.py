"""A cancelled asyncio task that was writing a stream leaves no thread, descriptor or task."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streamstraight_server import AsyncStreamstraight
from streamstraight_server.devserver import ThreadedDevServer
from tests.support._async.leftovers import nothing_left
from tests.support.leakcheck import take


@pytest.mark.parametrize("waiting_on", ["sleep", "acks"])
async def test_after_cancellation(
    waiting_on: str, server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    if waiting_on == "acks":
        server.faults.withhold_acks = True
    before = take()
    client = AsyncStreamstraight(**options)
    started = asyncio.Event()

    async def produce() -> None:
        async with client.stream_writer(stream_id=f"cancel-{waiting_on}") as writer:
            await writer.send("first")
            started.set()
            if waiting_on == "acks":
                await writer.flush()
            await asyncio.sleep(30)

    task = asyncio.create_task(produce())
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    snap = server.wait_for_end(f"cancel-{waiting_on}", timeout=5)
    assert snap.end_reason == "producer-error" and snap.data == ['"first"']
    await nothing_left(before)
