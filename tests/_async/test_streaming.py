"""Writing streams: seqs, confirmation, encoding, end, keep_open."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pydantic
import pytest

from streamstraight_server import AsyncStreamstraight, EncodeError, WriterClosedError
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import snapshot, stored


class Delta(pydantic.BaseModel):
    text: str
    index: int


@dataclasses.dataclass
class Point:
    x: int
    y: int


async def test_writer_sends_confirms_and_ends(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, stream_id="basic")
    async with client.stream_writer() as writer:
        seqs = [await writer.send({"delta": f"token {i}"}) for i in range(50)]
        await writer.flush()
        assert writer.confirmed == writer.sent == 50
    assert seqs == list(range(50))
    snap = snapshot(server, "basic")
    assert snap.ended and snap.end_reason == "completed"
    assert snap.data == [
        json.dumps({"delta": f"token {i}"}, separators=(",", ":")) for i in range(50)
    ]
    assert not client.connected


async def test_stream_takes_plain_and_generator_sources(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    async def generate() -> Any:
        for word in ["first", "second", "third"]:
            yield {"content": word}

    sent = await AsyncStreamstraight(**options, stream_id="gen").stream(generate())
    assert sent == 3
    plain = await AsyncStreamstraight(**options, stream_id="list").stream(["a", "b"])
    assert plain == 2
    assert stored(server, "gen") == [
        '{"content":"first"}',
        '{"content":"second"}',
        '{"content":"third"}',
    ]
    assert stored(server, "list") == ['"a"', '"b"']


async def test_stream_refuses_a_non_iterable_before_connecting(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    with pytest.raises(TypeError, match="iterable"):
        await AsyncStreamstraight(**options, stream_id="bad").stream(42)  # type: ignore[arg-type]
    assert server.snapshot("bad") is None


async def test_default_encoder_handles_models_dataclasses_and_unicode(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    async with AsyncStreamstraight(**options, stream_id="enc").stream_writer() as writer:
        await writer.send("hello")
        await writer.send(Delta(text="hi", index=1))
        await writer.send(Point(1, 2))
        await writer.send({"text": "héllo ✓"})
        await writer.send([1, 2.5, None, True])
    assert stored(server, "enc") == [
        '"hello"',
        '{"text":"hi","index":1}',
        '{"x":1,"y":2}',
        '{"text":"héllo ✓"}',
        "[1,2.5,null,true]",
    ]


async def test_unencodable_chunk_raises_before_sending_and_writer_stays_usable(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    async with AsyncStreamstraight(**options, stream_id="unenc").stream_writer() as writer:
        await writer.send("before")
        with pytest.raises(EncodeError, match="cannot encode chunk of type object"):
            await writer.send(object())
        with pytest.raises(EncodeError):
            await writer.send({"nan": float("nan")})
        assert writer.sent == 1
        assert await writer.send("after") == 1
    assert stored(server, "unenc") == ['"before"', '"after"']


async def test_custom_encoder_empty_string_skips_and_non_str_is_refused(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    def encoder(chunk: Any) -> Any:
        if chunk == "bytes":
            return b"raw"
        return str(chunk).upper() if chunk else ""

    client = AsyncStreamstraight(**options, stream_id="custom", encoder=encoder)
    async with client.stream_writer() as writer:
        assert await writer.send("a") == 0
        assert await writer.send("") is None
        with pytest.raises(EncodeError, match="must return str"):
            await writer.send("bytes")
        assert await writer.send("b") == 1
    assert stored(server, "custom") == ["A", "B"]


async def test_keep_open_stays_connected_until_disconnect(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, stream_id="kept", keep_open=True)
    async with client.stream_writer() as writer:
        await writer.send(1)
    assert client.connected
    with pytest.raises(WriterClosedError, match="has ended"):
        async with client.stream_writer() as again:
            await again.send(2)
    await client.disconnect()
    assert not client.connected
    assert stored(server, "kept") == ["1"]


async def test_writer_after_close_is_refused(options: dict[str, Any]) -> None:
    writer = AsyncStreamstraight(**options, stream_id="closed").stream_writer()
    async with writer:
        await writer.send(1)
    with pytest.raises(WriterClosedError):
        await writer.send(2)


async def test_exception_inside_writer_ends_with_producer_error(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, stream_id="boom")
    with pytest.raises(RuntimeError, match="model failed"):
        async with client.stream_writer() as writer:
            await writer.send("partial")
            raise RuntimeError("model failed")
    snap = server.wait_for_end("boom", timeout=5)
    assert snap.end_reason == "producer-error"
    assert snap.data == ['"partial"']
    assert not client.connected


async def test_client_context_manager_disconnects(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    async with AsyncStreamstraight(**options, stream_id="ctx", keep_open=True) as client:
        await client.connect()
        assert client.connected
        async with client.stream_writer() as writer:
            await writer.send("x")
    assert not client.connected


async def test_overwrite_existing_stream_replaces_it(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    await AsyncStreamstraight(**options, stream_id="over").stream(["old", "old"])
    await AsyncStreamstraight(**options, stream_id="over", overwrite_existing_stream=True).stream(
        ["new"]
    )
    assert stored(server, "over") == ['"new"']


async def test_window_bounds_unconfirmed_chunks(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.ack_delay = 0.01
    client = AsyncStreamstraight(**options, stream_id="window", max_in_flight_chunks=3)
    async with client.stream_writer() as writer:
        for i in range(15):
            await writer.send(i)
            assert writer.sent - writer.confirmed <= 3
    assert stored(server, "window") == [str(i) for i in range(15)]


async def test_idle_writer_sends_heartbeats(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    from streamstraight_server._shims._async import sleep

    client = AsyncStreamstraight(**options, stream_id="beat", heartbeat_interval=0.1)
    async with client.stream_writer() as writer:
        await writer.send("x")
        await sleep(0.5)
    assert snapshot(server, "beat").heartbeats >= 2


async def test_continues_a_stream_left_without_end(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    first = AsyncStreamstraight(**options, stream_id="cont")
    writer = first.stream_writer()  # no context manager: nothing sends END, as in a crash
    for i in range(3):
        await writer.send(i)
    await writer.flush()
    await first.disconnect()
    second = AsyncStreamstraight(**options, stream_id="cont")
    async with second.stream_writer() as again:
        assert await again.send(3) == 3
    snap = snapshot(server, "cont")
    assert snap.data == ["0", "1", "2", "3"] and snap.end_reason == "completed"


async def test_send_does_not_wait_for_the_server(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.ack_delay = 1.0
    async with AsyncStreamstraight(**options, stream_id="nowait").stream_writer() as writer:
        for i in range(50):
            await writer.send(i)
        assert writer.sent == 50 and writer.confirmed == 0  # every send returned before any ack
        await writer.flush()
        assert writer.confirmed == 50
