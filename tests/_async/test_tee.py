"""tee(): the HTTP response gets every chunk, the stream completes whatever the response does."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any

import pytest

from streamstraight_server import (
    AsyncStreamstraight,
    ConfigurationError,
    ConnectError,
    ReaderDetachedError,
    StreamError,
    StreamstraightServerError,
)
from streamstraight_server._async.tee import AsyncTee
from streamstraight_server._shims._async import monotonic, sleep
from streamstraight_server.devserver import StreamSnapshot, ThreadedDevServer
from tests.support.helpers import snapshot, stored, unreachable


async def words(
    count: int, delay: float = 0.0, fail_after: int | None = None
) -> AsyncIterator[str]:
    for i in range(count):
        if fail_after is not None and i == fail_after:
            raise RuntimeError("the model went away")
        if delay:
            await sleep(delay)
        yield f"word {i}"


def expected(count: int) -> list[str]:
    return [f'"word {i}"' for i in range(count)]


async def ended(server: ThreadedDevServer, stream_id: str, timeout: float = 15.0) -> StreamSnapshot:
    """Wait for the stream to end while the background work goes on."""
    deadline = monotonic() + timeout
    while monotonic() < deadline:
        snap = server.snapshot(stream_id)
        if snap is not None and snap.ended:
            return snap
        await sleep(0.02)
    raise AssertionError(f"stream {stream_id!r} did not end within {timeout}s")


async def test_response_and_stream_both_get_every_chunk(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    tee = client.tee(words(30), stream_id="both")
    assert [chunk async for chunk in tee] == [f"word {i}" for i in range(30)]
    assert await tee.wait() == 30
    assert tee.done
    assert stored(server, "both") == expected(30)
    assert snapshot(server, "both").end_reason == "completed"


async def test_response_closed_early_leaves_the_stream_to_complete(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    tee = client.tee(words(40, delay=0.005), stream_id="closed-early")
    received = []
    async for chunk in tee:
        received.append(chunk)
        if len(received) == 5:
            break
    await tee.aclose()
    assert received == [f"word {i}" for i in range(5)]
    assert await tee.wait() == 40
    assert stored(server, "closed-early") == expected(40)
    assert snapshot(server, "closed-early").end_reason == "completed"
    assert [chunk async for chunk in tee] == []  # a closed response yields nothing more


async def test_abandoned_tee_and_client_are_not_collected_mid_flight(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    def start() -> weakref.ref[AsyncTee]:
        tee = AsyncStreamstraight(**options).tee(words(25, delay=0.01), stream_id="orphan")
        assert not tee.done
        return weakref.ref(tee)

    orphan = start()
    gc.collect()
    tee = orphan()
    assert tee is not None and not tee.done  # kept alive by its running work, not by us
    del tee
    snap = await ended(server, "orphan")
    assert snap.end_reason == "completed"
    assert stored(server, "orphan") == expected(25)
    deadline = monotonic() + 10
    while (tee := orphan()) is not None and not tee.done and monotonic() < deadline:
        del tee
        await sleep(0.02)


async def test_source_error_ends_the_stream_and_reaches_the_response(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    tee = client.tee(words(10, fail_after=4), stream_id="source-error")
    received = []
    with pytest.raises(RuntimeError, match="the model went away"):
        async for chunk in tee:
            received.append(chunk)
    assert received == [f"word {i}" for i in range(4)]
    with pytest.raises(RuntimeError, match="the model went away"):
        await tee.wait()
    snap = await ended(server, "source-error")
    assert snap.end_reason == "producer-error"
    assert snap.data == expected(4)


async def test_streamstraight_unreachable_the_response_still_gets_everything(
    options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="streamstraight_server")
    client = AsyncStreamstraight(**unreachable(options))
    tee = client.tee(words(20), stream_id="outage")
    assert [chunk async for chunk in tee] == [f"word {i}" for i in range(20)]
    with pytest.raises(ConnectError):
        await tee.wait()
    failures = [r for r in caplog.records if "streaming to Streamstraight failed" in r.message]
    assert len(failures) == 1
    assert options["api_key"] not in caplog.text


async def test_streamstraight_failing_mid_response_leaves_the_response_whole(
    server: ThreadedDevServer, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="streamstraight_server")
    server.faults.error_after_chunks = 5
    client = AsyncStreamstraight(**options)
    tee = client.tee(words(40, delay=0.005), stream_id="mid-outage")
    assert [chunk async for chunk in tee] == [f"word {i}" for i in range(40)]
    with pytest.raises(StreamError):
        await tee.wait()
    with pytest.raises(StreamError):
        await tee.wait()  # the outcome stays
    failures = [r for r in caplog.records if "streaming to Streamstraight failed" in r.message]
    assert len(failures) == 1
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == failures  # once
    snap = snapshot(server, "mid-outage")
    assert snap.end_reason == "producer-error" and len(snap.chunks) >= 5


@pytest.mark.parametrize("problem", ["wrong key", "ended stream"])
async def test_a_refused_stream_is_one_record_and_the_response_is_whole(
    server: ThreadedDevServer,
    options: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    problem: str,
) -> None:
    caplog.set_level(logging.INFO, logger="streamstraight_server")
    if problem == "ended stream":
        await AsyncStreamstraight(**options).stream(["earlier"], stream_id="refused-tee")
        caplog.clear()
        client = AsyncStreamstraight(**options)
    else:
        client = AsyncStreamstraight(**{**options, "api_key": "sk_not_this_servers"})
    tee = client.tee(words(5), stream_id="refused-tee")
    assert [chunk async for chunk in tee] == [f"word {i}" for i in range(5)]
    with pytest.raises(StreamstraightServerError):
        await tee.wait()
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("stream 'refused-tee': streaming to Streamstraight")
    advice = "Check STREAMSTRAIGHT_API_KEY" if problem == "wrong key" else "a new stream_id"
    assert advice in record.getMessage()
    assert "sk_not_this_servers" not in caplog.text
    if problem == "wrong key":
        assert server.snapshot("refused-tee") is None
    else:
        assert stored(server, "refused-tee") == ['"earlier"']


async def test_tee_takes_the_stream_id_as_stream_does(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, stream_id="the-clients")
    assert await client.tee(["a"]).wait() == 1  # the client's stream id
    assert await client.tee(["b"], "positional").wait() == 1
    assert await client.tee(["c"], stream_id="keyword").wait() == 1
    assert stored(server, "the-clients") == ['"a"']
    assert stored(server, "positional") == ['"b"']
    assert stored(server, "keyword") == ['"c"']


async def test_tee_without_a_stream_id_anywhere_fails_before_sending(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    with pytest.raises(ConfigurationError, match=r"pass stream_id=\.\.\. to tee\(\)"):
        client.tee(["a"])
    with pytest.raises(ConfigurationError, match="stream options need a stream"):
        client.tee(["a"], overwrite_existing_stream=True)
    assert server.stream_ids() == []


async def test_reader_that_falls_behind_is_detached_and_the_source_goes_on(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    tee = client.tee(words(60), stream_id="slow-reader", buffer=4)
    assert await tee.wait() == 60  # nobody read the response meanwhile
    with pytest.raises(ReaderDetachedError, match="4 chunks behind"):
        async for _ in tee:
            pass
    assert stored(server, "slow-reader") == expected(60)
    assert snapshot(server, "slow-reader").end_reason == "completed"


async def test_a_reader_within_its_buffer_gets_every_chunk(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    tee = client.tee(words(8), stream_id="small-buffer", buffer=8)
    assert await tee.wait() == 8
    assert [chunk async for chunk in tee] == [f"word {i}" for i in range(8)]


async def test_closing_the_client_waits_for_running_tees(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    first = client.tee(words(20, delay=0.01), stream_id="closing-1")
    second = client.tee(words(10, delay=0.02), stream_id="closing-2")
    await client.aclose()
    assert first.done and second.done
    assert stored(server, "closing-1") == expected(20)
    assert stored(server, "closing-2") == expected(10)
    assert snapshot(server, "closing-2").end_reason == "completed"


async def test_closing_the_client_gives_up_on_tees_after_its_timeout(
    server: ThreadedDevServer, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="streamstraight_server")
    client = AsyncStreamstraight(**options)
    tee = client.tee(words(60, delay=0.01), stream_id="too-slow")
    await client.aclose(tee_timeout=0.05)
    assert "1 tee stream(s) still running" in caplog.text
    assert [chunk async for chunk in tee] == [f"word {i}" for i in range(60)]  # fail-open
    with pytest.raises(StreamstraightServerError):
        await tee.wait()
    assert snapshot(server, "too-slow").end_reason != "completed"


async def test_bad_arguments_are_refused_before_anything_starts(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    with pytest.raises(TypeError, match="iterable"):
        client.tee(42, stream_id="bad")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="buffer"):
        client.tee(["a"], stream_id="bad", buffer=0)
    with pytest.raises(ConfigurationError, match="stream_id"):
        client.tee(["a"], stream_id="")
    with pytest.raises(ConfigurationError, match="no_such_option"):
        client.tee(["a"], stream_id="bad", no_such_option=1)
    assert server.stream_ids() == []
