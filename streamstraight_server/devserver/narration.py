"""What ``streamstraight dev`` prints while it runs: one line per thing a person should know.

A :class:`Narrator` listens to the store (``DevServer.add_listener``) and turns its activity
events into lines such as::

    14:03:22  answer-42  producer connected
    14:03:23  answer-42  producer dropped with 12 chunks stored; it may resume within 30s
    14:03:23  answer-42  producer resumed (connection 2); the server holds 12 chunks
    14:03:24  answer-42  ended completed: 40 chunks, 812 B in 1.9s
    14:03:25  answer-43  refused a producer: wrong API key. <what to do about the key>

Nothing a client sent is printed (no key, no token), and per-chunk events are not narrated.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Line = Callable[[str], None]


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f} min"


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.1f} MiB"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _shown(stream_id: Any) -> str:
    if not isinstance(stream_id, str):
        return "-"
    return stream_id if stream_id.isprintable() and " " not in stream_id else repr(stream_id)


class Narrator:
    """Formats the store's activity events into lines and hands each to ``write``.

    ``key_advice`` is what to tell a person whose producer or token request brought the wrong
    key (it depends on how the key was set up: made per run, kept in a file, given by a flag).
    """

    def __init__(self, write: Line, *, key_advice: str) -> None:
        self._write = write
        self._key_advice = key_advice

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("type") != "activity":
            return
        text = self.describe(event)
        if text is not None:
            clock = time.strftime("%H:%M:%S", time.localtime(event["at"]))
            self._write(f"{clock}  {_shown(event.get('streamId'))}  {text}")

    def describe(self, event: dict[str, Any]) -> str | None:
        kind = event.get("kind")
        handler = getattr(self, f"_on_{str(kind).replace('-', '_')}", None)
        return None if handler is None else str(handler(event))

    def _on_producer_connected(self, event: dict[str, Any]) -> str:
        connection, chunks = event["connection"], event["chunks"]
        if connection > 1:
            return (
                f"producer resumed (connection {connection}); the server holds "
                f"{_plural(chunks, 'chunk')}"
            )
        if event.get("replaced"):
            return "producer connected, replacing the earlier stream (overwrite)"
        return "producer connected"

    def _on_producer_disconnected(self, event: dict[str, Any]) -> str:
        return (
            f"producer dropped before END with {_plural(event['chunks'], 'chunk')} stored; "
            f"it may resume within {event['grace']:g}s, else the stream ends "
            "producer-disconnected"
        )

    def _on_stream_ended(self, event: dict[str, Any]) -> str:
        reason = event["reason"]
        mark = "" if reason == "completed" else "  <-- not completed"
        return (
            f"ended {reason}: {_plural(event['chunks'], 'chunk')}, {_size(event['bytes'])} in "
            f"{_duration(event['seconds'])}{mark}"
        )

    def _on_consumer_connected(self, event: dict[str, Any]) -> str:
        if event.get("waiting"):
            return (
                "consumer connected, waiting for the stream to start "
                f"(up to {event['wait']:g}s, then not-found)"
            )
        start = event.get("fromSeq") or 0
        return f"consumer connected, reading from seq {start}"

    def _on_consumer_not_found(self, event: dict[str, Any]) -> str:
        return (
            f"consumer given not-found: no producer started the stream within "
            f"{event['wait']:g}s (check the stream id)"
        )

    def _on_fault(self, event: dict[str, Any]) -> str:
        return f"injected fault --{event['fault']}: {event['what']}"

    def _on_refused(self, event: dict[str, Any]) -> str:
        role, code, detail = event.get("role", "client"), event.get("code"), event.get("detail")
        if code == "unauthorized" and role in ("producer", "token request"):
            return f"refused a {role}: wrong API key. {self._key_advice}"
        if code == "unauthorized":
            return f"refused a {role}: {detail}; its backend must fetch a fresh client token"
        if code == "stream-ended":
            return (
                f"refused a producer: the stream has ended ({event.get('endReason')}); "
                "give each answer a new stream id, or overwrite the stream"
            )
        if code == "stream-busy":
            return "refused a producer: another producer is connected to this stream"
        return f"refused a {role}: {detail}"
