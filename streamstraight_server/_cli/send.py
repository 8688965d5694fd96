"""``streamstraight send``: stdin, one chunk per line, as a stream that ends at EOF."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from .common import EXIT_INTERRUPTED, EXIT_OK, CliError, UsageError, out
from .credentials import credentials
from .reach import nothing_listens

HELP = "send stdin as a stream, one chunk per line"
DESCRIPTION = (
    "Send each line of stdin as a chunk (a JSON string, or with --json the line's JSON "
    "value), end the stream at EOF and wait for the server to confirm every chunk. "
    "Ctrl-C ends the stream with producer-error."
)


def add_arguments(send: argparse.ArgumentParser) -> None:
    send.add_argument(
        "--overwrite", action="store_true", help="replace the stream if it exists and has ended"
    )
    send.add_argument(
        "--json",
        action="store_true",
        help="parse each line as JSON and send its value (blank lines are skipped)",
    )


def _lines(stream: TextIO) -> Iterator[str]:
    """Lines of ``stream`` as they arrive (no read-ahead), without their line ending."""
    for line in iter(stream.readline, ""):
        if line.endswith("\n"):
            line = line[:-1]
            if line.endswith("\r"):
                line = line[:-1]
        yield line


def _chunks(stream: TextIO, as_json: bool) -> Iterator[Any]:
    for number, line in enumerate(_lines(stream), start=1):
        if not as_json:
            yield line
            continue
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError as exc:
            raise UsageError(f"stdin line {number} is not valid JSON: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from .. import (
        ConfigurationError,
        ConnectError,
        HandshakeRejectedError,
        Streamstraight,
        StreamstraightServerError,
    )

    api_key, base_url = credentials(args)
    writer: Any = None
    try:
        client = Streamstraight(
            api_key=api_key,
            base_url=base_url,
            stream_id=args.stream_id,
            overwrite_existing_stream=args.overwrite,
        )
        with client, client.stream_writer() as writer:
            if sys.stdin.isatty():
                out("reading chunks from stdin, one per line; Ctrl-D ends the stream", sys.stderr)
            for chunk in _chunks(sys.stdin, args.json):
                writer.send(chunk)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    except HandshakeRejectedError as exc:
        raise CliError(_refusal(args.stream_id, exc)) from None
    except ConnectError as exc:
        raise CliError(nothing_listens(base_url) or str(exc)) from None
    except StreamstraightServerError as exc:
        raise CliError(str(exc)) from None
    except UsageError as exc:
        sent = writer.sent if writer is not None else 0
        raise UsageError(
            f"{exc.message} (the stream ended with producer-error after {sent} chunks)"
        ) from None
    except KeyboardInterrupt:
        sent = writer.sent if writer is not None else 0
        out(f"interrupted: the stream ended with producer-error after {sent} chunks", sys.stderr)
        return EXIT_INTERRUPTED
    count = writer.sent
    noun = "chunk" if count == 1 else "chunks"
    summary = "all confirmed" if count else "stream ended"
    out(f"sent {count} {noun}, {summary}", sys.stderr)
    return EXIT_OK


def _refusal(stream_id: str, exc: Any) -> str:
    """A refused stream in the command's terms: the server's words, then one piece of advice."""
    said = str(exc.details.get("message") or exc.message).rstrip(". ")
    advice = {
        "stream-ended": "send --overwrite replaces it, or use another stream id",
        "stream-busy": "another producer is writing it; wait for it to end, or use another id",
    }.get(exc.code)
    if advice is None:
        return str(exc)
    return f"the server refused stream {stream_id!r}: {said}; {advice}"
