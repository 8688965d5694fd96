"""This SDK as a contender, asyncio and blocking flavours.

Single-stream workloads run on whichever API the checkout has: the shared client
(``stream_writer(stream_id=...)``) when present, else a client per stream. The concurrent and
paced workloads need the shared client and fail with a ``TypeError`` without it; the paced ones
(``llm``, ``idle``) use one client for every stream, as an application does.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import _drive_async
import _drive_blocking
from _first_chunk import Marks, source_async, source_blocking
from _measure import MemoryWatch, Phases, Target, chunk_list, chunk_stream, cpu, now
from _paced import Plan

import streamstraight_server
from streamstraight_server import AsyncStreamstraight, Streamstraight

SHARED_CLIENT = "stream_id" in inspect.signature(AsyncStreamstraight.stream_writer).parameters


def _require_shared_client() -> None:
    if not SHARED_CLIENT:
        raise TypeError("no shared client in this checkout: stream_writer() takes no stream_id")


def _async_client(target: Target, stream_id: str) -> Any:
    if SHARED_CLIENT:
        return AsyncStreamstraight(api_key=target.key, base_url=target.url)
    return AsyncStreamstraight(api_key=target.key, base_url=target.url, stream_id=stream_id)


def _blocking_client(target: Target, stream_id: str) -> Any:
    if SHARED_CLIENT:
        return Streamstraight(api_key=target.key, base_url=target.url)
    return Streamstraight(api_key=target.key, base_url=target.url, stream_id=stream_id)


def _writer(client: Any, stream_id: str) -> Any:
    return client.stream_writer(stream_id=stream_id) if SHARED_CLIENT else client.stream_writer()


async def _aclose(client: Any) -> None:
    await (client.aclose() if hasattr(client, "aclose") else client.disconnect())


def _close(client: Any) -> None:
    client.close() if hasattr(client, "close") else client.disconnect()


# Entering a writer returns before the handshake (since 125d923), and flush() with nothing sent
# returns once the connection is open and stream:info read: "writable" means that here, for
# every version alike, so connect and chunks/s measure the same things as before.
async def _open_async(writer: Any) -> None:
    await writer.flush()


def _open_blocking(writer: Any) -> None:
    writer.flush()


async def single_async(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    chunks = chunk_list(count, size)
    phases = Phases()
    client = _async_client(target, stream_id)
    async with _writer(client, stream_id) as writer:
        await _open_async(writer)
        phases.mark_writable()
        await writer.send(chunks[0])
        phases.mark_first_send()
        for chunk in chunks[1:]:
            await writer.send(chunk)
    phases.mark_done()
    await _aclose(client)
    return phases.result(writer.confirmed)


def single_blocking(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    chunks = chunk_list(count, size)
    phases = Phases()
    client = _blocking_client(target, stream_id)
    with _writer(client, stream_id) as writer:
        _open_blocking(writer)
        phases.mark_writable()
        writer.send(chunks[0])
        phases.mark_first_send()
        for chunk in chunks[1:]:
            writer.send(chunk)
    phases.mark_done()
    _close(client)
    return phases.result(writer.confirmed)


async def connect_async(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    """``count`` (+1 warm-up) times each: a stream made writable; a stream's first send."""
    connects, connect_cpus, first_sends = [], [], []
    for i in range(count + 1):
        client = _async_client(target, f"{stream_id}-c{i}")
        start, start_cpu = now(), cpu()
        async with _writer(client, f"{stream_id}-c{i}") as writer:
            await _open_async(writer)
            connects.append(now() - start)
            connect_cpus.append(cpu() - start_cpu)
        await _aclose(client)
        client = _async_client(target, f"{stream_id}-f{i}")
        start = now()
        async with _writer(client, f"{stream_id}-f{i}") as writer:
            await writer.send("x")
            first_sends.append(now() - start)
        await _aclose(client)
    return {
        "connects": connects[1:],
        "connect_cpus": connect_cpus[1:],
        "first_sends": first_sends[1:],
    }


