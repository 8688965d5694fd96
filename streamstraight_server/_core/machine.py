"""The producer side of one stream, as a state machine that does no I/O.

Read top to bottom, this file is what the SDK promises: a stream is reported delivered only when
the server holds every chunk ``0 .. n - 1``, in order, once; any other outcome is an error that
says which chunks the server holds.

The machine owns no socket, clock or thread (in the style of h11 and wsproto). A driver feeds it
what happened - ``handshake_ok``, ``info``, ``ack``, ``server_error``, ``end_answer``,
``connection_lost``, ``connect_failed``, ``poll`` with the time, each event parsed at the edge
(``protocol.StreamInfo``, ``ServerError``, ``EndAnswer``) - and what the writer wants (``send``,
``begin_wait``, ``end``, ``close``), and performs the actions it asks for, taken with
``take_actions()``: connect (after a delay), resend chunks, send END. Every connection is an
``Attempt`` with a generation; events about one that is no longer current are ignored, as are
events after the end, in one place (``_current``).

Every change of state goes through ``_goto``, which refuses a move that is not in ``MOVES``::

    CONNECTING -> OPEN, ENDING, FAILED, CLOSED
    OPEN       -> RESUMING, ENDING, FAILED, CLOSED
    RESUMING   -> OPEN, ENDING, ENDED, FAILED, CLOSED
    ENDING     -> ENDED, RESUMING, FAILED, CLOSED
    ENDED, FAILED, CLOSED: final

CONNECTING opens on ``stream:info`` (or goes straight to ENDING when END was asked for first);
a drop from OPEN or ENDING resumes; RESUMING ends directly when the server shows it stored this
writer's END while the answer was lost. Every failure goes through ``fail()``, and a failed
machine raises its error again, as a fresh copy, from every later call.

Budgets belong to the stream, not to a connection. A resume lasts from a drop until the server
confirms something new (an ack, or a ``stream:info`` that holds more than was confirmed): a
server that accepts, answers and drops again without that continues the same resume, with what
is left of ``resume_attempts`` and ``resume_timeout`` (time spent reconnecting). END's deadline
counts the time END waited on every connection, and the ack deadline moves only by the time
spent reconnecting. Only a drop with nothing outstanding while no writer waits starts afresh.

Text from the server reaches messages and logs scrubbed of the key, then cut short
(``redact.shown``); hints such as ``retryInMs`` are checked before they are passed on.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from . import server_words
from .acks import RESUME_GRACE, AckWait, InFlightWindow
from .actions import WAIT_FOR_ROOM, Action, Connect, Goal, NoRoom, Observer, Resend, SendEnd
from .backoff import retry_delay
from .budgets import EndRequest, Resume
from .errors import (
    AckTimeoutError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    DataLossError,
    EndTimeoutError,
    HandshakeRejectedError,
    StreamstraightServerAbortError,
    StreamstraightServerError,
    WriterClosedError,
    describe,
    root_cause,
)
from .options import ServerOptions
from .protocol import (
    EndAnswer,
    EndPayload,
    ProducerEndReason,
    ServerError,
    StreamInfo,
    last_seq_for,
    seq_of,
)
from .redact import shown

__all__ = [
    "ABORT_END_TIMEOUT",
    "INFO_WAIT",
    "MOVES",
    "WAIT_FOR_ROOM",
    "Action",
    "Attempt",
    "Connect",
    "Goal",
    "NoRoom",
    "Resend",
    "SendEnd",
    "State",
    "StreamMachine",
]

logger = logging.getLogger("streamstraight_server")

#: how long to wait for ``stream:info`` after a handshake; a server may not send it
INFO_WAIT = 1.0
#: how long ``abort()`` waits for the answer to its END
ABORT_END_TIMEOUT = 5.0


class State(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    RESUMING = "resuming"
    ENDING = "ending"
    ENDED = "ended"
    FAILED = "failed"
    CLOSED = "closed"


_S = State
#: the moves a stream may make; anything else is a bug (see ``_goto``)
MOVES: dict[State, frozenset[State]] = {
    _S.CONNECTING: frozenset({_S.OPEN, _S.ENDING, _S.FAILED, _S.CLOSED}),
    _S.OPEN: frozenset({_S.RESUMING, _S.ENDING, _S.FAILED, _S.CLOSED}),
    _S.RESUMING: frozenset({_S.OPEN, _S.ENDING, _S.ENDED, _S.FAILED, _S.CLOSED}),
    _S.ENDING: frozenset({_S.ENDED, _S.RESUMING, _S.FAILED, _S.CLOSED}),
    _S.ENDED: frozenset(),
    _S.FAILED: frozenset(),
    _S.CLOSED: frozenset(),
}
_LIVE = frozenset({_S.CONNECTING, _S.OPEN, _S.RESUMING, _S.ENDING})


@dataclass
class Attempt:
    """One connection: replaced whole by each ``Connect``."""

    generation: int = 0
    linked: bool = False  # the handshake is done
    dropped_early: bool = False  # it dropped before handshake_ok
    info_seen: bool = False
    info_deadline: float | None = None


_Handler = TypeVar("_Handler", bound=Callable[..., None])


def _current(handler: _Handler) -> _Handler:
    """The one place that ignores an event of a connection that is no longer the current one,
    or of a stream that is over."""

    def guarded(self: StreamMachine, generation: int, *args: Any) -> None:
        if generation == self.attempt.generation and self.state in _LIVE:
            handler(self, generation, *args)

    guarded.__doc__ = handler.__doc__
    return guarded  # type: ignore[return-value]


class StreamMachine:
    """One stream's producer state. Not thread-safe: the blocking driver holds a lock."""

    def __init__(
        self,
        stream_id: str,
        options: ServerOptions,
        *,
        overwrite: bool = False,
        observer: Observer | None = None,
    ) -> None:
        self.stream_id = stream_id
        self.options = options
        self.state = State.CONNECTING
        self.error: StreamstraightServerError | None = None
        self.window = InFlightWindow(options.max_in_flight_chunks, options.max_in_flight_bytes)
        self.acks = AckWait(options.ack_timeout)
        self.attempt = Attempt()
        self.resume = Resume()
        self.end_request: EndRequest | None = None
        self.end_redis_id: str | None = None
        self._overwrite = overwrite
        self._observer = observer
        self._actions: list[Action] = []
        self._closed_while_connecting = False
        self._writer_waiting = False
        self._last_beat_sent = 0

    def __repr__(self) -> str:
        return (
            f"<StreamMachine {self.stream_id!r} {self.state.value} sent={self.sent} "
            f"confirmed={self.confirmed}>"
        )

    # -- what the outside may ask -------------------------------------------------------------

    @property
    def generation(self) -> int:
        return self.attempt.generation

    @property
    def confirmed(self) -> int:
        return self.window.acked_through

    @property
    def sent(self) -> int:
        return self.window.sent

    @property
    def live(self) -> bool:
        """Not ended, failed or closed: a dropped connection still counts (it resumes)."""
        return self.state in _LIVE

    @property
    def writable(self) -> bool:
        """Open: a chunk goes out now (or once there is room)."""
        return self.state is State.OPEN

    @property
    def reusable(self) -> bool:
        """Live and not ending: the official SDK's current stream may write on."""
        return self.state in _LIVE and self.state is not State.ENDING

    @property
    def connecting(self) -> bool:
        """The first connection is being made: chunks wait in the window."""
        return self.state is State.CONNECTING

    @property
    def linked(self) -> bool:
        """Open, ending or ended: the server has said where the stream stands."""
        return self.state in (State.OPEN, State.ENDING, State.ENDED)

    @property
    def delivered(self) -> bool:
        """The server confirmed END: it holds every chunk."""
        return self.state is State.ENDED

    @property
    def failed(self) -> bool:
        return self.state is State.FAILED

    @property
    def end_only(self) -> bool:
        """The server sends no per-chunk acks: chunks are confirmed by END."""
        return self.acks.end_only

    @property
    def wake_at(self) -> int:
        return self.acks.wake_at

    # -- moving, failing ----------------------------------------------------------------------

    def _goto(self, state: State) -> None:
        before = self.state
        if state not in MOVES[before]:
            raise AssertionError(f"stream {self.stream_id!r}: no move from {before} to {state}")
        self.state = state
        observer = self._observer
        if observer is None:
            return
        if state is State.RESUMING:
            observer.dropped(self.confirmed, self.sent)
        elif before is State.RESUMING and state is not State.FAILED and state is not State.CLOSED:
            observer.resumed(self.confirmed, self.sent)

    def fail(self, error: StreamstraightServerError, cause: BaseException | None = None) -> None:
        """The one way into FAILED. The first failure sticks; later ones are ignored."""
        if self.state not in _LIVE:
            return
        if cause is not None:
            error.__cause__ = cause
        self.error = error.with_progress(self.stream_id, self.confirmed, self.sent)
        self._goto(State.FAILED)
        self._actions.clear()
        if self._observer is not None:
            self._observer.failed(self.error)

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error.fresh()

    def _check_usable(self) -> None:
        self.raise_if_failed()
        if self.state is State.CLOSED and self._closed_while_connecting:
            raise StreamstraightServerAbortError(
                "connect aborted: close() or disconnect() was called while connecting"
            )
        if self.state is State.CLOSED:
            raise WriterClosedError.by_close(self.stream_id)
        if self.state in (State.ENDING, State.ENDED):
            raise WriterClosedError.ended(self.stream_id)

    def take_actions(self) -> list[Action]:
        actions, self._actions = self._actions, []
        return actions

    # -- connecting ---------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Ask for the first connection."""
        self._connect(0.0)

    def _connect(self, delay: float) -> None:
        self.attempt = Attempt(self.attempt.generation + 1)
        first = self.state is State.CONNECTING  # nothing sent yet, whatever waits to be
        overwrite = self._overwrite and first
        self._actions.append(Connect(self.attempt.generation, delay, overwrite, not first))

    @_current
    def handshake_ok(self, generation: int, now: float) -> None:
        """The handshake of ``generation`` succeeded; ``stream:info`` is awaited briefly."""
        attempt = self.attempt
        attempt.linked = True
        if attempt.dropped_early:
            self.connection_lost(generation, now)
        elif not attempt.info_seen:
            attempt.info_deadline = now + min(INFO_WAIT, self.options.connect_timeout)

    @_current
    def connect_failed(self, generation: int, error: BaseException, now: float) -> None:
        """A connection attempt failed. ``error`` is a StreamstraightServerError when retrying
        cannot help (a rejected key, a refused stream), else the transport's exception."""
        resume = self.resume
        resume.last_failure = error
        resume.attempts += 1
        resuming = self.state is not State.CONNECTING
        ended = isinstance(error, HandshakeRejectedError) and error.code == "stream-ended"
        if resuming and ended and self.end_request is not None:
            assert isinstance(error, HandshakeRejectedError)
            self._refused_as_ended(error.details)  # our END may have been stored meanwhile
        elif isinstance(error, StreamstraightServerError) and resuming:
            self.fail(ConnectionLostError.refused(error), error)
        elif isinstance(error, StreamstraightServerError):
            self.fail(error)
        elif resuming:
            if self.resume.exhausted(now, self.options):
                self._fail_resume()
            else:
                self._connect(retry_delay(self.options.connect_retry_delay_ms, resume.attempts - 1))
        elif resume.attempts >= self.options.num_connect_retries + 1:
            timeout = isinstance(error, TimeoutError)
            root = root_cause(error)
            kind = ConnectTimeoutError if timeout else ConnectError
            last = shown(describe(error if timeout else root), self.options.api_key)
            self.fail(kind.after(self.options.base_url, resume.attempts, last), root)
        else:
            self._connect(retry_delay(self.options.connect_retry_delay_ms, resume.attempts - 1))

    def _refused_as_ended(self, details: dict[str, Any]) -> None:
        raw = details.get("lastSeq", "absent")
        if raw is not None and seq_of(raw) is None:
            self.fail(ConnectionLostError.ended_unsaid())
            return
        reason = details.get("endReason")
        held_through = 0 if raw is None else raw + 1
        self._resumed_after_end(held_through, reason if isinstance(reason, str) else None)

    def _fail_resume(self) -> None:
        failure = self.resume.last_failure
        last = shown(describe(failure), self.options.api_key) if failure is not None else None
        error = ConnectionLostError.not_resumed(
            self.options.resume_attempts, self.options.resume_timeout, last
        )
        self.fail(error, failure)

    @_current
    def connection_lost(self, generation: int, now: float) -> None:
        """Connection ``generation`` dropped (or an emit on it failed)."""
        if not self.attempt.linked:
            self.attempt.dropped_early = True  # connect() fails, or handshake_ok() sees this
            return
        if self.state in (State.CONNECTING, State.RESUMING):
            logger.warning(
                "stream %r: the connection closed before the server said where the stream "
                "stands; trying again",
                self.stream_id,
            )
            self.connect_failed(generation, ConnectionError("the connection closed"), now)
            return
        self._dropped(now)

    def _dropped(self, now: float) -> None:
        """OPEN or ENDING lost its connection: resume, within the stream's budgets."""
        window, resume, end = self.window, self.resume, self.end_request
        if end is not None:
            if end.sent_at is not None:
                end.waited += now - end.sent_at
            end.sent_at = end.deadline = None
        self._goto(State.RESUMING)
        resume.started = resume.dropped_at = now
        best = resume.best_confirmed = max(resume.best_confirmed, window.acked_through)
        idle = window.unconfirmed == 0 and end is None and not self._writer_waiting
        if resume.mark is not None and best <= resume.mark and not idle:
            # the server accepted a connection, then dropped it without confirming anything
            # new: the same resume goes on, with what is left of its attempts and time
            resume.attempts += 1
            resume.last_failure = ConnectionError(
                "the server accepted the connection, then dropped it again without confirming "
                "anything new"
            )
            logger.warning(
                "stream %r: the connection dropped again before the server confirmed anything "
                "new (%d of %d chunks confirmed; resume attempt %d of %d)",
                self.stream_id,
                window.acked_through,
                window.sent,
                resume.attempts,
                self.options.resume_attempts,
            )
            if self.resume.exhausted(now, self.options):
                self._fail_resume()
            else:
                self._connect(retry_delay(self.options.connect_retry_delay_ms, resume.attempts - 1))
            return
        logger.warning(
            "stream %r: connection lost with %d of %d chunks confirmed; resuming",
            self.stream_id,
            window.acked_through,
            window.sent,
        )
        resume.mark, resume.spent, resume.attempts = best, 0.0, 0
        if self.options.resume_attempts == 0:
            resume.last_failure = ConnectionError("resume_attempts is 0")
            self._fail_resume()
            return
        self._connect(0.0)

    # -- what the server says -------------------------------------------------------------

    @_current
    def info(self, generation: int, info: StreamInfo, now: float) -> None:
        """``stream:info``: where the server stands on this stream."""
        attempt = self.attempt
        if attempt.info_seen:
            return
        attempt.info_seen = attempt.linked = True
        attempt.info_deadline = None
        if self.state is State.CONNECTING:
            self.resume.attempts = 0  # a first connection that answers counts as a success
            self._opened(info, now)
        elif self.state is State.RESUMING:
            self._resumed(info, now)

    def _info_missing(self, now: float) -> None:
        attempt = self.attempt
        attempt.info_deadline = None
        attempt.info_seen = True
        if self.state is State.CONNECTING:
            self.resume.attempts = 0
            self._opened(StreamInfo(), now)
        elif self.sent > self.window.base or self.end_request is not None:
            self.fail(ConnectionLostError.without_info())
        else:
            self.resume.spent = self.resume.time(now)
            self.resume.started = None
            self._goto(State.OPEN)

    def _opened(self, info: StreamInfo, now: float) -> None:
        if info.ended:
            self.fail(
                HandshakeRejectedError(
                    f"stream {self.stream_id!r} has already ended; pass "
                    "overwrite_existing_stream=True to replace it, or use a new stream_id",
                    code="stream-ended",
                )
            )
            return
        if info.last_seq is not None:
            logger.warning(
                "stream %r already holds chunks 0..%d from an earlier producer; continuing at "
                "seq %d",
                self.stream_id,
                info.last_seq,
                info.last_seq + 1,
            )
            self.window.start_at(info.last_seq + 1)
        if self.sent > self.window.base:  # chunks taken while connecting go out first
            self._actions.append(Resend(self.generation, self.window.chunks_from(self.window.base)))
        self._open_or_end(now)

    def _open_or_end(self, now: float) -> None:
        if self.end_request is not None:
            self._send_end(now)  # end() was called while the connection was not there
        else:
            self._goto(State.OPEN)

    def _resumed(self, info: StreamInfo, now: float) -> None:
        """The resume rule: the server must hold at least what it confirmed, or get it again."""
        window, resume = self.window, self.resume
        held_through = 0 if info.last_seq is None else info.last_seq + 1
        if info.last_seq == 0 and window.sent == 0:
            held_through = 0  # lastSeq 0 also stands for an empty stream
        if info.ended:
            self._resumed_after_end(held_through, info.end_reason)
            return
        if held_through > window.sent:
            self.fail(ConnectionLostError.another_producer(held_through, window.sent))
            return
        if held_through < window.acked_through:
            logger.warning(
                "stream %r: after reconnecting the server holds %d chunks, fewer than the %d it "
                "had confirmed (restart or failover)",
                self.stream_id,
                held_through,
                window.acked_through,
            )
        if window.oldest_held > held_through:
            lost_first, lost_last = held_through, window.oldest_held - 1
            window.server_holds(held_through)
            self.fail(DataLossError.not_held(lost_first, lost_last))
            return
        window.server_holds(held_through)
        resend = window.chunks_from(held_through)
        logger.warning(
            "stream %r: resumed; resending %d chunks from seq %d",
            self.stream_id,
            len(resend),
            held_through,
        )
        if resend:
            self._actions.append(Resend(self.generation, resend))
        resume.spent, resume.started = self.resume.time(now), None
        if resume.mark is not None and window.acked_through > resume.mark:
            resume.mark = None  # the server holds more than ever before: resumed
        resume.best_confirmed = max(resume.best_confirmed, window.acked_through)
        dropped_at = resume.dropped_at if resume.dropped_at is not None else now
        self.acks.reconnected(window, now, now - dropped_at)
        self._open_or_end(now)

    def _resumed_after_end(self, held_through: int, reason: str | None) -> None:
        """The server ended the stream while we were away: delivered only if it is our END
        and the server holds every chunk."""
        sent, end = self.sent, self.end_request
        ours = end is not None and (reason is None or reason == end.reason)
        if ours and held_through == sent:
            if reason is None:
                logger.warning(
                    "stream %r: the server had ended the stream when the answer to END was "
                    "lost; it holds all %d chunks but does not say why it ended",
                    self.stream_id,
                    sent,
                )
            self._ended("")
            return
        key = self.options.api_key
        what = f"ended it ({server_words.end_reason(reason, key)})" if reason else "ended it"
        if held_through < sent:
            self.window.server_holds(held_through)
            self.fail(DataLossError.ended_short(what, held_through, sent))
        else:
            self.fail(ConnectionLostError.ended_meanwhile(what, held_through))

    def ack(self, generation: int, seq: object) -> bool:
        """``producer:ack``; True when a waiting writer should wake. The per-chunk hot path,
        so it checks the generation itself rather than through ``_current``.

        An ack of an earlier connection is ignored like its other events: it may come from a
        server that has since restarted without the chunk, and ``stream:info`` says what the
        server holds now."""
        if generation == self.attempt.generation and self.window.note_ack(seq):
            acks = self.acks
            if acks.end_only and acks.acks_back():
                logger.info("stream %r: the server confirms chunks again", self.stream_id)
            return self.window.acked_through >= acks.wake_at >= 0
        return False

    @_current
    def server_error(self, generation: int, error: ServerError, now: float) -> None:
        """``stream:error`` or ``connection:error``: the stream fails with the server's words."""
        if error.code == "stream-busy" and self.state is State.RESUMING:
            # the server has not yet noticed that our previous connection is gone
            self.attempt.linked = True
            self.connect_failed(generation, ConnectionError("the stream is still busy"), now)
            return
        self.fail(server_words.stream_error(error, self.options.api_key, self.stream_id))

    @_current
    def end_answer(self, generation: int, answer: EndAnswer) -> None:
        """The server's answer to END."""
        if self.state is not State.ENDING:
            return
        key = self.options.api_key
        if answer.success is True:
            self._ended(server_words.end_id(answer.end_id, key, self.stream_id))
        else:
            self.fail(server_words.end_refusal(answer, key))

    def _ended(self, redis_id: str) -> None:
        self.window.confirm_all()
        self.end_redis_id = redis_id
        self._goto(State.ENDED)
        logger.info(
            "stream %r: ended (%s), %d chunks confirmed",
            self.stream_id,
            self.end_request.reason if self.end_request else None,
            self.sent,
        )

    # -- the writer's calls -----------------------------------------------------------------

    def send(self, data: str, size: int) -> int | NoRoom:
        """Take one encoded chunk; returns its seq, to be emitted on the current connection
        (or, while the first connection is being made, held until it is open, then sent), or
        ``WAIT_FOR_ROOM`` when the writer must first wait for ``Goal.ROOM``."""
        if self.state is State.CONNECTING and self.error is None:
            if not self.window.has_room(size):
                return WAIT_FOR_ROOM
            return self.window.add(data, size)
        if self.state is not State.OPEN:
            self._check_usable()
            return WAIT_FOR_ROOM
        window = self.window
        if not window.has_room(size):
            if not self.acks.end_only:
                return WAIT_FOR_ROOM
            window.evict_for(size)
        return window.add(data, size)

    def ready(self, goal: Goal, size: int = 0) -> bool:
        """Whether ``goal`` is met; raises the stream's error when it never will be."""
        state = self.state
        if goal is Goal.ENDED:
            if state is State.ENDED:
                return True
            if state is State.FAILED or state is State.CLOSED:
                self._check_usable()  # raises the failure, or why it was closed
            return False
        self._check_usable()
        if state is not State.OPEN:
            return False
        if goal is Goal.ROOM:
            return self.acks.end_only or self.window.has_room(size)
        if goal is Goal.FLUSHED:
            return self.acks.end_only or self.window.unconfirmed == 0
        return True

    def begin_wait(self, goal: Goal, now: float) -> None:
        """A writer starts waiting for ``goal``: timers for acks start here."""
        self._writer_waiting = True
        window = self.window
        if goal is Goal.ROOM:
            # wake once a quarter of what is in flight is confirmed rather than on every ack
            self.acks.begin(window.acked_through + max(1, window.unconfirmed // 4), window, now)
        elif goal is Goal.FLUSHED:
            self.acks.begin(window.sent, window, now)

    def end_wait(self) -> None:
        self._writer_waiting = False
        self.acks.end()

    def end(self, reason: ProducerEndReason, now: float, *, timeout: float | None = None) -> None:
        """Ask for END; wait for ``Goal.ENDED`` afterwards."""
        self._check_usable()
        if self.end_request is not None:
            return
        limit = self.options.end_timeout if timeout is None else timeout
        self.end_request = EndRequest(reason, limit)
        if self.state is State.OPEN:
            self._send_end(now)
        # CONNECTING or RESUMING: END goes out once the connection is back

    def _send_end(self, now: float) -> None:
        end = self.end_request
        assert end is not None
        self._goto(State.ENDING)
        payload: EndPayload = {"reason": end.reason, "lastSeq": last_seq_for(self.sent)}
        self._actions.append(SendEnd(self.generation, payload))
        # END's deadline counts its wait on every connection; sent again after a drop, it gets
        # what is left (and a moment for the round trip)
        end.sent_at = now
        end.deadline = now + max(end.timeout - end.waited, min(RESUME_GRACE, end.timeout))

    def close(self) -> None:
        """The writer is done with the stream, whatever state it is in."""
        if self.state not in _LIVE:
            return
        if self.state is State.CONNECTING and self.sent:
            logger.warning(
                "stream %r: closed before its connection opened; the %d chunk(s) send() took "
                "never reached the server",
                self.stream_id,
                self.sent,
            )
        elif self.sent > self.window.base:
            logger.warning(
                "stream %r: closed with %d chunks sent and no confirmed END; readers will see "
                "the stream end as producer-disconnected",
                self.stream_id,
                self.sent,
            )
        self._closed_while_connecting = self.state is State.CONNECTING
        self._goto(State.CLOSED)
        self._actions.clear()

    # -- time -------------------------------------------------------------------------------

    def poll(self, now: float) -> None:
        """Let time pass: deadlines for ``stream:info``, acks, END and resuming."""
        if self.state not in _LIVE:
            return
        deadline = self.attempt.info_deadline
        if deadline is not None and now >= deadline:
            self._info_missing(now)
        state, end = self.state, self.end_request
        if state is State.ENDING and end is not None and end.deadline is not None:
            if now >= end.deadline:
                self.fail(EndTimeoutError.after(end.timeout))
        elif state is State.RESUMING and self.resume.started is not None:
            if self.resume.time(now) >= self.options.resume_timeout:
                resume = self.resume
                resume.last_failure = resume.last_failure or TimeoutError("resume_timeout")
                self._fail_resume()
        elif state is State.OPEN:
            outcome = self.acks.check(self.window, now)
            if outcome == "probe":
                logger.warning(
                    "stream %r: the server sends no per-chunk acks; chunks are confirmed when "
                    "the stream ends, and the window becomes a resend buffer",
                    self.stream_id,
                )
            elif outcome == "timeout":
                self.fail(AckTimeoutError.after(self.options.ack_timeout))

    def next_deadline(self) -> float | None:
        """When ``poll`` next has something to do (None: nothing is timed)."""
        if self.state not in _LIVE:
            return None
        end, resume = self.end_request, self.resume
        candidates = [self.attempt.info_deadline]
        if end is not None:
            candidates.append(end.deadline)
        if self.state is State.RESUMING and resume.started is not None:
            candidates.append(resume.started + self.options.resume_timeout - resume.spent)
        if self.state is State.OPEN:
            candidates.append(self.acks.next_deadline(self.window))
        timed = [t for t in candidates if t is not None]
        return min(timed) if timed else None

    def heartbeat_due(self) -> bool:
        """Called every heartbeat interval: True when nothing was sent since the last call."""
        sent = self.sent
        idle = sent == self._last_beat_sent
        self._last_beat_sent = sent
        return idle and self.state is State.OPEN
