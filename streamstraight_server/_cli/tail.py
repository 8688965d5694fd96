"""``streamstraight tail``: read a stream as a browser does and print its chunks until it ends."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .arg_types import non_negative_int, positive_seconds
from .common import EXIT_FAILURE, EXIT_OK, PROG, CliError, out
from .credentials import credentials, fetch_token
from .usage import closest

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


#: without a stream listing (the hosted service), say after this long that nothing came yet
QUIET_HINT_AFTER = 2.0


def run(args: argparse.Namespace) -> int:
    api_key, base_url = credentials(args)
    token = fetch_token(api_key, base_url)
    held = _stream_ids(api_key, base_url)
    if held is not None and args.stream_id not in held:
        guess = closest(args.stream_id, held)
        meant = f" (did you mean {guess!r}?)" if guess else ""
        out(
            f"waiting for stream {args.stream_id!r}: the server has no such stream yet{meant}; "
            "it answers not-found if no producer starts it soon (`streamstraight ls` lists "
            "the streams)",
            sys.stderr,
        )
    reason = asyncio.run(_tail(base_url, token, args, hint=held is None))
    if reason == "completed":
        return EXIT_OK
    if reason == "not-found":
        out(
            f"{PROG}: stream {args.stream_id!r} ended: not-found (no producer started it while "
            "the server waited; check the id)",
            sys.stderr,
        )
    else:
        out(f"{PROG}: stream {args.stream_id!r} ended: {reason}", sys.stderr)
    return EXIT_FAILURE


def _stream_ids(api_key: str, base_url: str) -> list[str] | None:
    """The ids of the streams the server holds; None when it has no listing to ask."""
    from .list_streams import fetch_streams

    try:
        streams = fetch_streams(api_key, base_url)
    except CliError:
        return None
    return [str(stream.get("streamId")) for stream in streams]


async def _tail(base_url: str, token: str, args: argparse.Namespace, *, hint: bool) -> str:
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
    quiet = None
    if hint:
        quiet = asyncio.get_running_loop().call_later(
            QUIET_HINT_AFTER,
            out,
            f"no chunk of stream {args.stream_id!r} after {QUIET_HINT_AFTER:g}s: it may not "
            "have started yet, or its id may be mistyped; still waiting",
            sys.stderr,
        )
    try:
        async for _seq, data in stream:
            if quiet is not None:
                quiet.cancel()
            out(_printable(data, args.raw))
    except ConsumerError as exc:
        detail = f"[{exc.code}] {exc.message}" if exc.code else exc.message
        raise CliError(f"reading stream {args.stream_id!r} failed: {detail}") from None
    except TimeoutError:
        raise CliError(
            f"nothing arrived on stream {args.stream_id!r} for {args.timeout:g}s; giving up"
        ) from None
    finally:
        if quiet is not None:
            quiet.cancel()
        await stream.aclose()
    return ended[0] if ended else "unknown"
