"""The paced workloads on asyncio: a task per stream, all in one event loop, as an async web
server runs its requests. A contender gives an opener: a stream id in, an async context
manager out whose value has ``send(chunk)``, and whose exit ends the stream and waits for the
server's answer (as ``async with client.stream_writer(...)`` does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from _measure import chunk_list, chunk_text, now
from _paced import SAMPLE_EVERY, WIND_DOWN, LoadRun, Plan

#: the app's own threads in an asyncio process: its main thread, which runs the loop
APP_THREADS = 1


class AsyncSender(Protocol):
    async def send(self, chunk: str, /) -> object: ...


AsyncOpener = Callable[[str], AbstractAsyncContextManager[AsyncSender]]


async def until(moment: float) -> None:
    """Sleep until ``moment`` (a ``now()`` reading); yield to the loop even when late."""
    await asyncio.sleep(max(0.0, moment - now()))


async def bounded(close: Awaitable[object], timeout: float = WIND_DOWN) -> None:
    """Close something, giving up after ``timeout`` seconds (a result is already measured)."""
    try:
        await asyncio.wait_for(close, timeout)
    except Exception:
        pass


class _Ready:
    """Counts the streams that are open (or failed to open); set once every one is."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.all = asyncio.Event()
        if total == 0:
            self.all.set()

    def arrive(self) -> bool:
        self.left -= 1
        if self.left == 0:
            self.all.set()
        return True


async def _crowd(
    run: LoadRun,
    one: Callable[[int], Awaitable[None]],
    conductor: Coroutine[Any, Any, None] | None = None,
) -> None:
    """Run ``one(i)`` for every stream and sample threads until all are done or the
    deadline passes; then mark the run finished and cancel what is left."""

    async def guarded(i: int) -> None:
        try:
            await one(i)
        except Exception as exc:
            run.failed(i, exc)

    async def sample() -> None:
        while True:
            run.peaks.sample(APP_THREADS)
            await asyncio.sleep(SAMPLE_EVERY)

    helpers = [asyncio.create_task(sample())]
    if conductor is not None:
        helpers.append(asyncio.create_task(conductor))
    tasks = [asyncio.create_task(guarded(i)) for i in range(run.plan.streams)]
    pending: set[asyncio.Task[None]] = set()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, run.deadline - now()))
    run.finish()
    for task in (*pending, *helpers):
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=WIND_DOWN)


async def llm(opener: AsyncOpener, stream_id: str, plan: Plan) -> dict[str, Any]:
    """Streams of ``plan.count`` chunks at ``plan.rate`` chunks a second, opened on schedule."""
    chunks = chunk_list(plan.count, plan.size)
    run = LoadRun(plan)

    async def one(i: int) -> None:
        record = run.streams[i]
        await until(record.due)
        record.began = now()
        async with opener(f"{stream_id}-{i}") as writer:
            start = record.writable = now()
            for k, chunk in enumerate(chunks):
                await until(start + k * plan.interval)
                await writer.send(chunk)
            await until(start + plan.paced)
        record.done = now()

    await _crowd(run, one)
    return run.result(plan.paced)


async def idle(opener: AsyncOpener, stream_id: str, plan: Plan) -> dict[str, Any]:
    """Writers opened on schedule, silent for ``plan.idle`` seconds once all are open, then one
    chunk each and the end."""
    run = LoadRun(plan)
    ready = _Ready(plan.streams)
    go = asyncio.Event()

    async def one(i: int) -> None:
        record = run.streams[i]
        await until(record.due)
        record.began = now()
        arrived = False
        try:
            async with opener(f"{stream_id}-{i}") as writer:
                record.writable = now()
                arrived = ready.arrive()
                await go.wait()
                await writer.send(chunk_text(0, plan.size))
            record.done = now()
        finally:
            if not arrived:
                ready.arrive()

    async def conductor() -> None:
        try:
            await asyncio.wait_for(ready.all.wait(), max(0.0, run.deadline - now()))
        except asyncio.TimeoutError:
            pass
        run.begin_idle()
        end = now() + plan.idle
        while now() < end:
            run.idle_peaks.sample(APP_THREADS)
            await until(min(end, now() + SAMPLE_EVERY * 5))
        run.end_idle()
        go.set()

    await _crowd(run, one, conductor())
    return run.result(None)