def connect_blocking(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    connects, connect_cpus, first_sends = [], [], []
    for i in range(count + 1):
        client = _blocking_client(target, f"{stream_id}-c{i}")
        start, start_cpu = now(), cpu()
        with _writer(client, f"{stream_id}-c{i}") as writer:
            _open_blocking(writer)
            connects.append(now() - start)
            connect_cpus.append(cpu() - start_cpu)
        _close(client)
        client = _blocking_client(target, f"{stream_id}-f{i}")
        start = now()
        with _writer(client, f"{stream_id}-f{i}") as writer:
            writer.send("x")
            first_sends.append(now() - start)
        _close(client)
    return {
        "connects": connects[1:],
        "connect_cpus": connect_cpus[1:],
        "first_sends": first_sends[1:],
    }


async def concurrent_async(
    target: Target, stream_id: str, streams: int, count: int, size: int, threads: int
) -> dict[str, Any]:
    """``streams`` streams of ``count`` chunks at once on one client, in one event loop."""
    _require_shared_client()
    chunks = chunk_list(count, size)
    client = AsyncStreamstraight(api_key=target.key, base_url=target.url)

    async def one(i: int) -> None:
        async with _writer(client, f"{stream_id}-{i}") as writer:
            for chunk in chunks:
                await writer.send(chunk)

    phases = Phases()
    phases.mark_writable()
    outcomes = await asyncio.gather(*(one(i) for i in range(streams)), return_exceptions=True)
    phases.mark_done()
    await _aclose(client)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    return {**phases.result(None), **_failures(errors)}


def concurrent_blocking(
    target: Target, stream_id: str, streams: int, count: int, size: int, threads: int
) -> dict[str, Any]:
    """``streams`` streams of ``count`` chunks over ``threads`` threads sharing one client."""
    _require_shared_client()
    chunks = chunk_list(count, size)
    client = Streamstraight(api_key=target.key, base_url=target.url)
    errors: list[BaseException] = []

    def worker(first: int) -> None:
        for i in range(first, streams, threads):
            try:
                with _writer(client, f"{stream_id}-{i}") as writer:
                    for chunk in chunks:
                        writer.send(chunk)
            except Exception as exc:
                errors.append(exc)

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    phases = Phases()
    phases.mark_writable()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    phases.mark_done()
    _close(client)
    return {**phases.result(None), **_failures(errors)}


def _failures(errors: list[BaseException]) -> dict[str, Any]:
    first = f"{type(errors[0]).__name__}: {errors[0]}"[:200] if errors else None
    return {"failures": len(errors), "first_error": first}


async def rss_async(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    """A long stream to a sink that acks late: memory must stay bounded by the window."""
    client = _async_client(target, stream_id)
    async with _writer(client, stream_id) as writer:
        phases = Phases()
        memory = MemoryWatch(count)
        for i, chunk in enumerate(chunk_stream(count, size)):
            await writer.send(chunk)
            memory.observe(i, writer.sent - writer.confirmed)
    phases.mark_done()
    await _aclose(client)
    return {**phases.result(writer.confirmed), **memory.result()}


def rss_blocking(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    client = _blocking_client(target, stream_id)
    with _writer(client, stream_id) as writer:
        phases = Phases()
        memory = MemoryWatch(count)
        for i, chunk in enumerate(chunk_stream(count, size)):
            writer.send(chunk)
            memory.observe(i, writer.sent - writer.confirmed)
    phases.mark_done()
    _close(client)
    return {**phases.result(writer.confirmed), **memory.result()}


async def _paced_async(
    drive: Callable[[_drive_async.AsyncOpener, str, Plan], Awaitable[dict[str, Any]]],
    target: Target,
    stream_id: str,
    plan: dict[str, Any],
) -> dict[str, Any]:
    """A paced workload's streams, a task each, on one shared async client."""
    _require_shared_client()
    client = AsyncStreamstraight(api_key=target.key, base_url=target.url)
    try:
        return await drive(lambda sid: client.stream_writer(stream_id=sid), stream_id, Plan(**plan))
    finally:
        await _drive_async.bounded(client.aclose())


def _paced_blocking(
    drive: Callable[[_drive_blocking.Opener, str, Plan], dict[str, Any]],
    target: Target,
    stream_id: str,
    plan: dict[str, Any],
) -> dict[str, Any]:
    """A paced workload's streams, a thread each, on one shared blocking client."""
    _require_shared_client()
    client = Streamstraight(api_key=target.key, base_url=target.url)
    try:
        return drive(lambda sid: client.stream_writer(stream_id=sid), stream_id, Plan(**plan))
    finally:
        _drive_blocking.bounded(client.close)


async def llm_async(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return await _paced_async(_drive_async.llm, target, stream_id, plan)


def llm_blocking(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return _paced_blocking(_drive_blocking.llm, target, stream_id, plan)


async def idle_async(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return await _paced_async(_drive_async.idle, target, stream_id, plan)


def idle_blocking(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return _paced_blocking(_drive_blocking.idle, target, stream_id, plan)


# first chunk ----------------------------------------------------------------------------------


async def _first_stream_async(
    client: Any, stream_id: str, delay: float, count: int, size: int
) -> Marks:
    """One stream as an app writes it: enter the writer, then start the source and send."""
    marks = Marks()
    async with client.stream_writer(stream_id=stream_id) as writer:
        marks.mark_entered()
        async for chunk in source_async(marks, delay, count, size):
            await writer.send(chunk)
            marks.mark_sent()
    marks.mark_closed()
    return marks


def _first_stream_blocking(
    client: Any, stream_id: str, delay: float, count: int, size: int
) -> Marks:
    marks = Marks()
    with client.stream_writer(stream_id=stream_id) as writer:
        marks.mark_entered()
        for chunk in source_blocking(marks, delay, count, size):
            writer.send(chunk)
            marks.mark_sent()
    marks.mark_closed()
    return marks


async def _handshake_async(client: Any, stream_id: str) -> float:
    """A bare handshake: from entering a writer until ``flush()`` returns with nothing sent,
    which is once the connection is open and the server said where the stream stands (before
    the background connect, entering alone waited for that)."""
    start = now()
    async with client.stream_writer(stream_id=stream_id) as writer:
        await writer.flush()
        took = now() - start
    return took


def _handshake_blocking(client: Any, stream_id: str) -> float:
    start = now()
    with client.stream_writer(stream_id=stream_id) as writer:
        writer.flush()
        took = now() - start
    return took


async def first_chunk_async(
    target: Target, stream_id: str, delay_ms: float, count: int, size: int
) -> dict[str, Any]:
    """A warm-up stream, the measured one, then a bare handshake: each a fresh connection
    through the proxy, on one client (as an app has)."""
    _require_shared_client()
    client = AsyncStreamstraight(api_key=target.key, base_url=target.url)
    try:
        await _first_stream_async(client, f"{stream_id}-warm", 0.0, count, size)
        marks = await _first_stream_async(client, stream_id, delay_ms / 1e3, count, size)
        handshake = await _handshake_async(client, f"{stream_id}-hs")
    finally:
        await _aclose(client)
    return marks.result(handshake, streamstraight_server.__file__)


def first_chunk_blocking(
    target: Target, stream_id: str, delay_ms: float, count: int, size: int
) -> dict[str, Any]:
    _require_shared_client()
    client = Streamstraight(api_key=target.key, base_url=target.url)
    try:
        _first_stream_blocking(client, f"{stream_id}-warm", 0.0, count, size)
        marks = _first_stream_blocking(client, stream_id, delay_ms / 1e3, count, size)
        handshake = _handshake_blocking(client, f"{stream_id}-hs")
    finally:
        _close(client)
    return marks.result(handshake, streamstraight_server.__file__)
