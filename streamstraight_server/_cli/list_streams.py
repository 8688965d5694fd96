"""``streamstraight ls``: the streams a ``streamstraight dev`` server holds, one a line."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from .common import EXIT_OK, CliError, out
from .credentials import credentials
from .reach import unreachable

HELP = "list the streams of a streamstraight dev server"
DESCRIPTION = (
    "List the streams a `streamstraight dev` server holds, oldest first: status, chunks, size "
    "and age. The hosted service has no such listing; use its dashboard."
)


def add_arguments(ls: argparse.ArgumentParser) -> None:
    ls.add_argument(
        "--json", action="store_true", help="print the server's JSON instead (default: off)"
    )


def run(args: argparse.Namespace) -> int:
    api_key, base_url = credentials(args)
    streams = fetch_streams(api_key, base_url)
    if args.json:
        out(json.dumps(streams, indent=2))
        return EXIT_OK
    if not streams:
        out(f"no streams on {base_url} yet; they appear once a producer connects")
        return EXIT_OK
    rows = [("STREAM", "STATUS", "CHUNKS", "SIZE", "AGE")]
    now = time.time()
    rows += [
        (
            stream["streamId"],
            status(stream),
            str(stream["chunkCount"]),
            size(stream.get("bytes", 0)),
            age(now - stream.get("createdAt", now)),
        )
        for stream in streams
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        out("  ".join(cells).rstrip())
    return EXIT_OK


def fetch_streams(api_key: str, base_url: str) -> list[dict[str, Any]]:
    """``GET /api/streams`` of a dev server, without the chunks."""
    import requests

    url = base_url.rstrip("/") + "/api/streams"
    try:
        answer = requests.get(
            url,
            params={"chunks": "false"},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=10,
        )
    except requests.RequestException as exc:
        raise CliError(unreachable(base_url, str(exc))) from None
    if answer.status_code in (401, 403):
        raise CliError(
            f"the server at {base_url} rejected the API key (HTTP {answer.status_code}); "
            "export the key `streamstraight dev` printed"
        )
    try:
        streams = answer.json()["streams"] if answer.ok else None
    except (ValueError, KeyError, TypeError):
        streams = None
    if not isinstance(streams, list):
        raise CliError(
            f"the server at {base_url} has no stream listing (HTTP {answer.status_code}); "
            "only `streamstraight dev` lists its streams"
        )
    return streams


def status(stream: dict[str, Any]) -> str:
    if stream.get("ended"):
        return f"ended: {stream.get('endReason')}"
    return "live" if stream.get("producerConnected") else "producer away"


def size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.1f} MiB"


def age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
