"""A starved process is not a silent server: deadlines count only once the reader has run.

Busy threads hold the GIL for a tenth of a second at a time, so the writer's timers fire
long after the server's answers arrived, while those answers still wait to be read. The SDK
must keep waiting rather than report a timeout that the server would contradict."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from streamstraight_server import AsyncStreamstraight
from tests.support.server_process import ServerProcess

BUSY_THREADS = 3


@contextmanager
def starved() -> Iterator[None]:
    stop = threading.Event()

    def spin() -> None:
        count = 0
        while not stop.is_set():
            count += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.1)
    threads = [threading.Thread(target=spin, name=f"busy-{i}") for i in range(BUSY_THREADS)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        sys.setswitchinterval(interval)


async def test_acks_and_end_read_late_are_no_timeout(server_process: ServerProcess) -> None:
    """The server runs in a process of its own: only this one is starved."""
    client = AsyncStreamstraight(
        api_key=server_process.api_key,
        base_url=server_process.base_url,
        connect_timeout=10.0,
        ack_timeout=0.2,
        end_timeout=0.2,
        max_in_flight_chunks=8,
    )
    for round_ in range(2):
        stream_id = f"starved-{round_}"
        async with client.stream_writer(stream_id=stream_id) as writer:
            await writer.flush()  # connected before the starving starts: connecting has its
            # own deadline, which is not this test's
            with starved():
                for i in range(24):
                    await writer.send(i)  # waits for acks every 8 chunks
                await writer.flush()
                await writer.close()
        held = server_process.held(stream_id)
        assert held is not None and held.end_reason == "completed"
        assert held.data == [str(i) for i in range(24)]
    await client.aclose()
