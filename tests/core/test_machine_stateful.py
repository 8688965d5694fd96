"""The stream state machine against a model server, in random interleavings (Hypothesis).

The test plays both the driver (performing the machine's actions, feeding it events, a writer
that sends, flushes and ends) and a model server that stores chunks by seq, acks them or not,
answers END, drops connections and restarts with or without its store. Whatever happens, the
machine may report a stream delivered only when the server holds exactly the chunks sent, and
its errors never claim more than the server holds.

The model server may also turn hostile: from then on it accepts every connection, says where
the stream stands, and drops it at once, storing nothing, forever. Such a server renews no
budget: a writer waiting on it sees the machine give up within ``resume_attempts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from streamstraight_server._core.acks import ACK_PROBE
from streamstraight_server._core.errors import (
    DataLossError,
    StreamstraightServerError,
    WriterClosedError,
)
from streamstraight_server._core.machine import (
    WAIT_FOR_ROOM,
    Connect,
    Goal,
    Resend,
    SendEnd,
    State,
    StreamMachine,
)
from streamstraight_server._core.options import ServerOptions
from streamstraight_server._core.protocol import EndAnswer, ServerError, StreamInfo

Mode = Literal["acks", "end-only", "withheld"]
#: what the server sends the producer on one connection
ToClient = tuple[str, Any]

TERMINAL = (State.ENDED, State.FAILED, State.CLOSED)


@dataclass
class ModelServer:
    """A server's view of one stream: chunks stored by seq, each once, without gaps."""

    mode: Mode
    reports_end_reason: bool
    stored: list[str] = field(default_factory=list)
    ended: bool = False
    end_reason: str | None = None
    end_id: str | None = None
    ends: int = 0
    hostile: bool = False

    def info(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "streamId": "s",
            "deploymentId": "model",
            "lastSeq": len(self.stored) - 1 if self.stored else None,
            "ended": self.ended,
        }
        if self.ended and self.reports_end_reason:
            payload["endReason"] = self.end_reason
        return payload

    def receive_chunk(self, seq: int, data: str) -> list[ToClient]:
        assert not self.ended, f"chunk {seq} sent after the stream ended"
        assert seq <= len(self.stored), f"seq gap: {seq} after {len(self.stored)} chunks"
        if seq < len(self.stored):
            assert self.stored[seq] == data, f"seq {seq} sent again with other data"
        else:
            self.stored.append(data)
        return [] if self.mode == "end-only" else [("ack", {"seq": seq, "redisId": f"{seq}-0"})]

    def receive_end(self, payload: dict[str, Any]) -> dict[str, Any]:
        reason, last_seq = payload["reason"], payload["lastSeq"]
        if self.ended:
            if reason == self.end_reason:
                return {"success": True, "endRedisId": self.end_id}
            return {"success": False, "error": f"already ended ({self.end_reason})"}
        held = len(self.stored) - 1 if self.stored else 0  # lastSeq 0 also means no chunks
        if last_seq != held:
            return {"success": False, "error": f"lastSeq {last_seq} does not match {held}"}
        self.ends += 1
        self.ended, self.end_reason, self.end_id = True, reason, f"end-{self.ends}"
        return {"success": True, "endRedisId": self.end_id}


@dataclass
class Op:
    """What the writer is waiting for."""

    goal: Goal
    data: str = ""


