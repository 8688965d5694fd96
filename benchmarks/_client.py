"""One measured producer run: ``_client.py FLAVOUR BASE_URL API_KEY STREAM_ID CHUNKS SIZE``.

Prints a JSON line with the wall and CPU seconds of two phases, ``connect`` (import, client,
handshake) and ``stream`` (every send, then END answered), and the chunks confirmed.
FLAVOUR is ``async``, ``sync`` or ``official`` (the official SDK, run from its own venv).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


def payloads(count: int, size: int) -> list[dict[str, Any]]:
    return [{"i": i, "delta": "x" * size} for i in range(count)]


class Clock:
    def __init__(self) -> None:
        self.marks = [(time.perf_counter(), time.process_time())]

    def mark(self) -> None:
        self.marks.append((time.perf_counter(), time.process_time()))

    def phases(self) -> dict[str, float]:
        (w0, c0), (w1, c1), (w2, c2) = self.marks
        return {"connect_wall": w1 - w0, "connect_cpu": c1 - c0, "wall": w2 - w1, "cpu": c2 - c1}


def run_sync(clock: Clock, url: str, key: str, stream_id: str, chunks: list[dict[str, Any]]) -> int:
    from streamstraight_server import Streamstraight

    client = Streamstraight(api_key=key, base_url=url, stream_id=stream_id)
    client.connect()
    clock.mark()
    with client.stream_writer() as writer:
        for chunk in chunks:
            writer.send(chunk)
    return writer.confirmed


async def run_async(
    clock: Clock, url: str, key: str, stream_id: str, chunks: list[dict[str, Any]]
) -> int:
    from streamstraight_server import AsyncStreamstraight

    client = AsyncStreamstraight(api_key=key, base_url=url, stream_id=stream_id)
    await client.connect()
    clock.mark()
    async with client.stream_writer() as writer:
        for chunk in chunks:
            await writer.send(chunk)
    return writer.confirmed


async def run_official(
    clock: Clock, url: str, key: str, stream_id: str, chunks: list[dict[str, Any]]
) -> int:
    from streamstraight_server import streamstraight_server

    server = await streamstraight_server(
        {"api_key": key, "base_url": url}, {"stream_id": stream_id}
    )
    clock.mark()
    async with server.stream_writer() as writer:
        for chunk in chunks:
            await writer.send(chunk)
    return 0  # the official SDK confirms nothing per chunk


def main() -> None:
    # the clock starts before the SDK is imported: imports count as connect time
    flavour, url, key, stream_id, count, size = sys.argv[1:7]
    chunks = payloads(int(count), int(size))
    clock = Clock()
    if flavour == "sync":
        confirmed = run_sync(clock, url, key, stream_id, chunks)
    elif flavour == "async":
        confirmed = asyncio.run(run_async(clock, url, key, stream_id, chunks))
    else:
        confirmed = asyncio.run(run_official(clock, url, key, stream_id, chunks))
    clock.mark()
    print(json.dumps({**clock.phases(), "confirmed": confirmed}))


if __name__ == "__main__":
    main()
