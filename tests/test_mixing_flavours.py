"""Mixing the flavours fails loudly: plain ``with``/``for`` on async objects, and the blocking
client on an event loop's thread. Also what only the asyncio flavour has: a cancelled reader."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from streamstraight_server import AsyncStreamstraight, Streamstraight
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import snapshot, stored

BLOCKING_WARNING = "use AsyncStreamstraight in async code"


def test_plain_with_on_async_objects_says_async_with(options: dict[str, Any]) -> None:
    client = AsyncStreamstraight(**options)
    with pytest.raises(TypeError, match="AsyncStreamstraight is asynchronous: write 'async with'"):
        with client:  # type: ignore[attr-defined]
            pass
    with pytest.raises(TypeError, match="AsyncStreamWriter is asynchronous: write 'async with'"):
        with client.stream_writer(stream_id="plain-with"):  # type: ignore[attr-defined]
            pass


async def test_plain_for_on_a_tee_says_async_for(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    tee = client.tee(["a", "b"], stream_id="plain-for")
    with pytest.raises(TypeError, match="AsyncTee is an async iterator: write 'async for'"):
        for _ in tee:  # type: ignore[attr-defined]
            pass
    assert await tee.wait() == 2
    assert [chunk async for chunk in tee] == ["a", "b"]  # the misuse took nothing


def test_blocking_objects_take_plain_with(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    with Streamstraight(**options) as client, client.stream_writer(stream_id="sync-with") as writer:
        writer.send("fine")
    assert stored(server, "sync-with") == ['"fine"']


async def test_blocking_client_on_the_loop_thread_warns_once(
    server: ThreadedDevServer, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="streamstraight_server")
    client = Streamstraight(**options)
    client.fetch_client_token()
    client.stream(["a", "b"], stream_id="on-the-loop")
    client.fetch_client_token()
    warnings = [r for r in caplog.records if BLOCKING_WARNING in r.message]
    assert len(warnings) == 1
    assert "Streamstraight (the blocking client)" in warnings[0].message
    assert stored(server, "on-the-loop") == ['"a"', '"b"']


async def test_blocking_client_off_the_loop_thread_does_not_warn(
    server: ThreadedDevServer, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="streamstraight_server")
    client = Streamstraight(**options)
    worker = threading.Thread(target=lambda: client.stream(["x"], stream_id="off-the-loop"))
    worker.start()
    await asyncio.to_thread(worker.join)
    tee = client.tee(["y"], stream_id="tee-from-the-loop")  # its threads run off the loop
    await asyncio.to_thread(tee.join)
    assert not [r for r in caplog.records if BLOCKING_WARNING in r.message]
    assert stored(server, "off-the-loop") == ['"x"']
    assert stored(server, "tee-from-the-loop") == ['"y"']


def test_blocking_client_in_plain_code_does_not_warn(
    server: ThreadedDevServer, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="streamstraight_server")
    Streamstraight(**options).stream(["z"], stream_id="plain-code")
    assert not [r for r in caplog.records if BLOCKING_WARNING in r.message]


async def test_cancelled_response_leaves_the_stream_to_complete(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    async def words() -> AsyncIterator[str]:
        for i in range(30):
            await asyncio.sleep(0.005)
            yield f"word {i}"

    client = AsyncStreamstraight(**options)
    tee = client.tee(words(), stream_id="cancelled")
    first = asyncio.Event()

    async def respond() -> None:  # what a framework does with a streaming response
        async for _ in tee:
            first.set()

    response = asyncio.ensure_future(respond())
    await first.wait()
    response.cancel()
    with pytest.raises(asyncio.CancelledError):
        await response
    assert await tee.wait() == 30
    assert snapshot(server, "cancelled").end_reason == "completed"
    assert stored(server, "cancelled") == [f'"word {i}"' for i in range(30)]
