"""The promise under real faults: delivered means the server holds every chunk once, in order;
anything else is an error that says which chunks are safe. Asserted on what the server holds.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamstraight_server import (
    AsyncStreamstraight,
    ChunkTooLargeError,
    DataLossError,
    EncodeError,
    StreamBusyError,
    StreamError,
    WriterClosedError,
)
from streamstraight_server._shims._async import monotonic, sleep
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import stored
from tests.support.server_process import ServerProcess
from tests.support.shims._async import run_concurrently


def process_options(process: ServerProcess, **extra: Any) -> dict[str, Any]:
    return {
        "api_key": process.api_key,
        "base_url": process.base_url,
        "connect_retry_delay_ms": 100,
        "connect_timeout": 3.0,
        "ack_timeout": 5.0,
        "end_timeout": 5.0,
        "resume_timeout": 15.0,
        "resume_attempts": 20,
        **extra,
    }


def numbers(first: int, last: int) -> list[str]:
    return [str(i) for i in range(first, last)]


@pytest.mark.parametrize(
    ("keep_store", "stream_id"),
    [(True, "kept"), (False, "lost")],
    ids=["with-its-store", "without-its-store"],
)
async def test_a_server_killed_and_restarted_ends_up_holding_every_chunk_once(
    server_process: ServerProcess, keep_store: bool, stream_id: str
) -> None:
    """Restarted with its store, it is given the rest; without it, every chunk again."""
    client = AsyncStreamstraight(**process_options(server_process))
    async with client.stream_writer(stream_id=stream_id) as writer:
        for i in range(60):
            await writer.send(i)
        await writer.flush()
        if not keep_store:
            assert writer.confirmed == 60  # confirmed, then lost with the store
        server_process.restart(keep_store=keep_store)
        for i in range(60, 200):
            await writer.send(i)
    held = server_process.held(stream_id)
    assert held is not None and held.ended and held.end_reason == "completed"
    assert held.seqs == list(range(200)) and held.data == numbers(0, 200)


async def test_server_that_lost_chunks_no_longer_held_is_data_loss_not_success(
    server_process: ServerProcess,
) -> None:
    client = AsyncStreamstraight(**process_options(server_process, max_in_flight_chunks=16))
    writer = client.stream_writer(stream_id="hole")
    with pytest.raises(DataLossError) as caught:
        async with writer:
            for i in range(60):
                await writer.send(i)
            await writer.flush()
            server_process.restart(keep_store=False)
            for i in range(60, 200):
                await writer.send(i)
    error = caught.value
    # the window holds the last 16 chunks sent, at most seq 44..59 when the drop is noticed
    first, last = error.missing
    assert error.sent is not None and first == 0 and 43 <= last < error.sent
    assert f"lacks seq 0..{last}" in str(error) and error.confirmed == 0
    held = server_process.held("hole")
    assert held is None or not (held.ended and held.end_reason == "completed")
    assert held is None or not held.chunks or held.seqs[0] != 0 or len(held.chunks) < 200


async def test_one_client_shared_by_fifty_tasks_keeps_every_stream_apart(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, max_in_flight_chunks=8)

    def job(n: int) -> Any:
        async def write() -> int:
            return await client.stream([f"{n}:{i}" for i in range(20)], stream_id=f"task-{n}")

        return write

    results = await run_concurrently([job(n) for n in range(50)])
    assert results == [20] * 50
    for n in range(50):
        assert stored(server, f"task-{n}") == [f'"{n}:{i}"' for i in range(20)]
    await client.aclose()


async def test_concurrent_connects_to_the_current_stream_share_one_connection(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, stream_id="current")

    def job() -> Any:
        async def connect() -> None:
            await client.connect()

        return connect

    results = await run_concurrently([job() for _ in range(20)])
    assert results == [None] * 20
    async with client.stream_writer() as writer:
        await writer.send("only")
    snap = server.wait_for_end("current", timeout=5)
    assert snap.producer_connections == 1 and snap.data == ['"only"']


async def test_two_live_writers_of_one_stream_are_refused(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    async with client.stream_writer(stream_id="twice") as first:
        await first.send("a")
        with pytest.raises(StreamBusyError, match="already has a live writer"):
            async with client.stream_writer(stream_id="twice") as second:
                await second.send("b")
        await first.send("c")
    assert stored(server, "twice") == ['"a"', '"c"']
    async with client.stream_writer(stream_id="twice", overwrite_existing_stream=True) as again:
        await again.send("d")  # once the first writer is done, the id is free again
    assert stored(server, "twice") == ['"d"']


async def test_closing_the_client_closes_every_writer(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    writers = [client.stream_writer(stream_id=f"open-{n}") for n in range(3)]
    for writer in writers:
        await writer.send("x")
    await client.aclose()
    for writer in writers:
        with pytest.raises(WriterClosedError, match=r"closed by close\(\) or disconnect\(\)"):
            await writer.send("y")
    for n in range(3):
        snap = server.wait_for_end(f"open-{n}", timeout=6)
        assert snap.end_reason == "producer-disconnected" and snap.data == ['"x"']


async def test_closing_just_as_the_connection_opens_still_delivers_what_send_took(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    # the close lands at every moment of a background connect, and in particular between
    # stream:info (the stream is open) and the connect sending the chunks taken meanwhile
    ids = [f"closing-{n}" for n in range(80)]
    for n, stream_id in enumerate(ids):
        client = AsyncStreamstraight(**options)
        writer = client.stream_writer(stream_id=stream_id)
        await writer.send("x")
        await sleep(n * 0.0002)
        await client.aclose()
    for stream_id in ids:
        snap = server.wait_for_end(stream_id, timeout=6)
        assert (stream_id, snap.end_reason, snap.data) == (
            stream_id,
            "producer-disconnected",
            ['"x"'],
        )


async def test_a_failed_stream_stays_failed_and_connect_starts_afresh(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, stream_id="sticky")
    server.faults.error_after_chunks = 2
    writer = client.stream_writer()
    await writer.send(0)
    await writer.send(1)
    errors = []
    for _ in range(3):
        with pytest.raises(StreamError, match="injected") as caught:
            await writer.flush()
        errors.append(caught.value)
    assert len({id(e) for e in errors}) == 3  # a fresh copy each time
    assert len({type(e) for e in errors}) == 1
    depths = {_depth(e.__traceback__) for e in errors}
    assert len(depths) == 1  # no frames pile up on a stored error
    await client.connect(stream_id="sticky-2")
    async with client.stream_writer() as fresh:
        await fresh.send("new")
    assert stored(server, "sticky-2") == ['"new"']


def _depth(traceback: Any) -> int:
    depth = 0
    while traceback is not None:
        depth += 1
        traceback = traceback.tb_next
    return depth


async def test_a_server_that_confirms_only_end_costs_one_short_probe(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.withhold_acks = True
    client = AsyncStreamstraight(**{**options, "ack_timeout": 30.0}, max_in_flight_chunks=8)
    async with client.stream_writer(stream_id="end-only") as writer:
        started = monotonic()
        for i in range(40):  # five times the window
            await writer.send(i)
        await writer.flush()
        await writer.flush()
        waited = monotonic() - started
        assert writer.confirmed == 0
    assert waited < 10.0  # one 2 s probe, not ack_timeout (30 s) per full window
    assert stored(server, "end-only") == numbers(0, 40)
    assert server.wait_for_end("end-only", timeout=5).end_reason == "completed"


@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb"])
async def test_text_that_is_not_utf8_is_refused_before_sending(
    server: ThreadedDevServer, options: dict[str, Any], bad: str
) -> None:
    client = AsyncStreamstraight(**options)
    async with client.stream_writer(stream_id="text") as writer:
        await writer.send("before")
        with pytest.raises(EncodeError, match="not valid text"):
            await writer.send(bad)
        async with client.stream_writer(stream_id="encoded", encoder=lambda c: c) as raw:
            with pytest.raises(EncodeError, match="lone surrogates"):
                await raw.send(bad)
            await raw.send("fine")
        await writer.send("after")
    assert stored(server, "text") == ['"before"', '"after"']
    assert stored(server, "encoded") == ["fine"]


async def test_a_chunk_above_max_chunk_bytes_is_refused_and_the_next_one_arrives(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, max_chunk_bytes=1000)
    async with client.stream_writer(stream_id="sizes", encoder=lambda c: c) as writer:
        await writer.send("x" * 1000)
        with pytest.raises(ChunkTooLargeError, match="1001 bytes, above max_chunk_bytes=1000"):
            await writer.send("x" * 1001)
        with pytest.raises(ChunkTooLargeError, match="1002 bytes"):
            await writer.send("é" * 501)  # 501 characters, 1002 bytes of UTF-8
        await writer.send("small")
    assert stored(server, "sizes") == ["x" * 1000, "small"]
    default = AsyncStreamstraight(**options)
    async with default.stream_writer(stream_id="default-limit", encoder=lambda c: c) as writer:
        with pytest.raises(ChunkTooLargeError, match="max_chunk_bytes=1048576"):
            await writer.send("y" * (3 * 1024 * 1024))
        await writer.send("ok")
    assert stored(server, "default-limit") == ["ok"]


async def test_an_end_whose_answer_was_lost_is_delivered_once_the_server_says_so(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.withhold_end_ack = True
    client = AsyncStreamstraight(**{**options, "end_timeout": 10.0, "resume_attempts": 20})
    writer = client.stream_writer(stream_id="lost-answer")
    for i in range(5):
        await writer.send(i)

    async def close() -> str | None:
        return await writer.close()

    async def restart_once_ended() -> None:
        while True:
            snap = server.snapshot("lost-answer")
            if snap is not None and snap.ended:
                break
            await sleep(0.02)
        server.faults.withhold_end_ack = False
        server.restart(down_for=0.2)  # the END answer never comes: the connection drops

    results = await run_concurrently([close, restart_once_ended])
    assert results[1] is None
    assert isinstance(results[0], str), results[0]
    snap = server.wait_for_end("lost-answer", timeout=5)
    assert snap.end_reason == "completed" and snap.data == numbers(0, 5)


async def test_a_stream_kept_open_after_its_end_does_not_block_its_id(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, keep_open=True)
    async with client.stream_writer(stream_id="kept-open") as writer:
        await writer.send("first")
    assert server.wait_for_end("kept-open", timeout=5).producer_connected  # still connected
    async with client.stream_writer(stream_id="kept-open", overwrite_existing_stream=True) as w:
        await w.send("second")
    assert stored(server, "kept-open") == ['"second"']
    await client.aclose()
    deadline = monotonic() + 3.0
    while server.wait_for_end("kept-open").producer_connected and monotonic() < deadline:
        await sleep(0.02)
    assert not server.wait_for_end("kept-open").producer_connected


async def test_each_drop_costs_exactly_one_reconnection(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    # a chunk whose emit fails while the reader is already handling the drop must not count
    # against the new connection (that race made one resume in about seventy reconnect twice)
    client = AsyncStreamstraight(**options)
    for round_ in range(60):
        server.faults.drop_after_chunks = 7
        async with client.stream_writer(stream_id=f"drop-{round_}") as writer:
            for i in range(30):
                await writer.send(i)
        snap = server.wait_for_end(f"drop-{round_}", timeout=5)
        assert snap.data == numbers(0, 30)
        assert snap.producer_connections == 2, f"round {round_}"
