"""The transport: refusals, failed connections, shared threads, leftovers."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from streamstraight_server import (
    AsyncStreamstraight,
    AuthenticationError,
    ConnectError,
    StreamError,
    StreamstraightServerAbortError,
)
from streamstraight_server._shims._async import monotonic, sleep
from streamstraight_server.devserver import ThreadedDevServer
from tests.support._async.leftovers import nothing_left
from tests.support.helpers import closed_port, stored
from tests.support.leakcheck import take
from tests.support.refusing_server import refusing_server, silent_server
from tests.support.shims._async import run_concurrently


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_upgrade_is_an_authentication_error_at_once(status: int) -> None:
    with refusing_server(status, "invalid API key") as (base_url, seen):
        client = AsyncStreamstraight(
            api_key="sk_wrong", base_url=base_url, num_connect_retries=5, connect_timeout=5.0
        )
        started = monotonic()
        with pytest.raises(AuthenticationError, match=f"HTTP {status}|{status}"):
            await client.stream(["a"], stream_id="refused")
        assert monotonic() - started < 3.0
    assert len(seen) == 1  # never retried
    assert all(path.startswith("/socket.io/") for path in seen)


async def test_a_connect_error_names_and_keeps_its_cause() -> None:
    client = AsyncStreamstraight(
        api_key="sk_test",
        base_url=f"http://127.0.0.1:{closed_port()}",
        num_connect_retries=1,
        connect_retry_delay_ms=10,
    )
    with pytest.raises(ConnectError) as caught:
        await client.stream(["a"], stream_id="nowhere")
    error = caught.value
    assert error.attempts == 2 and "after 2 attempts" in str(error)
    assert isinstance(error.__cause__, ConnectionRefusedError)
    assert "ConnectionRefusedError" in str(error)


async def test_a_base_url_path_prefixes_the_socket_path() -> None:
    with refusing_server(404) as (base_url, seen):
        client = AsyncStreamstraight(
            api_key="sk_test", base_url=base_url + "/proxy/ss/", num_connect_retries=0
        )
        with pytest.raises(Exception):  # noqa: B017 - only the path it asked for matters here
            await client.stream(["a"], stream_id="prefixed")
    assert seen and seen[0].startswith("/proxy/ss/socket.io/")


async def test_every_chunk_is_confirmed_and_a_server_error_reported(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, max_in_flight_chunks=4)
    async with client.stream_writer(stream_id="confirmed") as writer:
        for i in range(30):
            await writer.send(i)
        await writer.flush()
        assert writer.confirmed == 30
    assert stored(server, "confirmed") == [str(i) for i in range(30)]
    server.faults.error_after_chunks = 1
    with pytest.raises(StreamError, match="injected"):
        async with client.stream_writer(stream_id="server-error") as writer:
            await writer.send(0)
            await writer.flush()
            await sleep(0.5)
            await writer.send(1)


async def test_open_writers_share_the_transport_threads(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    """However many writers are open, the client adds at most one thread: the I/O thread of
    the blocking flavour."""
    before = {thread.ident for thread in threading.enumerate()}
    client = AsyncStreamstraight(**options, heartbeat_interval=0.05)
    writers = [client.stream_writer(stream_id=f"shared-{i}") for i in range(40)]
    for writer in writers:
        await writer.__aenter__()
        await writer.send("first")
    await sleep(0.2)  # heartbeats run meanwhile
    added = [t.name for t in threading.enumerate() if t.ident not in before]
    assert len(added) <= 1, added
    for writer in writers:
        await writer.send("last")
        await writer.__aexit__(None, None, None)
    for i in range(40):
        assert stored(server, f"shared-{i}") == ['"first"', '"last"']
    await client.aclose()


async def test_nothing_outlives_a_resumed_and_closed_stream(
    server: ThreadedDevServer, options: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    before = take()
    client = AsyncStreamstraight(**options, heartbeat_interval=0.05)
    for round_ in range(3):
        server.faults.drop_after_chunks = 3
        async with client.stream_writer(stream_id=f"resumed-{round_}") as writer:
            for i in range(10):
                await writer.send(i)
            await writer.flush()
        assert stored(server, f"resumed-{round_}") == [str(i) for i in range(10)]
    await client.aclose()
    await nothing_left(before, timeout=1.0)  # no thread, task or descriptor past a second
    await sleep(0.2)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


async def test_closing_the_client_while_a_writer_connects_aborts_it() -> None:
    with silent_server() as base_url:
        client = AsyncStreamstraight(api_key="sk_test", base_url=base_url, connect_timeout=2.0)

        async def write() -> None:
            await client.stream(["a"], stream_id="hangs")

        async def close_soon() -> None:
            await sleep(0.3)
            await client.aclose()

        started = monotonic()
        results = await run_concurrently([write, close_soon])
        assert isinstance(results[0], StreamstraightServerAbortError), results[0]
        assert "close() or disconnect()" in str(results[0])
        assert results[1] is None
        assert monotonic() - started < 4.0  # at most one connect_timeout, never the retries