class StreamAgainstModelServer(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.sent: list[str] = []  # what send() took, by seq
        self.to_server: list[tuple[str, Any]] = []  # on the current connection, in order
        self.to_client: list[ToClient] = []
        self.held_back: list[ToClient] = []  # acks a "withheld" server has not sent yet
        self.stale: list[tuple[int, ToClient]] = []  # messages of dropped connections
        self.emitted: dict[int, set[int]] = {}  # seqs emitted per connection generation
        self.conn: int | None = None  # the generation the server is connected on
        self.pending: Connect | None = None
        self.op: Op | None = None
        self.opened = False
        self.end_asked = False
        self.unreported_loss = False  # the server lost chunks it has not said so yet
        self.failure_checked = False
        self.end_checked = False
        self.chunk_number = 0
        self.attempts = 0  # connections asked for since the last stream:info
        self.connected_at = 0.0  # when the current connection's stream:info came
        self.waiting_since = 0.0
        self.was_end_only = False
        self.hostile_opens = 0  # connections a hostile server took while the writer waited

    @initialize(
        mode=st.sampled_from(["acks", "end-only", "withheld"]),
        reports_end_reason=st.booleans(),
        window=st.integers(2, 6),
        resume_attempts=st.integers(1, 4),
        failures=st.integers(0, 8),
    )
    def start(
        self,
        mode: Mode,
        reports_end_reason: bool,
        window: int,
        resume_attempts: int,
        failures: int,
    ) -> None:
        self.failures_left = failures  # connection attempts that may fail in this run
        options = ServerOptions(
            api_key="k",
            num_connect_retries=4,
            connect_retry_delay_ms=50,
            ack_timeout=4.0,
            end_timeout=3.0,
            resume_attempts=resume_attempts,
            resume_timeout=8.0,
            max_in_flight_chunks=window,
        )
        self.server = ModelServer(mode, reports_end_reason)
        self.machine = StreamMachine("s", options)
        self.machine.start(self.now)
        self._wait(Goal.OPEN)

    # -- the driver ----------------------------------------------------------------------

    def _wait(self, goal: Goal, data: str = "") -> None:
        self.op = Op(goal, data)
        self.waiting_since = self.now
        self.machine.begin_wait(goal, self.now)
        self._settle()

    def _emit(self, generation: int, seq: int, data: str) -> None:
        seqs = self.emitted.setdefault(generation, set())
        assert seq not in seqs, f"seq {seq} emitted twice on connection {generation}"
        seqs.add(seq)
        assert data == self.sent[seq], f"seq {seq} emitted with other data"
        if self.conn == generation:
            self.to_server.append(("chunk", (seq, data)))
        else:
            self.machine.connection_lost(generation, self.now)

    def _perform(self) -> None:
        machine = self.machine
        while actions := machine.take_actions():
            for action in actions:
                if isinstance(action, Connect):
                    assert machine.state not in TERMINAL, f"Connect asked for in {machine.state}"
                    assert not action.overwrite
                    if self.conn is not None:
                        self._drop_connection()  # the driver closes the previous socket
                    self.pending = action
                    self.attempts += 1
                    allowed = (
                        machine.options.resume_attempts
                        if self.opened
                        else machine.options.num_connect_retries + 1
                    )
                    assert self.attempts <= allowed, f"attempt {self.attempts} of {allowed}"
                elif isinstance(action, Resend):
                    for chunk in action.chunks:
                        self._emit(action.generation, chunk.seq, chunk.data)
                elif isinstance(action, SendEnd):
                    assert action.payload["lastSeq"] == max(len(self.sent) - 1, 0)
                    if self.conn == action.generation:
                        self.to_server.append(("end", action.payload))
                    else:
                        self.machine.connection_lost(action.generation, self.now)

    def _settle(self) -> None:
        """Perform the machine's actions and finish the writer's wait if its goal is met."""
        machine = self.machine
        while True:
            self._perform()
            op = self.op
            if op is None:
                return
            try:
                done = machine.ready(op.goal, len(op.data))
            except StreamstraightServerError as exc:
                self._writer_raised(exc)
                self.op = None
                machine.end_wait()
                return
            if not done:
                return
            machine.end_wait()
            self.op = None
            if op.goal is Goal.OPEN:
                self.opened = True
            elif op.goal is Goal.ROOM:
                self._send(op.data)

    def _send(self, data: str) -> None:
        machine = self.machine
        try:
            seq = machine.send(data, len(data))
        except StreamstraightServerError as exc:
            self._writer_raised(exc)
            return
        if seq is WAIT_FOR_ROOM:
            self._wait(Goal.ROOM, data)
            return
        assert seq == len(self.sent)
        self.sent.append(data)
        self._emit(machine.generation, seq, data)
        self._settle()

    def _writer_raised(self, exc: StreamstraightServerError) -> None:
        machine = self.machine
        if machine.state is State.FAILED:
            assert machine.error is not None
            assert type(exc) is type(machine.error) and exc is not machine.error
            assert str(exc) == str(machine.error)
        else:
            assert isinstance(exc, WriterClosedError), exc

    def _drop_connection(self) -> None:
        generation = self.conn
        assert generation is not None
        self.stale.extend((generation, message) for message in self.to_client + self.held_back)
        self.to_server.clear()
        self.to_client.clear()
        self.held_back.clear()
        self.conn = None

    # -- connections ---------------------------------------------------------------------

    @precondition(lambda self: self.pending is not None)
    @rule()
    def connection_opens(self) -> None:
        action = self.pending
        assert action is not None
        self.pending = None
        self.now += action.delay
        self.conn = action.generation
        self.machine.handshake_ok(action.generation, self.now)
        self.unreported_loss = False
        self.attempts = 0
        self.connected_at = self.now
        self.machine.info(action.generation, StreamInfo.parse(self.server.info()), self.now)
        if self.server.hostile:
            # dropped before the producer could act on it: nothing reaches the server
            if self.op is not None or self.end_asked:
                self.hostile_opens += 1
            self._drop_connection()
            self.machine.connection_lost(action.generation, self.now)
        self._settle()

    @precondition(lambda self: self.pending is not None and self.failures_left > 0)
    @rule(how=st.sampled_from(["refused", "busy", "dropped"]))
    def connection_attempt_fails(self, how: str) -> None:
        action = self.pending
        assert action is not None
        self.pending = None
        self.failures_left -= 1
        self.now += action.delay
        machine, generation = self.machine, action.generation
        if how == "refused":
            machine.connect_failed(generation, ConnectionRefusedError("down"), self.now)
        elif how == "busy" and machine.state is State.RESUMING:
            # the server has not noticed yet that the previous connection is gone
            machine.handshake_ok(generation, self.now)
            busy = {"message": "busy", "code": "stream-busy", "retryInMs": 100}
            machine.server_error(generation, ServerError.parse(busy), self.now)
        else:  # the handshake succeeds and the connection drops before stream:info
            machine.handshake_ok(generation, self.now)
            machine.connection_lost(generation, self.now)
        self._settle()

    @precondition(lambda self: self.conn is not None)
    @rule()
    def drop(self) -> None:
        generation = self.conn
        assert generation is not None
        self._drop_connection()
        self.machine.connection_lost(generation, self.now)
        self._settle()

    @precondition(lambda self: self.machine.state not in TERMINAL)
    @rule(keep=st.floats(0.0, 1.0), mode=st.sampled_from(["acks", "end-only", "withheld"]))
    def server_restarts(self, keep: float, mode: Mode) -> None:
        server = self.server
        kept = int(len(server.stored) * keep)
        if kept < len(server.stored):
            del server.stored[kept:]
            server.ended, server.end_reason, server.end_id = False, None, None
            self.unreported_loss = True
        server.mode = mode
        generation = self.conn
        if generation is not None:
            self._drop_connection()
            self.machine.connection_lost(generation, self.now)
        self._settle()

    # -- messages ------------------------------------------------------------------------

    @precondition(lambda self: self.conn is not None and self.to_server)
    @rule(count=st.integers(1, 4))
    def server_receives(self, count: int) -> None:
        server = self.server
        for kind, payload in self.to_server[:count]:
            if kind == "chunk":
                answers = server.receive_chunk(*payload)
                (self.held_back if server.mode == "withheld" else self.to_client).extend(answers)
            else:
                self.to_client.append(("end", server.receive_end(payload)))
        del self.to_server[:count]

    @precondition(lambda self: self.conn is not None and self.to_client)
    @rule(count=st.integers(1, 4))
    def producer_receives(self, count: int) -> None:
        machine, generation = self.machine, self.conn
        assert generation is not None
        for kind, payload in self.to_client[:count]:
            if kind == "ack":
                machine.ack(generation, payload["seq"])
            else:
                machine.end_answer(generation, EndAnswer.parse(payload))
        del self.to_client[:count]
        self._settle()

    @precondition(lambda self: self.opened and not self.server.hostile)
    @rule()
    def server_turns_hostile(self) -> None:
        """From now on: accept, say where the stream stands, drop; store nothing, forever. The
        writer only finishes what it is waiting for."""
        self.server.hostile = True
        if self.conn is not None:
            generation = self.conn
            self._drop_connection()
            self.machine.connection_lost(generation, self.now)
        self._settle()

    @precondition(lambda self: self.held_back)
    @rule()
    def withheld_acks_are_sent(self) -> None:
        self.to_client.extend(self.held_back)
        self.held_back.clear()

    @precondition(lambda self: self.stale)
    @rule()
    def a_dropped_connection_delivers_late(self) -> None:
        generation, (kind, payload) = self.stale.pop(0)
        if kind == "ack":
            assert not self.machine.ack(generation, payload["seq"])
        else:
            self.machine.end_answer(generation, EndAnswer.parse(payload))
        self._settle()

    @rule(seconds=st.sampled_from([0.05, 0.5, 1.0, 2.0, 4.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        self.machine.poll(self.now)
        self._settle()

    # -- the writer ----------------------------------------------------------------------

    def _writer_free(self) -> bool:
        return self.op is None and self.opened and not self.end_asked and not self.server.hostile

    @precondition(_writer_free)
    @rule(texts=st.lists(st.text("ab", max_size=3), min_size=1, max_size=4))
    def send(self, texts: list[str]) -> None:
        for text in texts:
            if not self._writer_free():
                break  # waiting for room, or failed
            self.chunk_number += 1
            self._send(f"{self.chunk_number}:{text}")

    @precondition(_writer_free)
    @rule()
    def flush(self) -> None:
        self._wait(Goal.FLUSHED)

    @precondition(_writer_free)
    @rule()
    def end(self) -> None:
        self.end_asked = True
        try:
            self.machine.end("completed", self.now)
        except StreamstraightServerError as exc:
            self._writer_raised(exc)
            return
        self._wait(Goal.ENDED)

    def teardown(self) -> None:
        machine = getattr(self, "machine", None)
        if machine is not None:
            error = machine.error
            event(f"ends {machine.state.value}" + (f" {type(error).__name__}" if error else ""))

    # -- what must always hold -----------------------------------------------------------

    @invariant()
    def delivered_means_held_whole(self) -> None:
        machine = getattr(self, "machine", None)
        if machine is None or machine.state is not State.ENDED or self.end_checked:
            return
        self.end_checked = True  # checked when it happens: the server may restart later
        assert self.server.stored == self.sent
        assert self.server.ended
        assert self.machine.confirmed == len(self.sent)

    @invariant()
    def errors_never_claim_more_than_the_server_holds(self) -> None:
        machine = getattr(self, "machine", None)
        if machine is None or machine.state is not State.FAILED or self.failure_checked:
            return
        self.failure_checked = True  # checked when it happens: the server may change later
        error = machine.error
        assert error is not None and error.sent == len(self.sent)
        assert error.confirmed is not None
        held = len(self.server.stored)
        if not self.unreported_loss:
            assert error.confirmed <= held, (error, held)
        if isinstance(error, DataLossError):
            first, last = error.missing
            assert held <= first <= last < len(self.sent), (error.missing, held)
            assert error.confirmed == held

    @invariant()
    def a_waiting_writer_always_has_something_to_wait_for(self) -> None:
        machine = getattr(self, "machine", None)
        if machine is None or self.op is None or machine.state in TERMINAL:
            return
        in_flight = self.to_server or self.to_client or self.held_back
        assert self.pending is not None or in_flight or machine.next_deadline() is not None, (
            f"{machine!r} waits for {self.op.goal} with nothing pending"
        )

    @invariant()
    def confirmed_never_exceeds_what_the_server_holds(self) -> None:
        machine = getattr(self, "machine", None)
        if machine is None or machine.state in TERMINAL or self.unreported_loss:
            return
        assert machine.confirmed <= len(self.server.stored)

    @invariant()
    def the_ack_probe_gives_the_server_two_seconds_of_connection(self) -> None:
        machine = getattr(self, "machine", None)
        if machine is None or machine.end_only == self.was_end_only:
            return
        if machine.end_only:
            waited = self.now - max(self.waiting_since, self.connected_at)
            assert waited >= min(ACK_PROBE, machine.options.ack_timeout), waited
            assert not machine.window.acks_seen
        self.was_end_only = machine.end_only

    @invariant()
    def a_hostile_server_renews_no_budget(self) -> None:
        """Accepted connections that store nothing count against one resume: the writer's wait
        ends (in an error) within ``resume_attempts`` reconnections of the first such drop."""
        machine = getattr(self, "machine", None)
        if machine is None:
            return
        allowed = machine.options.resume_attempts + 1
        assert self.hostile_opens <= allowed, f"{self.hostile_opens} connections: {machine!r}"
        if self.hostile_opens == allowed:
            assert self.pending is None or machine.state in TERMINAL, machine

    @invariant()
    def timed_states_have_a_deadline(self) -> None:
        machine = getattr(self, "machine", None)
        if machine is None:
            return
        if machine.state in (State.RESUMING, State.ENDING):
            assert machine.next_deadline() is not None


StreamAgainstModelServer.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_stream_against_model_server = StreamAgainstModelServer.TestCase
