"""The streaming process of the cross-process cancel tests: tees an endless answer to the
response (read here) and to Streamstraight, until another process cancels it.

    python -m tests.support.cancel_worker FLAVOUR PREFIX COUNT

with ``STREAMSTRAIGHT_API_KEY``, ``STREAMSTRAIGHT_API_BASE_URL`` and ``CANCEL_URL`` set. Writes
one JSON event a line: ``streaming`` once a stream's response has 3 chunks, ``done`` when its
tee finished (with when the source was closed, on the monotonic clock that every process of
the machine shares, the response's chunks and what ``on_complete`` got).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from streamstraight_server import AsyncStreamstraight, StreamResult, Streamstraight

#: the answer goes on for MAX_WORDS * DELAY seconds (10 s) unless it is stopped
DELAY = 0.02
MAX_WORDS = 500


def emit(**event: Any) -> None:
    print(json.dumps(event), flush=True)


class Words:
    def __init__(self) -> None:
        self.closed_at: float | None = None

    def plain(self) -> Iterator[str]:
        try:
            for i in range(MAX_WORDS):
                time.sleep(DELAY)
                yield f"w{i} "
        finally:
            self.closed_at = time.monotonic()

    async def asynchronous(self) -> AsyncIterator[str]:
        try:
            for i in range(MAX_WORDS):
                await asyncio.sleep(DELAY)
                yield f"w{i} "
        finally:
            self.closed_at = time.monotonic()


def done(stream_id: str, words: Words, response: list[Any], kept: list[StreamResult]) -> None:
    result = kept[0] if kept else None
    emit(
        event="done",
        stream=stream_id,
        closed_at=words.closed_at,
        response=response,
        kept=None
        if result is None
        else {
            "text": result.text,
            "chunks": len(result.chunks),
            "stopped": result.stopped,
            "delivered": result.delivered,
            "calls": len(kept),
        },
    )


def run_blocking(prefix: str, count: int, cancel_url: str) -> None:
    client = Streamstraight(cancel_url=cancel_url)
    for n in range(count):
        stream_id = f"{prefix}-{n}"
        words, kept, response = Words(), list[StreamResult](), list[Any]()
        tee = client.tee(words.plain(), stream_id=stream_id, on_complete=kept.append)
        for chunk in tee:
            response.append(chunk)
            if len(response) == 3:
                emit(event="streaming", stream=stream_id)
        tee.wait()
        done(stream_id, words, response, kept)
    client.close()


async def run_async(prefix: str, count: int, cancel_url: str) -> None:
    client = AsyncStreamstraight(cancel_url=cancel_url)
    for n in range(count):
        stream_id = f"{prefix}-{n}"
        words, kept, response = Words(), list[StreamResult](), list[Any]()
        tee = client.tee(words.asynchronous(), stream_id=stream_id, on_complete=kept.append)
        async for chunk in tee:
            response.append(chunk)
            if len(response) == 3:
                emit(event="streaming", stream=stream_id)
        await tee.wait()
        done(stream_id, words, response, kept)
    await client.aclose()


if __name__ == "__main__":
    flavour, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    url = os.environ["CANCEL_URL"]
    if flavour == "blocking":
        run_blocking(prefix, count, url)
    else:
        asyncio.run(run_async(prefix, count, url))
