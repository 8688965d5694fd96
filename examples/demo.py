"""Streamstraight in one page: a producer in both flavours and a browser-like consumer.

Run it with ``make demo`` (or ``.venv/bin/python examples/demo.py``). It starts a local
Streamstraight-compatible server in a background thread, unless both ``STREAMSTRAIGHT_API_BASE_URL``
and ``STREAMSTRAIGHT_API_KEY`` are set, in which case it talks to that server instead.

1. The blocking client streams a fake LLM answer token by token (a web app in Flask or Django).
2. The async client streams another (FastAPI, aiohttp) while a consumer reads it live, the way a
   browser tab does with a client token its backend fetched.
3. The first answer is read back from its first chunk, as a tab opened after the fact (or
   reloaded) would.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass

from streamstraight_server import (
    AsyncStreamstraight,
    Streamstraight,
    StreamstraightServerError,
    fetch_client_token_sync,
)
from streamstraight_server.devserver import ThreadedDevServer
from streamstraight_server.devserver.consumer import iter_stream, read_stream

QUESTION_1 = "What makes a stream resumable?"
ANSWER_1 = (
    "Every chunk gets a sequence number and is stored before anyone reads it, so a reader that "
    "reconnects simply asks again from the start and sees each token exactly once, in order."
)
QUESTION_2 = "And why confirm every chunk?"
ANSWER_2 = (
    "Because a producer that knows what the server holds can resume after a network drop "
    "without losing or repeating a single token, and can say exactly what was delivered if not."
)
TOKEN_DELAY = 0.012  # seconds between tokens: roughly what a fast model produces


def tokens(text: str) -> list[str]:
    """Split like a tokenizer would, roughly: words with their leading space."""
    words = text.split(" ")
    return [words[0]] + [" " + word for word in words[1:]]


@dataclass
class Timing:
    chunks: int = 0
    produce_s: float = 0.0
    first_chunk_s: float | None = None
    read_s: float = 0.0


def say(text: str = "") -> None:
    print(text, flush=True)


def produce_blocking(api_key: str, base_url: str, stream_id: str) -> Timing:
    """Step 1: the blocking client, e.g. inside a Flask view or a worker thread."""
    timing = Timing()
    started = time.perf_counter()
    # one client per application, shared by every thread; each writer has its own connection
    with (
        Streamstraight(api_key=api_key, base_url=base_url) as client,
        client.stream_writer(stream_id=stream_id) as writer,
    ):
        for token in tokens(ANSWER_1):
            writer.send(token)  # a plain string travels as a JSON string
            time.sleep(TOKEN_DELAY)
    # leaving the writer sent END and waited until the server confirmed every chunk
    timing.chunks = writer.sent
    timing.produce_s = time.perf_counter() - started
    return timing


async def produce_async_and_read_live(api_key: str, base_url: str, stream_id: str) -> Timing:
    """Step 2: the async client writes while a browser-like consumer reads it live."""
    timing = Timing()
    client = AsyncStreamstraight(api_key=api_key, base_url=base_url)
    token = await client.fetch_client_token()  # what your backend hands to the browser

    async def browser() -> str:
        pieces: list[str] = []
        started = time.perf_counter()
        # a browser usually connects before the producer: the server holds it until the stream
        # exists, then sends every chunk from the first
        async for _seq, data in iter_stream(base_url, token, stream_id, timeout=10):
            if timing.first_chunk_s is None:
                timing.first_chunk_s = time.perf_counter() - started
            text = _delta(data)
            pieces.append(text)
            sys.stdout.write(text)
            sys.stdout.flush()
        timing.read_s = time.perf_counter() - started
        return "".join(pieces)

    reader = asyncio.create_task(browser())
    await asyncio.sleep(0.1)
    started = time.perf_counter()
    async with client, client.stream_writer(stream_id=stream_id) as writer:
        for piece in tokens(ANSWER_2):
            await writer.send({"type": "delta", "text": piece})  # any JSON-able value works
            await asyncio.sleep(TOKEN_DELAY)
    timing.chunks = writer.sent
    timing.produce_s = time.perf_counter() - started
    text = await reader
    say()
    assert text == ANSWER_2, "the live reader saw something else than what was sent"
    return timing


def _delta(data: str) -> str:
    value = json.loads(data)
    return str(value["text"]) if isinstance(value, dict) else str(value)


async def read_back(base_url: str, token: str, stream_id: str, timing: Timing) -> str:
    """Step 3: a tab opened later replays the stream from its first chunk."""
    started = time.perf_counter()
    consumed = await read_stream(base_url, token, stream_id, timeout=10)
    timing.read_s = time.perf_counter() - started
    assert consumed.end_reason == "completed", consumed.end_reason
    return "".join(_delta(data) for data in consumed.data)


def main() -> int:
    env_url = os.environ.get("STREAMSTRAIGHT_API_BASE_URL")
    env_key = os.environ.get("STREAMSTRAIGHT_API_KEY")
    run_id = secrets.token_hex(3)
    blocking_id, async_id = f"demo-{run_id}-blocking", f"demo-{run_id}-async"
    total = time.perf_counter()
    with ExitStack() as stack:
        if env_url and env_key:
            base_url, api_key = env_url, env_key
            say(f"Using the server at {base_url} (from STREAMSTRAIGHT_API_BASE_URL)")
        else:
            server = stack.enter_context(ThreadedDevServer())
            base_url, api_key = server.base_url, server.api_key
            say(f"Started a local Streamstraight-compatible server at {base_url}")
            say(f"Its live viewer, while the demo runs: {server.viewer_url}")
            say(
                "  (to keep the streams around: run `streamstraight dev` in another terminal,"
                " paste its two export lines here, and run the demo again)"
            )
        if env_url and env_key and base_url.startswith(("http://127.0.0.1", "http://localhost")):
            say("Watch the streams live in a browser: the viewer URL `streamstraight dev` printed")
        say()

        try:
            say(f"1. Blocking client writes stream {blocking_id!r}: {QUESTION_1}")
            first = produce_blocking(api_key, base_url, blocking_id)
            say(f"   sent {first.chunks} chunks, all confirmed by the server")
            say()

            say(f"2. Async client writes stream {async_id!r}: {QUESTION_2}")
            say("   a browser-like consumer reads it live:")
            sys.stdout.write("   ")
            second = asyncio.run(produce_async_and_read_live(api_key, base_url, async_id))
            say()

            say(f"3. A tab opened now replays {blocking_id!r} from its first chunk:")
            token = fetch_client_token_sync(api_key=api_key, base_url=base_url)
            text = asyncio.run(read_back(base_url, token, blocking_id, first))
            say(f"   {text}")
            assert text == ANSWER_1, "the replay differs from what was sent"
            say()
        except StreamstraightServerError as exc:
            say(f"demo failed: {exc}")
            return 1

    say("Summary")
    say(
        f"  blocking: {first.chunks} chunks written in {first.produce_s:.2f}s, "
        f"replayed in {first.read_s * 1000:.0f} ms"
    )
    first_chunk = f"{(second.first_chunk_s or 0) * 1000:.0f} ms"
    say(
        f"  async:    {second.chunks} chunks written in {second.produce_s:.2f}s, "
        f"read live (first chunk after {first_chunk}, connected before the producer)"
    )
    say(f"  both streams read back exactly as sent; total {time.perf_counter() - total:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
