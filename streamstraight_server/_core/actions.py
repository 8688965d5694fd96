"""What the stream machine asks its driver to do, and what a waiting writer waits for."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from .acks import PendingChunk
from .errors import StreamstraightServerError
from .protocol import EndPayload


class Goal(enum.Enum):
    """What a waiting writer waits for."""

    OPEN = "the connection"
    ROOM = "room in the in-flight window"
    FLUSHED = "confirmation of every chunk sent"
    ENDED = "the answer to END"


class NoRoom(enum.Enum):
    """What ``send()`` returns when the writer must first wait for ``Goal.ROOM``."""

    WAIT = "wait for room"


WAIT_FOR_ROOM = NoRoom.WAIT


@dataclass(frozen=True)
class Connect:
    """Open connection ``generation`` after ``delay`` seconds (closing the previous one);
    ``resuming``: the stream was open before (a refusal then means something else)."""

    generation: int
    delay: float
    overwrite: bool
    resuming: bool = False


@dataclass(frozen=True)
class Resend:
    """Emit these chunks again, in order, on connection ``generation``."""

    generation: int
    chunks: list[PendingChunk]


@dataclass(frozen=True)
class SendEnd:
    """Emit END with an ack callback on connection ``generation``."""

    generation: int
    payload: EndPayload


Action = Connect | Resend | SendEnd


class Observer(Protocol):
    """Told of a stream's drops, resumes and failure (``watch.StreamWatch`` is one)."""

    def dropped(self, confirmed: int, sent: int) -> None: ...

    def resumed(self, confirmed: int, sent: int) -> None: ...

    def failed(self, error: StreamstraightServerError) -> None: ...
