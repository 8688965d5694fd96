"""The official SDK (``streamstraight-server==0.2.10``, asyncio only), run from its own venv.

It confirms nothing per chunk (it ignores ``producer:ack``); END's answer confirms the stream.
Its API has one stream per client, so the paced workloads make a client per stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import _drive_async
from _first_chunk import Marks, source_async
from _measure import MemoryWatch, Phases, Target, chunk_list, chunk_stream, now
from _paced import Plan

import streamstraight_server as package
from streamstraight_server import streamstraight_server


async def _connect(target: Target, stream_id: str) -> Any:
    return await streamstraight_server(
        {"api_key": target.key, "base_url": target.url}, {"stream_id": stream_id}
    )


async def single_async(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    chunks = chunk_list(count, size)
    phases = Phases()
    server = await _connect(target, stream_id)
    async with server.stream_writer() as writer:
        phases.mark_writable()
        await writer.send(chunks[0])
        phases.mark_first_send()
        for chunk in chunks[1:]:
            await writer.send(chunk)
    phases.mark_done()
    return phases.result(None)


async def connect_async(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    connects, first_sends = [], []
    for i in range(count + 1):
        start = now()
        server = await _connect(target, f"{stream_id}-c{i}")
        connects.append(now() - start)
        async with server.stream_writer():
            pass
        start = now()
        server = await _connect(target, f"{stream_id}-f{i}")
        async with server.stream_writer() as writer:
            await writer.send("x")
            first_sends.append(now() - start)
    return {"connects": connects[1:], "first_sends": first_sends[1:]}


async def rss_async(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    server = await _connect(target, stream_id)
    async with server.stream_writer() as writer:
        phases = Phases()
        memory = MemoryWatch(count)
        for i, chunk in enumerate(chunk_stream(count, size)):
            await writer.send(chunk)
            memory.observe(i, 0)
    phases.mark_done()
    return {**phases.result(None), **memory.result()}


@asynccontextmanager
async def _paced_stream(target: Target, stream_id: str) -> AsyncIterator[Any]:
    """A client of its own, connected, and its writer; leaving sends END and disconnects."""
    server = await _connect(target, stream_id)
    async with server.stream_writer() as writer:
        yield writer


async def llm_async(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return await _drive_async.llm(lambda sid: _paced_stream(target, sid), stream_id, Plan(**plan))


async def idle_async(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return await _drive_async.idle(lambda sid: _paced_stream(target, sid), stream_id, Plan(**plan))


async def _first_stream(
    target: Target, stream_id: str, delay: float, count: int, size: int
) -> Marks:
    """``t0`` before ``connect`` (its API connects before a writer can be had), then as an app
    writes: enter the writer, start the source, send."""
    marks = Marks()
    server = await _connect(target, stream_id)
    async with server.stream_writer() as writer:
        marks.mark_entered()
        async for chunk in source_async(marks, delay, count, size):
            await writer.send(chunk)
            marks.mark_sent()
    marks.mark_closed()
    return marks


async def first_chunk_async(
    target: Target, stream_id: str, delay_ms: float, count: int, size: int
) -> dict[str, Any]:
    """A warm-up stream, the measured one, then a bare handshake (``connect`` alone), each a
    client and a connection of its own through the proxy."""
    await _first_stream(target, f"{stream_id}-warm", 0.0, count, size)
    marks = await _first_stream(target, stream_id, delay_ms / 1e3, count, size)
    start = now()
    server = await _connect(target, f"{stream_id}-hs")
    handshake = now() - start
    async with server.stream_writer():
        pass
    return marks.result(handshake, package.__file__)
