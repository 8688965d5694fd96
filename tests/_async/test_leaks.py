"""Nothing is left behind: after success, failure, interruption and a drop with resume no thread,
descriptor or task remains, and a thousand streams in a row keep memory flat."""

from __future__ import annotations

import gc
import socket
import threading
from typing import Any

import pytest

from streamstraight_server import AsyncStreamstraight, StreamError
from streamstraight_server.devserver import ThreadedDevServer
from tests.support._async.leftovers import nothing_left
from tests.support.helpers import snapshot, stored
from tests.support.leakcheck import left_behind, take

RSS_STREAMS = 1_000
RSS_WARMUP = 50
RSS_SLACK_BYTES = 10 * 1024 * 1024


class Interrupted(BaseException):
    """What KeyboardInterrupt or a cancellation does to a writer: a BaseException in its block."""


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def test_the_check_sees_a_thread_and_a_descriptor() -> None:
    before = take()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="left-on-purpose")
    thread.start()
    sock = socket.socket()
    try:
        found = left_behind(before, take())
        assert "thread 'left-on-purpose'" in found
        assert any(item.startswith(f"fd {sock.fileno()} -> socket:") for item in found)
        with pytest.raises(AssertionError, match=r"left behind: .*left-on-purpose"):
            await nothing_left(before, timeout=0.1)
    finally:
        stop.set()
        thread.join()
        sock.close()
    await nothing_left(before)


async def test_after_success(server: ThreadedDevServer, options: dict[str, Any]) -> None:
    before = take()
    client = AsyncStreamstraight(**options)
    assert await client.stream(range(50), stream_id="ok") == 50
    async with client.stream_writer(stream_id="ok-writer") as writer:
        await writer.send("a")
    assert stored(server, "ok") == [str(i) for i in range(50)]
    await nothing_left(before)


async def test_after_failure(server: ThreadedDevServer, options: dict[str, Any]) -> None:
    server.faults.error_after_chunks = 3
    before = take()
    with pytest.raises(StreamError, match="injected fault"):
        await AsyncStreamstraight(**options).stream(range(10), stream_id="fails")
    assert snapshot(server, "fails").end_reason == "producer-error"
    await nothing_left(before)


async def test_after_an_interruption_in_the_writer_block(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    before = take()
    client = AsyncStreamstraight(**options)
    with pytest.raises(Interrupted):
        async with client.stream_writer(stream_id="interrupted") as writer:
            await writer.send("first")
            await writer.flush()
            raise Interrupted
    snap = server.wait_for_end("interrupted", timeout=5)
    assert snap.end_reason == "producer-error" and snap.data == ['"first"']
    await nothing_left(before)


async def test_after_a_drop_with_resume(server: ThreadedDevServer, options: dict[str, Any]) -> None:
    server.faults.drop_after_chunks = 5
    before = take()
    assert await AsyncStreamstraight(**options).stream(range(20), stream_id="dropped") == 20
    snap = snapshot(server, "dropped")
    assert snap.producer_connections == 2 and snap.end_reason == "completed"
    assert stored(server, "dropped") == [str(i) for i in range(20)]
    await nothing_left(before)


async def test_a_thousand_streams_keep_memory_flat(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, overwrite_existing_stream=True)
    for _ in range(RSS_WARMUP):
        await client.stream(["warm", "up"], stream_id="rss")
    gc.collect()
    before = take()
    start = rss_bytes()
    for i in range(RSS_STREAMS):
        await client.stream([i, {"n": i}], stream_id="rss")
    gc.collect()
    grown = rss_bytes() - start
    print(f"RSS after {RSS_STREAMS} streams: {grown / 1024 / 1024:+.1f} MiB")
    assert grown < RSS_SLACK_BYTES, f"RSS grew {grown / 1024 / 1024:.1f} MiB"
    assert stored(server, "rss") == [str(RSS_STREAMS - 1), f'{{"n":{RSS_STREAMS - 1}}}']
    await nothing_left(before)
