"""on_complete: the whole answer, once, whatever happened to the browser or to Streamstraight."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from streamstraight_server import (
    AsyncStreamstraight,
    ConfigurationError,
    ConnectError,
    StreamError,
    StreamResult,
)
from streamstraight_server._shims._async import sleep
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import snapshot, stored, unreachable


async def answer(
    count: int, delay: float = 0.0, fail_after: int | None = None
) -> AsyncIterator[str]:
    for i in range(count):
        if fail_after is not None and i == fail_after:
            raise RuntimeError("the model went away")
        if delay:
            await sleep(delay)
        yield f"t{i} "


def text(count: int) -> str:
    return "".join(f"t{i} " for i in range(count))


class Kept:
    def __init__(self) -> None:
        self.results: list[StreamResult] = []

    def __call__(self, result: StreamResult) -> None:
        self.results.append(result)

    @property
    def one(self) -> StreamResult:
        assert len(self.results) == 1, f"on_complete was called {len(self.results)} times"
        return self.results[0]


async def test_tee_keeps_the_whole_answer_after_the_browser_left(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    kept = Kept()
    client = AsyncStreamstraight(**options)
    tee = client.tee(answer(40, delay=0.002), stream_id="left", on_complete=kept)
    async for _ in tee:
        break  # the browser went away after one chunk
    await tee.aclose()
    assert await tee.wait() == 40
    result = kept.one
    assert result.text == text(40) and len(result.chunks) == 40
    assert result.delivered and not result.stopped and result.error is None
    assert result.stream_id == "left" and result.stats is not None
    assert result.stats.chunks_sent == 40 and result.stats.outcome == "delivered"


async def test_tee_keeps_the_answer_up_to_a_stop(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    kept = Kept()
    client = AsyncStreamstraight(**options)
    tee = client.tee(answer(1000, delay=0.005), stream_id="kept-stop", on_complete=kept)
    response = []
    async for chunk in tee:
        response.append(chunk)
        if len(response) == 5:
            tee.cancel({"stopped": True})
    await tee.wait()
    result = kept.one
    assert result.stopped and result.delivered
    assert result.chunks == response[:-1]  # what the readers got, less the stop's chunk
    assert stored(server, "kept-stop")[:-1] == [f'"{c}"' for c in result.chunks]


async def test_tee_keeps_the_whole_answer_when_streamstraight_is_unreachable(
    options: dict[str, Any],
) -> None:
    kept = Kept()
    client = AsyncStreamstraight(**unreachable(options))
    tee = client.tee(answer(20), stream_id="outage", on_complete=kept)
    assert "".join([chunk async for chunk in tee]) == text(20)
    with pytest.raises(ConnectError):
        await tee.wait()
    result = kept.one
    assert result.text == text(20) and not result.delivered and not result.stopped
    assert isinstance(result.error, ConnectError)


async def test_stream_reads_the_source_to_its_end_when_streamstraight_is_unreachable(
    options: dict[str, Any],
) -> None:
    kept = Kept()
    client = AsyncStreamstraight(**unreachable(options))
    with pytest.raises(ConnectError):
        await client.stream(answer(25), stream_id="outage", on_complete=kept)
    result = kept.one
    assert result.text == text(25) and not result.delivered
    assert isinstance(result.error, ConnectError)


async def test_stream_keeps_the_answer_when_streamstraight_fails_midway(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.error_after_chunks = 5
    kept = Kept()
    client = AsyncStreamstraight(**options)
    with pytest.raises(StreamError):
        await client.stream(answer(30, delay=0.002), stream_id="midway", on_complete=kept)
    result = kept.one
    assert result.text == text(30) and not result.delivered
    assert isinstance(result.error, StreamError)


async def test_stream_keeps_the_answer_and_the_source_error(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    kept = Kept()
    client = AsyncStreamstraight(**options)
    with pytest.raises(RuntimeError, match="went away"):
        await client.stream(answer(10, fail_after=4), stream_id="src-error", on_complete=kept)
    result = kept.one
    assert result.text == text(4) and isinstance(result.source_error, RuntimeError)
    assert result.delivered  # the stream ended, with producer-error, and that was confirmed
    assert snapshot(server, "src-error").end_reason == "producer-error"


async def test_on_complete_raising_is_logged_and_changes_nothing(
    server: ThreadedDevServer, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="streamstraight_server")

    def broken(result: StreamResult) -> None:
        raise ValueError("the database is down")

    client = AsyncStreamstraight(**options)
    assert await client.stream(answer(3), stream_id="broken", on_complete=broken) == 3
    tee = client.tee(answer(3), stream_id="broken-tee", on_complete=broken)
    assert await tee.wait() == 3
    records = [r for r in caplog.records if "on_complete raised" in r.getMessage()]
    assert len(records) == 2
    assert all(r.exc_info and "the database is down" in str(r.exc_info[1]) for r in records)
    assert snapshot(server, "broken").end_reason == "completed"
    assert snapshot(server, "broken-tee").end_reason == "completed"


async def test_chunks_that_are_not_text_have_no_joined_text(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    kept = Kept()
    client = AsyncStreamstraight(**options)
    chunks = [{"delta": "a"}, {"delta": "b"}]
    assert await client.stream(chunks, stream_id="objects", on_complete=kept) == 2
    assert kept.one.chunks == chunks and kept.one.text is None
    empty = Kept()
    await client.stream([], stream_id="empty", on_complete=empty)
    assert empty.one.chunks == [] and empty.one.text == ""


async def test_on_complete_must_be_callable(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    with pytest.raises(ConfigurationError, match="on_complete"):
        await client.stream(["a"], stream_id="x", on_complete="save")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="on_complete"):
        client.tee(["a"], stream_id="x", on_complete=42)  # type: ignore[arg-type]
    assert server.stream_ids() == []
