"""The chunks of one stream that the producer still holds, and which of them are confirmed.

Chunks stay in the window after the server confirms them, as long as there is room: a server
that restarts and loses what it had confirmed can then be given those chunks again. Room is
counted over every held chunk (``max_chunks``, ``max_bytes``); confirmed chunks are the first
to go when a new chunk needs room, and only unconfirmed chunks ever make ``send()`` wait.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple


class PendingChunk(NamedTuple):
    seq: int
    data: str
    size: int


class InFlightWindow:
    """Held chunks ``oldest_held .. next_seq - 1``; seq below ``acked_through`` are confirmed."""

    __slots__ = (
        "_held",
        "acked_through",
        "acks_seen",
        "base",
        "held_bytes",
        "max_bytes",
        "max_chunks",
        "next_seq",
    )

    def __init__(self, max_chunks: int, max_bytes: int) -> None:
        self.max_chunks = max_chunks
        self.max_bytes = max_bytes
        self._held: deque[PendingChunk] = deque()
        self.held_bytes = 0
        #: the first seq this producer writes (an earlier producer may have written the ones below)
        self.base = 0
        self.next_seq = 0
        self.acked_through = 0
        self.acks_seen = False

    @property
    def sent(self) -> int:
        return self.next_seq

    @property
    def unconfirmed(self) -> int:
        return self.next_seq - self.acked_through

    @property
    def oldest_held(self) -> int:
        held = self._held
        return held[0].seq if held else self.next_seq

    def start_at(self, seq: int) -> None:
        """Continue a stream whose seq ``0 .. seq - 1`` the server already holds."""
        if self.next_seq != self.base:
            raise RuntimeError("start_at on a window that already sent chunks")
        self.base = self.next_seq = self.acked_through = seq

    def has_room(self, size: int) -> bool:
        """Whether a chunk of ``size`` fits, after forgetting confirmed chunks as needed."""
        held = self._held
        if not held:
            return True
        if len(held) < self.max_chunks and self.held_bytes + size <= self.max_bytes:
            return True
        through = self.acked_through
        while (
            held
            and held[0].seq < through
            and (len(held) >= self.max_chunks or self.held_bytes + size > self.max_bytes)
        ):
            self.held_bytes -= held.popleft().size
        return not held or (
            len(held) < self.max_chunks and self.held_bytes + size <= self.max_bytes
        )

    def evict_for(self, size: int) -> int:
        """Forget the oldest chunks, confirmed or not, until ``size`` fits; returns how many
        unconfirmed chunks were forgotten (a server that confirms only END makes this needed)."""
        forgotten = 0
        held = self._held
        while held and not self.has_room(size):
            chunk = held.popleft()
            self.held_bytes -= chunk.size
            forgotten += chunk.seq >= self.acked_through
        return forgotten

    def add(self, data: str, size: int) -> int:
        seq = self.next_seq
        self._held.append(PendingChunk(seq, data, size))
        self.held_bytes += size
        self.next_seq = seq + 1
        return seq

    def note_ack(self, seq: object) -> bool:
        """A ``producer:ack``; True when it confirmed something new.

        Socket.IO keeps order on a connection, so an ack confirms every seq below it too. Old
        servers acknowledge END with ``lastSeq + 1``: a seq never sent is ignored.
        """
        if type(seq) is int and self.acked_through <= seq < self.next_seq:
            self.acked_through = seq + 1
            self.acks_seen = True
            return True
        return False

    def confirm_all(self) -> None:
        """The server confirmed END: everything sent before it is stored."""
        self.acked_through = self.next_seq

    def server_holds(self, held_through: int) -> None:
        """After a reconnect the server holds exactly seq ``0 .. held_through - 1``."""
        self.acked_through = held_through

    def chunks_from(self, seq: int) -> list[PendingChunk]:
        """Every held chunk from ``seq`` on; the caller checks ``oldest_held <= seq`` first."""
        held = self._held
        skip = seq - self.oldest_held
        return [chunk for index, chunk in enumerate(held) if index >= skip]
