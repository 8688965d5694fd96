"""on_complete as each flavour calls it: the asyncio client awaits a coroutine function, the
blocking client says that it cannot."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from streamstraight_server import AsyncStreamstraight, StreamResult, Streamstraight
from streamstraight_server.devserver import ThreadedDevServer


def test_the_asyncio_client_awaits_a_coroutine_function(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    saved: list[str | None] = []

    async def save(result: StreamResult) -> None:
        await asyncio.sleep(0.01)
        saved.append(result.text)

    async def run() -> None:
        client = AsyncStreamstraight(**options)
        await client.stream(["a", "b"], stream_id="coroutine", on_complete=save)
        await client.tee(["c"], stream_id="coroutine-tee", on_complete=save).wait()
        await client.aclose()

    asyncio.run(run())
    assert saved == ["ab", "c"]


def test_the_blocking_client_logs_a_coroutine_function_it_cannot_await(
    server: ThreadedDevServer, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="streamstraight_server")

    async def save(result: StreamResult) -> None:
        raise AssertionError("never run")

    client = Streamstraight(**options)
    assert client.stream(["a"], stream_id="blocking", on_complete=save) == 1
    (record,) = [r for r in caplog.records if "on_complete raised" in r.getMessage()]
    assert record.exc_info is not None
    assert "calls callbacks as plain functions" in str(record.exc_info[1])
    assert server.snapshot("blocking") is not None
