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
        """Continue a stream whose seq ``0 .. seq - 1`` the server already holds; chunks taken
        before the server said so (none of them sent yet) are numbered on from there."""
        if self.acked_through != self.base:
            raise RuntimeError("start_at on a window whose chunks the server confirmed")
        shift = seq - self.base
        self._held = deque(chunk._replace(seq=chunk.seq + shift) for chunk in self._held)
        self.base, self.acked_through = seq, seq
        self.next_seq += shift

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


#: without a single ``producer:ack`` by then, the server is taken to confirm only END
ACK_PROBE = 2.0
#: after a resume, what is resent gets at least this long before the ack deadline expires
RESUME_GRACE = 1.0


class AckWait:
    """The timers of a writer that waits for confirmations (for room, or for all of them).

    The deadline moves on whenever something new is confirmed. A server that has sent no ack
    at all after ``ACK_PROBE`` is taken to confirm only END (``end_only``): the window then
    becomes a resend buffer and nobody waits for acks any more. While a writer waits, an ack
    wakes it only once ``wake_at`` is confirmed.
    """

    __slots__ = ("deadline", "end_only", "mark", "probed", "since", "timeout", "wake_at")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.since: float | None = None  # a writer waits for acks since then
        self.deadline: float | None = None
        self.mark = 0  # acked_through when the deadline last moved
        self.probed = False
        self.end_only = False
        self.wake_at = -1

    def begin(self, wake_at: int, window: InFlightWindow, now: float) -> None:
        self.wake_at = wake_at
        self.since = now
        self.deadline = now + self.timeout
        self.mark = window.acked_through

    def end(self) -> None:
        self.wake_at = -1
        self.since = self.deadline = None

    def acks_back(self) -> bool:
        """An ack came after the probe gave up on them; True the first time."""
        if not self.end_only:
            return False
        self.end_only = False
        return True

    def check(self, window: InFlightWindow, now: float) -> str | None:
        """``"probe"`` when the server turns out to send no acks, ``"timeout"`` when the
        deadline passed with nothing new confirmed, else None."""
        if self.since is None:
            return None
        if window.acked_through > self.mark:
            self.mark = window.acked_through
            self.deadline = now + self.timeout
        if (
            not self.probed
            and not window.acks_seen
            and now - self.since >= min(ACK_PROBE, self.timeout)
        ):
            self.probed = self.end_only = True
            return "probe"
        if not self.end_only and self.deadline is not None and now >= self.deadline:
            return "timeout"
        return None

    def reconnected(self, window: InFlightWindow, now: float, reconnecting: float) -> None:
        """The time spent reconnecting is not time the server had to ack: the probe starts
        again, and the deadline moves by that time (not further, though what was resent gets a
        moment), so a server that keeps dropping renews nothing."""
        if self.since is None:
            return
        self.since = now
        if self.deadline is not None:
            self.deadline = max(self.deadline + reconnecting, now + min(RESUME_GRACE, self.timeout))
        self.mark = min(self.mark, window.acked_through)

    def next_deadline(self, window: InFlightWindow) -> float | None:
        if self.since is None or self.end_only:
            return None
        if not self.probed and not window.acks_seen:
            probe = self.since + min(ACK_PROBE, self.timeout)
            return probe if self.deadline is None else min(probe, self.deadline)
        return self.deadline
