"""The budgets of a stream, which belong to the stream and not to a connection: reconnecting
(attempts and time) and END's wait. See ``machine`` for the rules that spend them."""

from __future__ import annotations

from dataclasses import dataclass

from .options import ServerOptions
from .protocol import ProducerEndReason


@dataclass
class Resume:
    """The budgets of reconnecting, which belong to the stream (see the module's text)."""

    attempts: int = 0  # failed attempts: of the first connection, or of the resume under way
    best_confirmed: int = 0  # the most the server ever confirmed (it may lose some afterwards)
    mark: int | None = None  # best_confirmed when the resume under way began (None: none)
    spent: float = 0.0  # time spent reconnecting in it so far
    started: float | None = None  # when its current reconnection began
    dropped_at: float | None = None
    last_failure: BaseException | None = None

    def time(self, now: float) -> float:
        """Time spent reconnecting in the resume under way."""
        started = self.started if self.started is not None else now
        return self.spent + (now - started)

    def exhausted(self, now: float, options: ServerOptions) -> bool:
        return self.attempts >= options.resume_attempts or self.time(now) >= options.resume_timeout


@dataclass
class EndRequest:
    """END, once the writer asked for it: its reason and how long it has waited."""

    reason: ProducerEndReason
    timeout: float
    deadline: float | None = None
    sent_at: float | None = None
    waited: float = 0.0  # on connections that dropped
