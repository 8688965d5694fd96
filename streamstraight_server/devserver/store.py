"""In-memory stream store, shaped like the Redis streams the hosted service uses.

Besides the chunks, each stream keeps what the viewer and the narration show: when it started,
its last chunk and its end (wall-clock seconds), its size in bytes, the consumers reading it,
and a short timeline of its producer connections (connected, dropped, resumed, ended).

Everything here runs on the server's event loop; nothing is thread-safe by itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamstraight_server._core.protocol import last_seq_for

#: timeline entries kept per stream; a stream that drops more often keeps its latest
TIMELINE_LIMIT = 100


@dataclass(frozen=True)
class StoredChunk:
    seq: int
    data: str
    redis_id: str


@dataclass(frozen=True)
class StreamSnapshot:
    """A consistent, immutable view of one stream."""

    stream_id: str
    chunks: tuple[StoredChunk, ...]
    ended: bool
    end_reason: str | None
    end_redis_id: str | None
    producer_connected: bool
    producer_connections: int
    heartbeats: int

    @property
    def data(self) -> list[str]:
        return [c.data for c in self.chunks]


class RedisIdGenerator:
    """Strictly increasing ``<ms>-<n>`` ids, as Redis ``XADD *`` produces them."""

    def __init__(self) -> None:
        self._last_ms = 0
        self._n = 0

    def next(self) -> str:
        ms = int(time.time() * 1000)
        if ms > self._last_ms:
            self._last_ms, self._n = ms, 0
        else:
            self._n += 1
        return f"{self._last_ms}-{self._n}"


@dataclass(eq=False)
class StreamState:
    stream_id: str
    # chunks[i].seq == i always: gaps are refused and duplicates are not stored
    chunks: list[StoredChunk] = field(default_factory=list)
    ended: bool = False
    end_reason: str | None = None
    end_redis_id: str | None = None
    ended_at: float | None = None
    producer_sid: str | None = None
    producer_connections: int = 0
    heartbeats: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    disconnected_at: float | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # wall-clock seconds (time.time()), for people: the viewer and the narration
    created_wall: float = field(default_factory=time.time)
    last_chunk_wall: float | None = None
    ended_wall: float | None = None
    bytes: int = 0
    consumers: int = 0
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def mark(self, kind: str, **details: Any) -> None:
        """Add ``kind`` (connected, dropped, resumed, ended, fault) to the stream's timeline."""
        self.timeline.append({"at": time.time(), "kind": kind, **details})
        del self.timeline[:-TIMELINE_LIMIT]

    def notify(self) -> None:
        """Wake everyone waiting on ``changed``; waiters take the event before checking state."""
        self.changed.set()
        self.changed = asyncio.Event()

    @property
    def last_seq(self) -> int:
        return last_seq_for(len(self.chunks))

    def snapshot(self) -> StreamSnapshot:
        return StreamSnapshot(
            stream_id=self.stream_id,
            chunks=tuple(self.chunks),
            ended=self.ended,
            end_reason=self.end_reason,
            end_redis_id=self.end_redis_id,
            producer_connected=self.producer_sid is not None,
            producer_connections=self.producer_connections,
            heartbeats=self.heartbeats,
        )

    def meta(self) -> dict[str, Any]:
        """The stream without its chunks; times are wall-clock seconds since the epoch."""
        return {
            "streamId": self.stream_id,
            "chunkCount": len(self.chunks),
            "bytes": self.bytes,
            "ended": self.ended,
            "endReason": self.end_reason,
            "producerConnected": self.producer_sid is not None,
            "producerConnections": self.producer_connections,
            "consumers": self.consumers,
            "createdAt": self.created_wall,
            "lastChunkAt": self.last_chunk_wall,
            "endedAt": self.ended_wall,
            "timeline": list(self.timeline),
        }


Listener = Callable[[dict[str, Any]], None]


class Store:
    """All streams by id, plus change notification for waiters and the viewer."""

    def __init__(self) -> None:
        self.streams: dict[str, StreamState] = {}
        self.ids = RedisIdGenerator()
        self.changed = asyncio.Event()
        self.listeners: list[Listener] = []

    def _publish(self, event: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(event)

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def get(self, stream_id: str) -> StreamState | None:
        return self.streams.get(stream_id)

    def create(self, stream_id: str) -> StreamState:
        """Create (or replace) a stream; a replaced one must have been ended by the caller."""
        state = StreamState(stream_id)
        self.streams[stream_id] = state
        self._publish({"type": "stream", "stream": state.meta()})
        self.notify()
        return state

    def append(self, state: StreamState, data: str, size: int | None = None) -> StoredChunk:
        """Store ``data`` (``size`` bytes of UTF-8, counted when not given) as the next chunk."""
        chunk = StoredChunk(len(state.chunks), data, self.ids.next())
        state.chunks.append(chunk)
        state.bytes += len(data.encode("utf-8")) if size is None else size
        state.last_chunk_wall = time.time()
        if self.streams.get(state.stream_id) is state:
            self._publish(
                {
                    "type": "chunk",
                    "streamId": state.stream_id,
                    "seq": chunk.seq,
                    "data": data,
                    "at": state.last_chunk_wall,
                    "bytes": state.bytes,
                }
            )
        state.notify()
        return chunk

    def end(self, state: StreamState, reason: str) -> str:
        if state.ended:
            assert state.end_redis_id is not None
            return state.end_redis_id
        state.ended = True
        state.end_reason = reason
        state.end_redis_id = self.ids.next()
        state.ended_at = time.monotonic()
        state.ended_wall = time.time()
        state.mark("ended", reason=reason)
        self.report(
            "stream-ended",
            state.stream_id,
            reason=reason,
            chunks=len(state.chunks),
            bytes=state.bytes,
            seconds=state.ended_wall - state.created_wall,
        )
        self.touched(state)
        state.notify()
        self.notify()
        return state.end_redis_id

    def touched(self, state: StreamState) -> None:
        """Publish a change of a stream's status (not of its chunks)."""
        if self.streams.get(state.stream_id) is state:
            self._publish({"type": "stream", "stream": state.meta()})

    def report(self, kind: str, stream_id: str | None, **details: Any) -> None:
        """Tell the listeners (the narration, the viewer) what happened; see ``activity``."""
        self._publish(
            {"type": "activity", "kind": kind, "streamId": stream_id, "at": time.time(), **details}
        )

    def drop(self, stream_id: str) -> None:
        if self.streams.pop(stream_id, None) is not None:
            self._publish({"type": "dropped", "streamId": stream_id})
            self.notify()

    def snapshot(self, stream_id: str) -> StreamSnapshot | None:
        state = self.streams.get(stream_id)
        return None if state is None else state.snapshot()
