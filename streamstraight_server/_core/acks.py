"""Bookkeeping of sent chunks until the server confirms them.

Thread model: ``note_ack`` runs on the socket's reader (a thread in the blocking flavour) and only
ever raises ``acked_through``; every other method runs on the writer's side. That keeps the
per-chunk path free of locks in both flavours.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple


class PendingChunk(NamedTuple):
    seq: int
    data: str
    size: int


class ResumeImpossible(Exception):
    """The server lacks chunks that are no longer held for resending."""


class InFlightWindow:
    """Chunks sent but not yet confirmed, bounded in count and bytes."""

    __slots__ = (
        "_pending",
        "acked_through",
        "acks_seen",
        "bytes",
        "confirmed",
        "end_only",
        "max_bytes",
        "max_chunks",
        "next_seq",
    )

    def __init__(self, max_chunks: int, max_bytes: int, start_seq: int = 0) -> None:
        self.max_chunks = max_chunks
        self.max_bytes = max_bytes
        self._pending: deque[PendingChunk] = deque()
        self.next_seq = start_seq
        #: all seq below this are confirmed (written by the reader side only)
        self.acked_through = start_seq
        #: all seq below this are confirmed and dropped from the window
        self.confirmed = start_seq
        self.bytes = 0
        self.acks_seen = False
        #: the server confirms nothing per chunk: the window is a resend buffer only
        self.end_only = False

    @property
    def sent(self) -> int:
        return self.next_seq

    @property
    def unconfirmed(self) -> int:
        return self.next_seq - max(self.acked_through, self.confirmed)

    def add(self, data: str) -> int:
        seq = self.next_seq
        size = len(data)
        self._pending.append(PendingChunk(seq, data, size))
        self.bytes += size
        self.next_seq = seq + 1
        return seq

    def note_ack(self, seq: object) -> None:
        """A ``producer:ack``. Socket.IO keeps order, so an ack confirms every seq below it.

        Old servers acknowledge END with ``lastSeq + 1``; a seq we never sent is ignored.
        """
        if type(seq) is int and self.acked_through <= seq < self.next_seq:
            self.acked_through = seq + 1
            self.acks_seen = True

    def prune(self) -> None:
        """Drop confirmed chunks from the window."""
        through = self.acked_through
        pending = self._pending
        while pending and pending[0].seq < through:
            self.bytes -= pending.popleft().size
        if through > self.confirmed:
            self.confirmed = through

    def has_room(self, size: int) -> bool:
        self.prune()
        pending = self._pending
        if not pending:
            return True
        return len(pending) < self.max_chunks and self.bytes + size <= self.max_bytes

    def evict_oldest(self) -> None:
        """End-only mode: forget the oldest unconfirmed chunk to make room."""
        self.bytes -= self._pending.popleft().size

    @property
    def oldest_held(self) -> int:
        return self._pending[0].seq if self._pending else self.next_seq

    def confirm_all(self) -> None:
        """The server confirmed END: everything sent before it is stored."""
        self.acked_through = self.next_seq
        self.prune()

    def start_at(self, seq: int) -> None:
        """Continue a stream the server already holds chunks for (nothing sent yet)."""
        if self.next_seq != self.confirmed or self._pending:
            raise RuntimeError("start_at on a window that already sent chunks")
        self.next_seq = self.acked_through = self.confirmed = seq

    def resume_from(self, server_last_seq: int | None) -> list[PendingChunk]:
        """After a reconnect: what to resend, given the server's ``lastSeq`` (None: nothing)."""
        held_through = 0 if server_last_seq is None else server_last_seq + 1
        if held_through > self.next_seq:
            raise ResumeImpossible(
                f"the server holds seq up to {server_last_seq} but only "
                f"{self.next_seq} chunks were sent on this stream"
            )
        if held_through > self.acked_through:
            self.acked_through = held_through
        self.prune()
        if self.oldest_held > self.confirmed:
            raise ResumeImpossible(
                f"the server lacks seq {self.confirmed}..{self.oldest_held - 1}, which were "
                "sent to a server that confirms no chunks and are no longer held"
            )
        return list(self._pending)
