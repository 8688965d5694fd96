"""cancel(): a writer, stream() or tee() stops; what ends the stream is what the server holds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from streamstraight_server import (
    AsyncStreamstraight,
    ConfigurationError,
    StreamCancelledError,
    WriterClosedError,
)
from streamstraight_server._shims._async import monotonic, sleep
from streamstraight_server.devserver import StreamSnapshot, ThreadedDevServer
from tests.support.shims._async import run_concurrently

STOPPED = {"type": "stopped"}
STOPPED_DATA = '{"type":"stopped"}'


class Source:
    """An endless answer, one word every ``delay`` seconds; knows whether it was closed."""

    def __init__(self, delay: float = 0.01, stall_after: int | None = None) -> None:
        self.delay = delay
        self.stall_after = stall_after  # then one long wait, as a model that thinks
        self.yielded = 0
        self.closed_at: float | None = None

    async def words(self) -> AsyncIterator[str]:
        try:
            while True:
                if self.stall_after is not None and self.yielded == self.stall_after:
                    await sleep(1.0)
                elif self.delay:
                    await sleep(self.delay)
                self.yielded += 1
                yield f"w{self.yielded - 1} "
        finally:
            self.closed_at = monotonic()


def words(count: int) -> list[str]:
    return [f'"w{i} "' for i in range(count)]


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = monotonic() + timeout
    while not condition():
        if monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s")
        await sleep(0.005)


def chunks_stored(server: ThreadedDevServer, stream_id: str, count: int) -> Callable[[], bool]:
    def check() -> bool:
        snap = server.snapshot(stream_id)
        return snap is not None and len(snap.chunks) >= count

    return check


def ended(server: ThreadedDevServer, stream_id: str) -> StreamSnapshot:
    snap = server.snapshot(stream_id)
    assert snap is not None and snap.ended, f"stream {stream_id!r} has not ended"
    return snap


async def test_cancel_stops_a_tee_the_final_chunk_then_end(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    source = Source()
    tee = client.tee(source.words(), stream_id="tee-stop")
    response = []
    async for chunk in tee:
        response.append(chunk)
        if len(response) == 5:
            assert await client.cancel("tee-stop", STOPPED)
    sent = await tee.wait()
    assert source.closed_at is not None  # the model's call is closed
    snap = ended(server, "tee-stop")
    assert snap.end_reason == "completed"
    assert snap.data[-1] == STOPPED_DATA
    assert snap.data[:-1] == words(len(snap.data) - 1)
    assert sent == len(snap.data)
    # the response got exactly what the stream holds, the final chunk included, and ended
    assert response[-1] == STOPPED and len(response) == len(snap.data)
    assert not await client.cancel("tee-stop")  # nothing runs it any more


async def test_the_tee_handle_cancels_too_with_producer_error(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    source = Source()
    tee = client.tee(source.words(), stream_id="tee-handle")
    await until(chunks_stored(server, "tee-handle", 3))
    assert tee.cancel(reason="producer-error")
    await tee.wait()
    snap = ended(server, "tee-handle")
    assert snap.end_reason == "producer-error"
    assert snap.data == words(len(snap.data))  # no final chunk was given
    assert not tee.cancel()  # done
    await until(lambda: source.closed_at is not None)


async def test_cancel_stops_stream_and_closes_its_source(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    source = Source()
    stopped_at: list[float] = []

    async def produce() -> int:
        return await client.stream(source.words(), stream_id="stream-stop")

    async def stop() -> bool:
        await until(chunks_stored(server, "stream-stop", 4))
        stopped_at.append(monotonic())
        return await client.cancel("stream-stop", final_chunk=STOPPED)

    sent, cancelled = await run_concurrently([produce, stop])
    assert cancelled is True
    snap = ended(server, "stream-stop")
    assert snap.end_reason == "completed"
    assert snap.data[-1] == STOPPED_DATA and snap.data[:-1] == words(len(snap.data) - 1)
    assert sent == len(snap.data) - 1  # the source's chunks; the final chunk is the stop's
    assert source.closed_at is not None and source.closed_at >= stopped_at[0]


async def test_a_stuck_source_does_not_hold_the_end_back(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    """The stream ends at once; the chunk a stuck source yields after the stop is dropped."""
    client = AsyncStreamstraight(**options)
    source = Source(delay=0.0, stall_after=3)
    timings: list[float] = []

    async def produce() -> int:
        return await client.stream(source.words(), stream_id="stuck")

    async def stop() -> None:
        await until(chunks_stored(server, "stuck", 3))
        started = monotonic()
        assert await client.cancel("stuck", STOPPED)
        await until(lambda: (server.snapshot("stuck") or _NOT).ended, timeout=5)
        timings.append(monotonic() - started)

    sent, _ = await run_concurrently([produce, stop])
    assert timings[0] < 0.9  # the source sleeps 1 s: the end did not wait for it
    snap = ended(server, "stuck")
    assert snap.data == [*words(3), STOPPED_DATA] and sent == 3
    await until(lambda: source.closed_at is not None)


async def test_cancel_reaches_a_writer_whose_send_then_raises(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    async with client.stream_writer(stream_id="writer-stop") as writer:
        await writer.send("a")
        assert await client.cancel("writer-stop", final_chunk="[stopped]")
        assert writer.cancelled
        with pytest.raises(StreamCancelledError, match="stopped by cancel"):
            await writer.send("b")
        with pytest.raises(WriterClosedError):  # a StreamCancelledError is one
            await writer.send("c")
    snap = ended(server, "writer-stop")
    assert snap.data == ['"a"', '"[stopped]"'] and snap.end_reason == "completed"


async def test_leaving_the_writer_block_absorbs_its_stop(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    sent = 0
    async with client.stream_writer(stream_id="absorbed") as writer:
        for i in range(100):
            if i == 3:
                assert await client.cancel("absorbed")
            await writer.send(i)  # raises at i == 3: the block is left there
            sent += 1
    assert sent == 3
    assert ended(server, "absorbed").data == ["0", "1", "2"]
    assert await writer.close() is None  # closed already


async def test_an_exception_of_the_app_after_a_stop_still_propagates(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    with pytest.raises(KeyError):
        async with client.stream_writer(stream_id="app-error") as writer:
            await writer.send("a")
            assert await client.cancel("app-error")
            raise KeyError("the app's own")
    assert ended(server, "app-error").end_reason == "completed"  # the stop's END stands


async def test_cancel_of_what_does_not_run_here_is_false(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    assert not await client.cancel("nothing")
    await client.stream(["x"], stream_id="done")
    assert not await client.cancel("done")
    with pytest.raises(ConfigurationError, match="reason"):
        await client.cancel("done", reason="finished")  # type: ignore[arg-type]


async def test_a_writer_stopped_while_it_connects_ends_once_connected(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.refuse_connections = 2  # two retries before the connection is up
    client = AsyncStreamstraight(**{**options, "connect_retry_delay_ms": 100})

    async def produce() -> int:
        return await client.stream(Source().words(), stream_id="connecting")

    async def stop() -> bool:
        await sleep(0.05)
        return await client.cancel("connecting", STOPPED)

    sent, cancelled = await run_concurrently([produce, stop])
    # the source is read from the start: the words taken while connecting go out first
    assert cancelled is True and isinstance(sent, int) and sent >= 1
    snap = ended(server, "connecting")
    assert snap.data == [*words(sent), STOPPED_DATA] and snap.end_reason == "completed"


async def test_a_writer_left_open_does_not_keep_its_stream_from_cancel(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    forgotten = client.stream_writer(stream_id="again")
    await forgotten.__aenter__()
    await forgotten.send("a")
    await client.aclose()  # closes its connection; the writer itself is never closed
    async with client.stream_writer(stream_id="again") as writer:
        await writer.send("b")
        assert await client.cancel("again", final_chunk="[stopped]")
    snap = ended(server, "again")
    assert snap.data == ['"a"', '"b"', '"[stopped]"'] and snap.end_reason == "completed"


_NOT = StreamSnapshot(
    stream_id="",
    chunks=(),
    ended=False,
    end_reason=None,
    end_redis_id=None,
    producer_connected=False,
    producer_connections=0,
    heartbeats=0,
)
