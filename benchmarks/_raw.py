"""Raw python-socketio clients doing the SDK's emit-and-ack work and nothing more.

Each chunk is JSON-encoded and emitted with the next seq; at most ``WINDOW`` chunks are left
unconfirmed (the SDK's default window); the run ends once every chunk is acknowledged and END
is answered through its callback (an extra ack for END, as older servers send, is not counted).
No resume, no checks of the acks' seqs. In the paced workloads each stream has a client of
its own (python-socketio's clients hold one connection each).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import _drive_async
import _drive_blocking
import socketio
from _measure import Phases, Target, chunk_list, encode, handshake, now
from _paced import Plan

WINDOW = 4096


class _AsyncProducer:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.info = asyncio.Event()
        self.acked = asyncio.Event()
        self.confirmed = 0
        self.chunks_confirmed = 0
        self.waiting = False
        self.sio.on("stream:info", self._on_info)
        self.sio.on("producer:ack", self._on_ack)

    def _on_info(self, data: Any) -> None:
        self.info.set()

    def _on_ack(self, data: Any) -> None:
        self.confirmed += 1
        if self.waiting:
            self.acked.set()

    async def open(self, target: Target, stream_id: str) -> None:
        await self.sio.connect(**handshake(target, stream_id))
        await self.info.wait()

    async def wait_confirmed(self, upto: int) -> None:
        while self.confirmed < upto:
            self.waiting = True
            self.acked.clear()
            await self.acked.wait()
        self.waiting = False

    async def send(self, seq: int, chunk: str) -> None:
        if seq - self.confirmed >= WINDOW:
            await self.wait_confirmed(seq - WINDOW + 1)
        await self.sio.emit("producer:chunk", {"seq": seq, "data": encode(chunk)})

    async def end(self, sent: int) -> None:
        await self.wait_confirmed(sent)
        self.chunks_confirmed = self.confirmed
        answer = await self.sio.call(
            "producer:end", {"reason": "completed", "lastSeq": max(0, sent - 1)}, timeout=10
        )
        if not answer or not answer.get("success"):
            raise RuntimeError(f"END refused: {answer!r}")
        await self.sio.disconnect()


class _BlockingProducer:
    def __init__(self) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.info = threading.Event()
        self.acked = threading.Condition()
        self.confirmed = 0
        self.chunks_confirmed = 0
        self.waiting = False
        self.sio.on("stream:info", self._on_info)
        self.sio.on("producer:ack", self._on_ack)

    def _on_info(self, data: Any) -> None:
        self.info.set()

    def _on_ack(self, data: Any) -> None:
        with self.acked:
            self.confirmed += 1
            if self.waiting:
                self.acked.notify()

    def open(self, target: Target, stream_id: str) -> None:
        self.sio.connect(**handshake(target, stream_id))
        if not self.info.wait(10):
            raise TimeoutError("no stream:info")

    def wait_confirmed(self, upto: int) -> None:
        with self.acked:
            while self.confirmed < upto:
                self.waiting = True
                self.acked.wait()
            self.waiting = False

    def send(self, seq: int, chunk: str) -> None:
        if seq - self.confirmed >= WINDOW:
            self.wait_confirmed(seq - WINDOW + 1)
        self.sio.emit("producer:chunk", {"seq": seq, "data": encode(chunk)})

    def end(self, sent: int) -> None:
        self.wait_confirmed(sent)
        self.chunks_confirmed = self.confirmed
        answer = self.sio.call(
            "producer:end", {"reason": "completed", "lastSeq": max(0, sent - 1)}, timeout=10
        )
        if not answer or not answer.get("success"):
            raise RuntimeError(f"END refused: {answer!r}")
        self.sio.disconnect()


async def single_async(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    chunks = chunk_list(count, size)
    phases = Phases()
    producer = _AsyncProducer()
    await producer.open(target, stream_id)
    phases.mark_writable()
    for seq, chunk in enumerate(chunks):
        await producer.send(seq, chunk)
        if seq == 0:
            phases.mark_first_send()
    await producer.end(count)
    phases.mark_done()
    return phases.result(producer.chunks_confirmed)


def single_blocking(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    chunks = chunk_list(count, size)
    phases = Phases()
    producer = _BlockingProducer()
    producer.open(target, stream_id)
    phases.mark_writable()
    for seq, chunk in enumerate(chunks):
        producer.send(seq, chunk)
        if seq == 0:
            phases.mark_first_send()
    producer.end(count)
    phases.mark_done()
    return phases.result(producer.chunks_confirmed)


async def connect_async(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    connects, first_sends = [], []
    for i in range(count + 1):
        producer = _AsyncProducer()
        start = now()
        await producer.open(target, f"{stream_id}-c{i}")
        connects.append(now() - start)
        await producer.end(0)
        producer = _AsyncProducer()
        start = now()
        await producer.open(target, f"{stream_id}-f{i}")
        await producer.send(0, "x")
        first_sends.append(now() - start)
        await producer.end(1)
    return {"connects": connects[1:], "first_sends": first_sends[1:]}


def connect_blocking(target: Target, stream_id: str, count: int, size: int) -> dict[str, Any]:
    connects, first_sends = [], []
    for i in range(count + 1):
        producer = _BlockingProducer()
        start = now()
        producer.open(target, f"{stream_id}-c{i}")
        connects.append(now() - start)
        producer.end(0)
        producer = _BlockingProducer()
        start = now()
        producer.open(target, f"{stream_id}-f{i}")
        producer.send(0, "x")
        first_sends.append(now() - start)
        producer.end(1)
    return {"connects": connects[1:], "first_sends": first_sends[1:]}


class _AsyncSender:
    """``send(chunk)`` with the next seq, for the paced workloads."""

    def __init__(self, producer: _AsyncProducer) -> None:
        self.producer = producer
        self.sent = 0

    async def send(self, chunk: str) -> None:
        await self.producer.send(self.sent, chunk)
        self.sent += 1


class _BlockingSender:
    def __init__(self, producer: _BlockingProducer) -> None:
        self.producer = producer
        self.sent = 0

    def send(self, chunk: str) -> None:
        self.producer.send(self.sent, chunk)
        self.sent += 1


@asynccontextmanager
async def _async_stream(target: Target, stream_id: str) -> AsyncIterator[_AsyncSender]:
    """Open, yield a sender; on leaving, wait for every ack, END, disconnect."""
    producer = _AsyncProducer()
    try:
        await producer.open(target, stream_id)
        sender = _AsyncSender(producer)
        yield sender
        await producer.end(sender.sent)
    finally:
        if producer.sio.connected:
            await producer.sio.disconnect()


@contextmanager
def _blocking_stream(target: Target, stream_id: str) -> Iterator[_BlockingSender]:
    producer = _BlockingProducer()
    try:
        producer.open(target, stream_id)
        sender = _BlockingSender(producer)
        yield sender
        producer.end(sender.sent)
    finally:
        if producer.sio.connected:
            producer.sio.disconnect()


async def llm_async(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return await _drive_async.llm(lambda sid: _async_stream(target, sid), stream_id, Plan(**plan))


def llm_blocking(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return _drive_blocking.llm(lambda sid: _blocking_stream(target, sid), stream_id, Plan(**plan))


async def idle_async(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return await _drive_async.idle(lambda sid: _async_stream(target, sid), stream_id, Plan(**plan))


def idle_blocking(target: Target, stream_id: str, **plan: Any) -> dict[str, Any]:
    return _drive_blocking.idle(lambda sid: _blocking_stream(target, sid), stream_id, Plan(**plan))
