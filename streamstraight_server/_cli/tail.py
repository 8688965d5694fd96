"""``streamstraight tail``: read a stream as a browser does and print its chunks until it ends."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .arg_types import non_negative_int, positive_seconds
from .common import EXIT_FAILURE, EXIT_OK, PROG, CliError, out
from .credentials import credentials, fetch_token

HELP = "print a stream's chunks, from the first, until it ends"
DESCRIPTION = (
    "Read a stream as a browser does (with a client token fetched with the API key) and "
    "print each chunk on its own line: a chunk holding a JSON string prints as plain text, "
    "any other chunk as its JSON. Exits 0 when the stream completed, 1 otherwise."
)


def add_arguments(tail: argparse.ArgumentParser) -> None:
    tail.add_argument(
        "--from-seq", type=non_negative_int, metavar="N", help="start at chunk N (default: 0)"
    )
    tail.add_argument(
        "--timeout",
        type=positive_seconds,
        default=60.0,
        metavar="S",
        help="give up when nothing arrives for S seconds (default: 60)",
    )
    tail.add_argument("--raw", action="store_true", help="print each chunk's data verbatim")


def _printable(data: str, raw: bool) -> str:
    if raw:
        return data
    try:
        value = json.loads(data)
    except ValueError:
        return data
    return value if isinstance(value, str) else data


def run(args: argparse.Namespace) -> int:
    api_key, base_url = credentials(args)
    token = fetch_token(api_key, base_url)
    reason = asyncio.run(_tail(base_url, token, args))
    if reason == "completed":
        return EXIT_OK
    out(f"{PROG}: stream {args.stream_id!r} ended: {reason}", sys.stderr)
    return EXIT_FAILURE


async def _tail(base_url: str, token: str, args: argparse.Namespace) -> str:
    from ..devserver.consumer import ConsumerError, iter_stream

    ended: list[str] = []
    stream = iter_stream(
        base_url,
        token,
        args.stream_id,
        from_seq=args.from_seq,
        timeout=args.timeout,
        on_end=lambda reason, last_seq: ended.append(reason),
    )
    try:
        async for _seq, data in stream:
            out(_printable(data, args.raw))
    except ConsumerError as exc:
        detail = f"[{exc.code}] {exc.message}" if exc.code else exc.message
        raise CliError(f"reading stream {args.stream_id!r} failed: {detail}") from None
    except TimeoutError:
        raise CliError(
            f"nothing arrived on stream {args.stream_id!r} for {args.timeout:g}s; giving up"
        ) from None
    finally:
        await stream.aclose()
    return ended[0] if ended else "unknown"
