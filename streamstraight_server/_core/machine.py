"""The producer side of one stream, as a state machine that does no I/O.

Read top to bottom, this file is what the SDK promises: a stream is reported delivered only when
the server holds every chunk ``0 .. n - 1``, in order, once; any other outcome is an error that
says which chunks the server holds.

The machine owns no socket, clock or thread (in the style of h11 and wsproto). A driver feeds it
what happened (``handshake_ok``, ``info``, ``ack``, ``server_error``, ``end_answer``,
``connection_lost``, ``connect_failed``, ``poll`` with the time) and what the writer wants
(``send``, ``wait_for``, ``end``, ``close``), and performs the actions it asks for, taken with
``take_actions()``: connect (after a delay), resend chunks, send END. Events about a connection
that is no longer the current one carry an old ``generation`` and are ignored.

States::

    CONNECTING --info--> OPEN --end()--> ENDING --answer--> ENDED
        |                 |  ^              |
        |            drop v  | info         | drop
        |              RESUMING <-----------+
        +---------> FAILED (from anywhere, through fail())      CLOSED (close())

A failed machine raises its error again, as a fresh copy, from every later call.

Budgets belong to the stream, not to a connection. A resume lasts from a drop until the server
confirms something new (an ack, or a ``stream:info`` that holds more than was confirmed): a
server that accepts, answers and drops again without that continues the same resume, with what
is left of ``resume_attempts`` and ``resume_timeout`` (time spent reconnecting). END's deadline
counts the time END waited on every connection, and the ack deadline moves only by the time
spent reconnecting. Only a drop with nothing outstanding while no writer waits (an idle stream)
starts afresh.

Text from the server reaches messages and logs scrubbed of the key, then cut short
(``redact.shown``); hints such as ``retryInMs`` are checked before they are passed on.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

from .acks import InFlightWindow, PendingChunk
from .backoff import MAX_RETRY_WAIT, retry_delay
from .errors import (
    AckTimeoutError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    DataLossError,
    EndRejectedError,
    EndTimeoutError,
    HandshakeRejectedError,
    StreamError,
    StreamstraightServerAbortError,
    StreamstraightServerError,
    WriterClosedError,
    describe,
    root_cause,
)
from .options import ServerOptions
from .protocol import PRODUCER_END_REASONS, EndPayload, ProducerEndReason, last_seq_for
from .redact import cut, scrub, shown, whole
from .stderr_fallback import FOR_A_PERSON

logger = logging.getLogger("streamstraight_server")

#: how long to wait for ``stream:info`` after a handshake; a server may not send it
INFO_WAIT = 1.0
#: without a single ``producer:ack`` by then, the server is taken to confirm only END
ACK_PROBE = 2.0
#: how long ``abort()`` waits for the answer to its END
ABORT_END_TIMEOUT = 5.0
#: after a resume, what is resent (or END) gets at least this long before a deadline expires
RESUME_GRACE = 1.0
#: ``lastSeq`` beyond this is not a seq (JavaScript's largest exact integer)
MAX_SEQ = 2**53 - 1
#: longest ``endRedisId`` passed on; a longer one is not an id
MAX_END_ID = 256


class State(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    RESUMING = "resuming"
    ENDING = "ending"
    ENDED = "ended"
    FAILED = "failed"
    CLOSED = "closed"


class Goal(enum.Enum):
    """What a waiting writer waits for."""

    OPEN = "the connection"
    ROOM = "room in the in-flight window"
    FLUSHED = "confirmation of every chunk sent"
    ENDED = "the answer to END"


@dataclass(frozen=True)
class Connect:
    """Open connection ``generation`` after ``delay`` seconds (closing the previous one)."""

    generation: int
    delay: float
    overwrite: bool


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

_TERMINAL = (State.ENDED, State.FAILED, State.CLOSED)


class StreamMachine:
    """One stream's producer state. Not thread-safe: the blocking driver holds a lock."""

    def __init__(self, stream_id: str, options: ServerOptions, *, overwrite: bool = False) -> None:
        self.stream_id = stream_id
        self.options = options
        self.state = State.CONNECTING
        self.error: StreamstraightServerError | None = None
        self.window = InFlightWindow(options.max_in_flight_chunks, options.max_in_flight_bytes)
        self.end_redis_id: str | None = None
        self._overwrite = overwrite
        self._actions: list[Action] = []
        #: the connection events are accepted from; bumped by every Connect
        self.generation = 0
        self._linked = False  # the handshake of the current generation is done
        self._dropped_early = False  # the current generation dropped before handshake_ok
        self._closed_while_connecting = False
        self._info_seen = False
        self._info_deadline: float | None = None
        #: failed connection attempts: of the first connection, or of the resume under way
        self._attempts = 0
        self._attempts_allowed = options.num_connect_retries + 1
        #: the most chunks the server ever confirmed at once (it may lose some afterwards)
        self._best_confirmed = 0
        #: the resume under way: ``_best_confirmed`` when it began (None: no resume under way),
        #: the time spent reconnecting in it so far, when its current reconnection began, and
        #: when the connection dropped
        self._resume_mark: int | None = None
        self._resume_spent = 0.0
        self._resume_started: float | None = None
        self._dropped_at: float | None = None
        self._last_failure: BaseException | None = None
        self._end_reason: ProducerEndReason | None = None
        self._end_deadline: float | None = None
        self._end_timeout = options.end_timeout
        self._end_sent_at: float | None = None
        self._end_waited = 0.0  # time END waited on connections that dropped
        self._writer_waiting = False
        #: a writer is waiting for acks since then (None: nobody waits for acks)
        self._ack_wait_since: float | None = None
        self._ack_deadline: float | None = None
        self._ack_mark = 0  # acked_through when the ack deadline was last pushed back
        self._probed = False
        self.end_only = False
        #: while a writer waits, an ack wakes it only once this seq is confirmed
        self.wake_at = -1
        self._last_beat_sent = 0
        #: False when the owner reports the failure itself (a tee), so that it is logged once
        self.log_failure = True

    def __repr__(self) -> str:
        window = self.window
        return (
            f"<StreamMachine {self.stream_id!r} {self.state.value} sent={window.sent} "
            f"confirmed={window.acked_through}>"
        )

    # -- progress and failure -----------------------------------------------------------

    @property
    def confirmed(self) -> int:
        return self.window.acked_through

    @property
    def sent(self) -> int:
        return self.window.sent

    def _progress(self, error: StreamstraightServerError) -> StreamstraightServerError:
        return error.with_progress(self.stream_id, self.window.acked_through, self.window.sent)

    def fail(self, error: StreamstraightServerError, cause: BaseException | None = None) -> None:
        """The one way into FAILED. The first failure sticks; later ones are ignored."""
        if self.state in _TERMINAL:
            return
        if cause is not None:
            error.__cause__ = cause
        self.error = self._progress(error)
        self.state = State.FAILED
        self._actions.clear()
        if self.log_failure:
            logger.error("%s", self.error, extra=FOR_A_PERSON)

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
            raise WriterClosedError(
                f"stream {self.stream_id!r}: closed by close() or disconnect(); open a new "
                "writer to write again"
            )
        if self.state in (State.ENDING, State.ENDED):
            raise WriterClosedError(
                f"stream {self.stream_id!r} has ended; open a new writer to write another"
            )

    def take_actions(self) -> list[Action]:
        actions, self._actions = self._actions, []
        return actions

    # -- connecting ---------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Ask for the first connection."""
        self._connect(0.0, now)

    def _connect(self, delay: float, now: float) -> None:
        self.generation += 1
        self._linked = False
        self._dropped_early = False
        self._info_seen = False
        self._info_deadline = None
        overwrite = self._overwrite and self.window.sent == 0 and self.state is State.CONNECTING
        self._actions.append(Connect(self.generation, delay, overwrite))

    def handshake_ok(self, generation: int, now: float) -> None:
        """The handshake of ``generation`` succeeded; ``stream:info`` is awaited briefly."""
        if generation != self.generation or self.state in _TERMINAL:
            return
        if self._dropped_early:
            self._linked = True
            self.connection_lost(generation, now)
            return
        self._linked = True
        if not self._info_seen:
            self._info_deadline = now + min(INFO_WAIT, self.options.connect_timeout)

    def connect_failed(self, generation: int, error: BaseException, now: float) -> None:
        """A connection attempt failed. ``error`` is a StreamstraightServerError when retrying
        cannot help (a rejected key, a refused stream), else the transport's exception."""
        if generation != self.generation or self.state in _TERMINAL:
            return
        self._last_failure = error
        self._attempts += 1
        resuming = self.state is not State.CONNECTING
        if (
            resuming
            and isinstance(error, HandshakeRejectedError)
            and error.code == "stream-ended"
            and self._end_reason is not None
        ):
            # our END may have been stored before the connection dropped
            self._refused_as_ended(error.details)
            return
        if isinstance(error, StreamstraightServerError):
            if resuming:
                self.fail(
                    ConnectionLostError(
                        f"the connection dropped and resuming was refused: {error}"
                    ),
                    cause=error,
                )
            else:
                self.fail(error)
            return
        if resuming:
            if self._resume_exhausted(now):
                self._fail_resume()
                return
        elif self._attempts >= self._attempts_allowed:
            kind = ConnectTimeoutError if isinstance(error, TimeoutError) else ConnectError
            attempts = self._attempts
            root = root_cause(error)
            named = error if isinstance(error, TimeoutError) else root
            self.fail(
                kind(
                    f"could not connect to {self.options.base_url} after {attempts} attempt"
                    f"{'s' if attempts > 1 else ''}: {self._said(describe(named))}",
                    attempts=attempts,
                ),
                cause=root,
            )
            return
        self._connect(retry_delay(self.options.connect_retry_delay_ms, self._attempts - 1), now)

    def _refused_as_ended(self, details: dict[str, Any]) -> None:
        raw = details.get("lastSeq", "absent")
        reason = details.get("endReason")
        if raw is not None and _seq(raw) is None:
            self.fail(
                ConnectionLostError(
                    "the connection dropped during END and the server now refuses the stream as "
                    "ended without saying which chunks it holds; the stream may be incomplete"
                )
            )
            return
        held_through = 0 if raw is None else raw + 1
        self._resumed_after_end(held_through, reason if isinstance(reason, str) else None)

    def _resume_time(self, now: float) -> float:
        """Time spent reconnecting in the resume under way."""
        started = self._resume_started if self._resume_started is not None else now
        return self._resume_spent + (now - started)

    def _resume_exhausted(self, now: float) -> bool:
        return (
            self._attempts >= self.options.resume_attempts
            or self._resume_time(now) >= self.options.resume_timeout
        )

    def _fail_resume(self) -> None:
        failure = self._last_failure
        self.fail(
            ConnectionLostError(
                f"the connection dropped and could not be resumed within "
                f"{self.options.resume_attempts} attempts / {self.options.resume_timeout:g}s"
                + (f": {self._said(describe(failure))}" if failure is not None else "")
            ),
            cause=failure,
        )

    def connection_lost(self, generation: int, now: float) -> None:
        """Connection ``generation`` dropped (or an emit on it failed)."""
        if generation != self.generation or self.state in _TERMINAL:
            return
        if not self._linked:
            # during the handshake: connect() fails, or handshake_ok() sees this flag
            self._dropped_early = True
            return
        if self.state in (State.CONNECTING, State.RESUMING):
            # the attempt dropped before stream:info: it counts as a failed attempt
            logger.warning(
                "stream %r: the connection closed before the server said where the stream "
                "stands; trying again",
                self.stream_id,
            )
            self.connect_failed(generation, ConnectionError("the connection closed"), now)
            return
        window = self.window
        if self._end_sent_at is not None:
            self._end_waited += now - self._end_sent_at
            self._end_sent_at = None
        self._end_deadline = None
        self.state = State.RESUMING
        self._resume_started = self._dropped_at = now
        best = self._best_confirmed = max(self._best_confirmed, window.acked_through)
        idle = window.unconfirmed == 0 and self._end_reason is None and not self._writer_waiting
        if self._resume_mark is not None and best <= self._resume_mark and not idle:
            # the server accepted a connection, then dropped it without confirming anything
            # new: the same resume goes on, with what is left of its attempts and time
            self._attempts += 1
            self._last_failure = ConnectionError(
                "the server accepted the connection, then dropped it again without confirming "
                "anything new"
            )
            logger.warning(
                "stream %r: the connection dropped again before the server confirmed anything "
                "new (%d of %d chunks confirmed; resume attempt %d of %d)",
                self.stream_id,
                window.acked_through,
                window.sent,
                self._attempts,
                self.options.resume_attempts,
            )
            if self._resume_exhausted(now):
                self._fail_resume()
                return
            self._connect(retry_delay(self.options.connect_retry_delay_ms, self._attempts - 1), now)
            return
        logger.warning(
            "stream %r: connection lost with %d of %d chunks confirmed; resuming",
            self.stream_id,
            window.acked_through,
            window.sent,
        )
        self._resume_mark = best
        self._resume_spent = 0.0
        self._attempts = 0
        if self.options.resume_attempts == 0:
            self._last_failure = ConnectionError("resume_attempts is 0")
            self._fail_resume()
            return
        self._connect(0.0, now)

    # -- what the server says -----------------------------------------------------------

    def info(self, generation: int, payload: Any, now: float) -> None:
        """``stream:info``: where the server stands on this stream."""
        if generation != self.generation or self.state in _TERMINAL or self._info_seen:
            return
        self._info_seen = True
        self._linked = True
        self._info_deadline = None
        data = payload if isinstance(payload, dict) else {}
        last_seq = _seq(data.get("lastSeq"))  # anything else counts as null
        ended = data.get("ended") is True
        end_reason = data.get("endReason") if isinstance(data.get("endReason"), str) else None
        if self.state is State.CONNECTING:
            self._attempts = 0  # a first connection that answers counts as a success
            self._opened(last_seq, ended, now)
        elif self.state is State.RESUMING:
            self._resumed(last_seq, ended, end_reason, now)

    def _info_missing(self, now: float) -> None:
        self._info_deadline = None
        self._info_seen = True
        if self.state is State.CONNECTING:
            self._attempts = 0
            self._opened(None, False, now)
        elif self.window.sent > self.window.base or self._end_reason is not None:
            self.fail(
                ConnectionLostError(
                    "the connection dropped and, after reconnecting, the server did not say "
                    "which chunks it holds (no stream:info); resuming could lose or duplicate "
                    "chunks"
                )
            )
        else:
            self._resume_spent = self._resume_time(now)
            self._resume_started = None
            self.state = State.OPEN

    def _opened(self, last_seq: int | None, ended: bool, now: float) -> None:
        if ended:
            self.fail(
                HandshakeRejectedError(
                    f"stream {self.stream_id!r} has already ended; pass "
                    "overwrite_existing_stream=True to replace it, or use a new stream_id",
                    code="stream-ended",
                )
            )
            return
        if last_seq is not None:
            logger.warning(
                "stream %r already holds chunks 0..%d from an earlier producer; continuing at "
                "seq %d",
                self.stream_id,
                last_seq,
                last_seq + 1,
            )
            self.window.start_at(last_seq + 1)
        if self._end_reason is not None:
            self._send_end(now)  # end() was called before the connection was open
        else:
            self.state = State.OPEN

    def _resumed(self, last_seq: int | None, ended: bool, reason: str | None, now: float) -> None:
        """The resume rule: the server must hold at least what it confirmed, or get it again."""
        window = self.window
        held_through = 0 if last_seq is None else last_seq + 1
        if last_seq == 0 and window.sent == 0:
            held_through = 0  # lastSeq 0 also stands for an empty stream
        if ended:
            self._resumed_after_end(held_through, reason)
            return
        if held_through > window.sent:
            self.fail(
                ConnectionLostError(
                    f"after reconnecting, the server holds seq 0..{held_through - 1} but only "
                    f"{window.sent} chunks were sent: another producer wrote this stream"
                )
            )
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
            lost = (held_through, window.oldest_held - 1)
            window.server_holds(held_through)
            self.fail(
                DataLossError(
                    f"after reconnecting, the server lacks seq {lost[0]}..{lost[1]}, which are "
                    "no longer held for resending; the stream cannot be completed",
                    missing=lost,
                )
            )
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
        self._resume_spent = self._resume_time(now)
        self._resume_started = None
        if self._resume_mark is not None and window.acked_through > self._resume_mark:
            self._resume_mark = None  # the server holds more than ever before: resumed
        self._best_confirmed = max(self._best_confirmed, window.acked_through)
        if self._ack_wait_since is not None:
            # the time spent reconnecting is not time the server had to ack: the ack probe
            # starts again, and the ack deadline moves by that time (not further, though what
            # was resent gets a moment), so a server that keeps dropping renews nothing
            reconnecting = now - (self._dropped_at if self._dropped_at is not None else now)
            self._ack_wait_since = now
            if self._ack_deadline is not None:
                self._ack_deadline = max(
                    self._ack_deadline + reconnecting,
                    now + min(RESUME_GRACE, self.options.ack_timeout),
                )
            self._ack_mark = min(self._ack_mark, window.acked_through)
        if self._end_reason is not None:
            self._send_end(now)
        else:
            self.state = State.OPEN

    def _resumed_after_end(self, held_through: int, reason: str | None) -> None:
        """The server ended the stream while we were away: delivered only if it is our END
        and the server holds every chunk."""
        sent = self.window.sent
        ours = self._end_reason is not None and (reason is None or reason == self._end_reason)
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
        what = f"ended it ({self._reason_text(reason)})" if reason else "ended it"
        if held_through < sent:
            lost = (held_through, sent - 1)
            self.window.server_holds(held_through)
            self.fail(
                DataLossError(
                    f"after reconnecting, the server has {what} holding seq 0..{held_through - 1}"
                    f" only; seq {lost[0]}..{lost[1]} are not in the stream"
                    if held_through
                    else f"after reconnecting, the server has {what} holding no chunks; seq "
                    f"{lost[0]}..{lost[1]} are not in the stream",
                    missing=lost,
                )
            )
            return
        self.fail(
            ConnectionLostError(
                f"after reconnecting, the server has {what} (it holds seq 0..{held_through - 1})"
            )
        )

    def ack(self, generation: int, seq: object) -> bool:
        """``producer:ack``; True when a waiting writer should wake. The per-chunk hot path.

        An ack of an earlier connection is ignored like its other events: it may come from a
        server that has since restarted without the chunk, and ``stream:info`` says what the
        server holds now."""
        if generation == self.generation and self.window.note_ack(seq):
            if self.end_only:
                self.end_only = False  # acks are back: flow control again, with no new probe
                logger.info("stream %r: the server confirms chunks again", self.stream_id)
            return self.window.acked_through >= self.wake_at >= 0
        return False

    def server_error(self, generation: int, payload: Any, now: float) -> None:
        """``stream:error`` or ``connection:error``: the stream fails with the server's words."""
        if generation != self.generation or self.state in _TERMINAL:
            return
        data = payload if isinstance(payload, dict) else {}
        code = data.get("code") if isinstance(data.get("code"), str) else None
        if code == "stream-busy" and self.state is State.RESUMING:
            # the server has not yet noticed that our previous connection is gone
            self._linked = True
            self.connect_failed(generation, ConnectionError("the stream is still busy"), now)
            return
        message = data.get("message")
        if not isinstance(message, str) or not message:
            message = "an unspecified error"
        key = self.options.api_key  # a server may echo what it was sent
        self.fail(
            StreamError(
                f"the server reported: {shown(message, key)}",
                code=None if code is None else shown(code, key, limit=MAX_CODE),
                retry_in_ms=self._retry_hint(data.get("retryInMs")),
                server_message=scrub(message, key),
            )
        )

    def _retry_hint(self, retry: object) -> int | None:
        """``retryInMs`` when it is a whole number of ms within the longest retry wait."""
        if retry is None:
            return None
        if type(retry) is int and 0 <= retry <= MAX_RETRY_WAIT * 1000:
            return retry
        logger.warning(
            "stream %r: ignoring the server's retryInMs %s: not a whole number of "
            "milliseconds from 0 to %d",
            self.stream_id,
            cut(whole(retry), limit=40),
            int(MAX_RETRY_WAIT * 1000),
        )
        return None

    def end_answer(self, generation: int, answer: Any) -> None:
        """The server's answer to END."""
        if generation != self.generation or self.state is not State.ENDING:
            return
        key = self.options.api_key
        if isinstance(answer, dict) and answer.get("success") is True:
            self._ended(self._end_id(answer.get("endRedisId")))
        elif isinstance(answer, dict) and answer.get("success") is False:
            reason = whole(answer.get("error") or "no reason given", key)
            self.fail(
                EndRejectedError(f"the server refused END: {cut(reason)}", server_message=reason)
            )
        else:
            said = whole(answer, key, quoted=True)
            self.fail(
                EndRejectedError(f"the server answered END with {cut(said)}", server_message=said)
            )

    def _end_id(self, redis_id: object) -> str:
        if isinstance(redis_id, str) and len(redis_id) <= MAX_END_ID:
            return scrub(redis_id, self.options.api_key)
        if redis_id is not None:
            logger.warning(
                "stream %r: the server's endRedisId is not an id (%s); it is not passed on",
                self.stream_id,
                cut(whole(redis_id, self.options.api_key), limit=60),
            )
        return ""

    def _reason_text(self, reason: str) -> str:
        return (
            reason
            if reason in PRODUCER_END_REASONS or reason in _OTHER_END_REASONS
            else (shown(reason, self.options.api_key, limit=MAX_CODE))
        )

    def _said(self, text: str) -> str:
        """Text that may quote the server (a transport's error), as a message shows it."""
        return shown(text, self.options.api_key)

    def _ended(self, redis_id: str) -> None:
        self.window.confirm_all()
        self.end_redis_id = redis_id
        self.state = State.ENDED
        logger.info(
            "stream %r: ended (%s), %d chunks confirmed",
            self.stream_id,
            self._end_reason,
            self.window.sent,
        )

    # -- the writer's calls -------------------------------------------------------------

    def send(self, data: str, size: int) -> int:
        """Take one encoded chunk; returns its seq, to be emitted on the current connection,
        or -1 when the writer must first wait for ``Goal.ROOM``."""
        if self.state is not State.OPEN:
            self._check_usable()
            return -1
        window = self.window
        if not window.has_room(size):
            if not self.end_only:
                return -1
            window.evict_for(size)
        return window.add(data, size)

    def ready(self, goal: Goal, size: int = 0) -> bool:
        """Whether ``goal`` is met; raises the stream's error when it never will be."""
        state = self.state
        if goal is Goal.ENDED:
            if state is State.ENDED:
                return True
            self.raise_if_failed()
            if state is State.CLOSED:
                raise WriterClosedError(
                    f"stream {self.stream_id!r}: closed by close() or disconnect(); open a new "
                    "writer to write again"
                )
            return False
        self._check_usable()
        if state is not State.OPEN:
            return False
        if goal is Goal.ROOM:
            return self.end_only or self.window.has_room(size)
        if goal is Goal.FLUSHED:
            return self.end_only or self.window.unconfirmed == 0
        return True

    def begin_wait(self, goal: Goal, now: float) -> None:
        """A writer starts waiting for ``goal``: timers for acks start here."""
        self._writer_waiting = True
        window = self.window
        if goal is Goal.ROOM:
            # wake once a quarter of what is in flight is confirmed rather than on every ack
            self.wake_at = window.acked_through + max(1, window.unconfirmed // 4)
        elif goal is Goal.FLUSHED:
            self.wake_at = window.sent
        else:
            self.wake_at = -1
            return
        self._ack_wait_since = now
        self._ack_deadline = now + self.options.ack_timeout
        self._ack_mark = window.acked_through

    def end_wait(self) -> None:
        self._writer_waiting = False
        self.wake_at = -1
        self._ack_wait_since = None
        self._ack_deadline = None

    def end(self, reason: ProducerEndReason, now: float, *, timeout: float | None = None) -> None:
        """Ask for END; wait for ``Goal.ENDED`` afterwards."""
        self._check_usable()
        if self._end_reason is not None:
            return
        self._end_reason = reason
        if timeout is not None:
            self._end_timeout = timeout
        if self.state is State.OPEN:
            self._send_end(now)
        # CONNECTING or RESUMING: END goes out once the connection is back

    def _send_end(self, now: float) -> None:
        assert self._end_reason is not None
        self.state = State.ENDING
        payload: EndPayload = {"reason": self._end_reason, "lastSeq": last_seq_for(self.sent)}
        self._actions.append(SendEnd(self.generation, payload))
        # END's deadline counts its wait on every connection; sent again after a drop, it gets
        # what is left (and a moment for the round trip)
        left = self._end_timeout - self._end_waited
        self._end_sent_at = now
        self._end_deadline = now + max(left, min(RESUME_GRACE, self._end_timeout))

    def close(self) -> None:
        """The writer is done with the stream, whatever state it is in."""
        if self.state in _TERMINAL:
            return
        if self.window.sent > self.window.base:
            logger.warning(
                "stream %r: closed with %d chunks sent and no confirmed END; readers will see "
                "the stream end as producer-disconnected",
                self.stream_id,
                self.window.sent,
            )
        self._closed_while_connecting = self.state is State.CONNECTING
        self.state = State.CLOSED
        self._actions.clear()

    # -- time ---------------------------------------------------------------------------

    def poll(self, now: float) -> None:
        """Let time pass: deadlines for ``stream:info``, acks, END and resuming."""
        state = self.state
        if state in _TERMINAL:
            return
        if self._info_deadline is not None and now >= self._info_deadline:
            self._info_missing(now)
            state = self.state
        if state is State.ENDING and self._end_deadline is not None and now >= self._end_deadline:
            self.fail(
                EndTimeoutError(f"the server did not answer END within {self._end_timeout:g}s")
            )
            return
        if (
            state is State.RESUMING
            and self._resume_started is not None
            and self._resume_time(now) >= self.options.resume_timeout
        ):
            self._last_failure = self._last_failure or TimeoutError("resume_timeout")
            self._fail_resume()
            return
        if state is State.OPEN and self._ack_wait_since is not None:
            self._poll_acks(now)

    def _poll_acks(self, now: float) -> None:
        window = self.window
        if window.acked_through > self._ack_mark:  # something new was confirmed
            self._ack_mark = window.acked_through
            self._ack_deadline = now + self.options.ack_timeout
        if (
            not self._probed
            and not window.acks_seen
            and self._ack_wait_since is not None
            and now - self._ack_wait_since >= min(ACK_PROBE, self.options.ack_timeout)
        ):
            self._probed = True
            self.end_only = True
            logger.warning(
                "stream %r: the server sends no per-chunk acks; chunks are confirmed when the "
                "stream ends, and the window becomes a resend buffer",
                self.stream_id,
            )
            return
        if self.end_only:
            return
        if self._ack_deadline is not None and now >= self._ack_deadline:
            self.fail(
                AckTimeoutError(
                    f"no confirmation from the server for {self.options.ack_timeout:g}s while "
                    "waiting for acks"
                )
            )

    def next_deadline(self) -> float | None:
        """When ``poll`` next has something to do (None: nothing is timed)."""
        if self.state in _TERMINAL:
            return None
        candidates = [t for t in (self._info_deadline, self._end_deadline) if t is not None]
        if self.state is State.RESUMING and self._resume_started is not None:
            left = self.options.resume_timeout - self._resume_spent
            candidates.append(self._resume_started + left)
        if self._ack_wait_since is not None and self.state is State.OPEN and not self.end_only:
            if self._ack_deadline is not None:
                candidates.append(self._ack_deadline)
            if not self._probed and not self.window.acks_seen:
                candidates.append(self._ack_wait_since + min(ACK_PROBE, self.options.ack_timeout))
        return min(candidates) if candidates else None

    def heartbeat_due(self) -> bool:
        """Called every heartbeat interval: True when nothing was sent since the last call."""
        sent = self.window.sent
        idle = sent == self._last_beat_sent
        self._last_beat_sent = sent
        return idle and self.state is State.OPEN


#: longest error code or end reason of the server's shown in a message
MAX_CODE = 64
_OTHER_END_REASONS = ("producer-disconnected", "inactivity-timeout", "not-found", "ignore-ended")


def _seq(value: object) -> int | None:
    """A seq from the server, or None for anything that is not one."""
    return value if type(value) is int and 0 <= value <= MAX_SEQ else None
