"""The stream state machine, one transition and one failure path at a time, with no sockets.

Each test plays the driver: it feeds the machine events with a made-up clock and performs
(or inspects) the actions it asks for.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from streamstraight_server._core.acks import ACK_PROBE
from streamstraight_server._core.errors import (
    AckTimeoutError,
    AuthenticationError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    DataLossError,
    EndRejectedError,
    EndTimeoutError,
    HandshakeRejectedError,
    StreamError,
    StreamstraightServerError,
    WriterClosedError,
)
from streamstraight_server._core.machine import (
    INFO_WAIT,
    WAIT_FOR_ROOM,
    Action,
    Connect,
    Goal,
    Resend,
    SendEnd,
    State,
    StreamMachine,
)
from streamstraight_server._core.options import ServerOptions
from streamstraight_server._core.protocol import EndAnswer, ServerError, StreamInfo

STREAM = "s-1"


def make(**options: Any) -> StreamMachine:
    settings: dict[str, Any] = {"api_key": "k", "connect_retry_delay_ms": 100}
    settings.update(options)
    overwrite = settings.pop("overwrite", False)
    return StreamMachine(STREAM, ServerOptions(**settings), overwrite=overwrite)


def state(machine: StreamMachine) -> State:
    """The state, read through a call so that mypy does not narrow it across events."""
    return machine.state


def connect_action(machine: StreamMachine) -> Connect:
    actions = machine.take_actions()
    assert len(actions) == 1 and isinstance(actions[0], Connect), actions
    return actions[0]


def opened(machine: StreamMachine, now: float = 0.0, last_seq: int | None = None) -> int:
    """Start and open ``machine``; returns the connection's generation."""
    machine.start(now)
    generation = connect_action(machine).generation
    machine.handshake_ok(generation, now)
    machine.info(generation, StreamInfo.parse({"lastSeq": last_seq, "ended": False}), now)
    assert state(machine) is State.OPEN
    return generation


def send(machine: StreamMachine, count: int, now: float = 0.0, size: int = 10) -> list[int]:
    seqs = [machine.send(f"c{machine.sent}", size) for _ in range(count)]
    assert WAIT_FOR_ROOM not in seqs
    return [seq for seq in seqs if isinstance(seq, int)]


def dropped(machine: StreamMachine, generation: int, now: float = 1.0) -> int:
    """Drop connection ``generation`` and complete the reconnect's handshake; returns the new
    generation, whose ``stream:info`` is the test's to give."""
    machine.connection_lost(generation, now)
    assert state(machine) is State.RESUMING
    action = connect_action(machine)
    assert action.generation == generation + 1 and not action.overwrite
    machine.handshake_ok(action.generation, now)
    return action.generation


def info(last_seq: int | None, ended: bool = False, **extra: Any) -> dict[str, Any]:
    return {"streamId": STREAM, "lastSeq": last_seq, "ended": ended, **extra}


def error_of(machine: StreamMachine) -> StreamstraightServerError:
    assert state(machine) is State.FAILED
    assert machine.error is not None
    with pytest.raises(StreamstraightServerError) as caught:
        machine.ready(Goal.FLUSHED)
    return caught.value


def single(actions: list[Action], kind: type[Any]) -> Any:
    assert len(actions) == 1 and isinstance(actions[0], kind), actions
    return actions[0]


# -- connecting ----------------------------------------------------------------------------


def test_first_connect_opens_on_stream_info() -> None:
    machine = make()
    machine.start(0.0)
    action = connect_action(machine)
    assert action == Connect(1, 0.0, False)
    assert state(machine) is State.CONNECTING
    assert not machine.ready(Goal.OPEN)
    machine.handshake_ok(1, 0.0)
    assert state(machine) is State.CONNECTING
    assert machine.next_deadline() == INFO_WAIT  # stream:info is awaited briefly
    machine.info(1, StreamInfo.parse(info(None)), 0.1)
    assert state(machine) is State.OPEN and machine.ready(Goal.OPEN)
    assert machine.next_deadline() is None
    assert machine.take_actions() == []


def test_overwrite_is_asked_for_on_the_first_connection_only() -> None:
    machine = make(overwrite=True)
    machine.start(0.0)
    assert connect_action(machine).overwrite
    machine.connect_failed(1, ConnectionError("refused"), 0.0)
    assert connect_action(machine).overwrite  # still nothing sent: a retry may overwrite
    machine.handshake_ok(2, 0.0)
    machine.info(2, StreamInfo.parse(info(None)), 0.0)
    send(machine, 1)
    machine.connection_lost(2, 1.0)
    assert not connect_action(machine).overwrite  # a resume must never wipe the stream


def test_without_stream_info_the_first_connection_opens_after_a_short_wait() -> None:
    machine = make()
    machine.start(0.0)
    generation = connect_action(machine).generation
    machine.handshake_ok(generation, 0.0)
    machine.poll(INFO_WAIT - 0.01)
    assert state(machine) is State.CONNECTING
    machine.poll(INFO_WAIT)
    assert state(machine) is State.OPEN
    assert send(machine, 1) == [0]


def test_info_wait_is_capped_by_connect_timeout() -> None:
    machine = make(connect_timeout=0.25)
    machine.start(0.0)
    machine.handshake_ok(connect_action(machine).generation, 10.0)
    assert machine.next_deadline() == 10.25


def test_info_may_arrive_before_handshake_ok() -> None:
    machine = make()
    machine.start(0.0)
    generation = connect_action(machine).generation
    machine.info(generation, StreamInfo.parse(info(None)), 0.0)
    machine.handshake_ok(generation, 0.0)
    assert state(machine) is State.OPEN and machine.next_deadline() is None


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (ConnectionRefusedError("refused"), ConnectError),
        (TimeoutError("slow"), ConnectTimeoutError),
    ],
)
def test_first_connect_retries_then_fails_with_attempts_and_cause(
    failure: BaseException, kind: type[ConnectError]
) -> None:
    machine = make(num_connect_retries=2, connect_retry_delay_ms=100)
    machine.start(0.0)
    generation = connect_action(machine).generation
    delays = []
    for _ in range(2):
        machine.connect_failed(generation, failure, 0.0)
        retry = connect_action(machine)
        assert retry.generation == generation + 1
        generation = retry.generation
        delays.append(retry.delay)
    assert 0.05 <= delays[0] <= 0.15 and 0.1 <= delays[1] <= 0.3  # doubled, with jitter
    machine.connect_failed(generation, failure, 0.0)
    assert machine.take_actions() == []
    error = error_of(machine)
    assert type(error) is kind
    assert isinstance(error, ConnectError) and error.attempts == 3
    assert error.__cause__ is failure
    assert "3 attempts" in str(error) and str(failure) in str(error)


def test_a_drop_right_after_the_handshake_counts_as_a_failed_attempt() -> None:
    machine = make(num_connect_retries=0)
    machine.start(0.0)
    generation = connect_action(machine).generation
    machine.connection_lost(generation, 0.0)  # before handshake_ok: remembered
    assert state(machine) is State.CONNECTING
    machine.handshake_ok(generation, 0.0)
    assert isinstance(error_of(machine), ConnectError)


def test_a_refusal_retrying_cannot_fix_fails_at_once() -> None:
    machine = make(num_connect_retries=5)
    machine.start(0.0)
    refusal = AuthenticationError("the server rejected the API key")
    machine.connect_failed(connect_action(machine).generation, refusal, 0.0)
    assert machine.take_actions() == []
    error = error_of(machine)
    assert type(error) is AuthenticationError and error is not refusal
    assert error.stream_id == STREAM and error.sent == 0 and error.confirmed == 0


def test_info_with_last_seq_continues_the_stream() -> None:
    machine = make()
    opened(machine, last_seq=4)
    assert machine.window.base == 5 and machine.confirmed == 5
    assert send(machine, 2) == [5, 6]
    machine.end("completed", 1.0)
    end = single(machine.take_actions(), SendEnd)
    assert end.payload == {"reason": "completed", "lastSeq": 6}


def test_end_asked_for_while_connecting_goes_out_once_open() -> None:
    machine = make()
    machine.start(0.0)
    generation = connect_action(machine).generation
    machine.end("completed", 0.0)
    machine.handshake_ok(generation, 0.0)
    machine.info(generation, StreamInfo.parse(info(None)), 0.0)
    assert single(machine.take_actions(), SendEnd).generation == generation
    assert state(machine) is State.ENDING


def test_info_saying_ended_refuses_the_stream() -> None:
    machine = make()
    machine.start(0.0)
    generation = connect_action(machine).generation
    machine.handshake_ok(generation, 0.0)
    machine.info(generation, StreamInfo.parse(info(3, ended=True)), 0.0)
    error = error_of(machine)
    assert isinstance(error, HandshakeRejectedError) and error.code == "stream-ended"
    assert machine.take_actions() == []


def test_a_stream_error_while_connecting_is_fatal() -> None:
    machine = make()
    machine.start(0.0)
    generation = connect_action(machine).generation
    machine.handshake_ok(generation, 0.0)
    machine.server_error(
        generation, ServerError.parse({"code": "stream-busy", "message": "busy"}), 0.0
    )
    error = error_of(machine)
    assert isinstance(error, StreamError) and error.code == "stream-busy"


# -- sending and the window ----------------------------------------------------------------


def test_send_waits_for_room_unless_the_window_is_a_resend_buffer() -> None:
    machine = make(max_in_flight_chunks=2)
    opened(machine)
    send(machine, 2)
    assert machine.send("x", 1) is WAIT_FOR_ROOM
    assert not machine.ready(Goal.ROOM, 1)
    machine.ack(1, 0)
    assert machine.ready(Goal.ROOM, 1)
    assert machine.send("x", 1) == 2


def test_send_before_open_holds_the_chunk_until_the_connection_is_open() -> None:
    machine = make(max_in_flight_chunks=2)
    machine.start(0.0)
    generation = connect_action(machine).generation
    assert [machine.send("x", 1), machine.send("y", 1)] == [0, 1]
    assert machine.send("z", 1) is WAIT_FOR_ROOM  # the window is full: the writer waits
    assert machine.take_actions() == []  # nothing goes out before the connection is open
    machine.handshake_ok(generation, 0.0)
    machine.info(generation, StreamInfo.parse(info(None)), 0.1)
    resend = single(machine.take_actions(), Resend)
    assert [chunk.seq for chunk in resend.chunks] == [0, 1] and machine.state is State.OPEN


def test_chunks_held_while_connecting_follow_an_earlier_producers() -> None:
    machine = make()
    machine.start(0.0)
    generation = connect_action(machine).generation
    machine.send("x", 1)
    machine.handshake_ok(generation, 0.0)
    machine.info(generation, StreamInfo.parse(info(4)), 0.1)  # seq 0..4 are an earlier one's
    resend = single(machine.take_actions(), Resend)
    assert [(chunk.seq, chunk.data) for chunk in resend.chunks] == [(5, "x")]


def test_a_refusal_while_chunks_wait_is_raised_by_the_next_send() -> None:
    machine = make()
    machine.start(0.0)
    generation = connect_action(machine).generation
    machine.send("x", 1)
    machine.connect_failed(generation, AuthenticationError("rejected"), 0.1)
    with pytest.raises(AuthenticationError):
        machine.send("y", 1)


def test_room_wait_wakes_after_a_quarter_of_the_window_is_confirmed() -> None:
    machine = make(max_in_flight_chunks=8)
    generation = opened(machine)
    send(machine, 8)
    machine.begin_wait(Goal.ROOM, 0.0)
    assert machine.wake_at == 2
    assert not machine.ack(generation, 0)
    assert machine.ack(generation, 1)  # seq 0 and 1: a quarter of 8
    machine.end_wait()
    assert not machine.ack(generation, 3)  # nobody waits


# -- resuming ------------------------------------------------------------------------------


def test_resume_when_the_server_holds_what_it_confirmed_resends_the_rest() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 5)
    machine.ack(generation, 1)
    generation = dropped(machine, generation)
    assert machine.send("x", 1) is WAIT_FOR_ROOM  # resuming: the writer waits
    machine.info(generation, StreamInfo.parse(info(2)), 1.0)  # holds one more than it had confirmed
    resend = single(machine.take_actions(), Resend)
    assert resend.generation == generation
    assert [c.seq for c in resend.chunks] == [3, 4]
    assert [c.data for c in resend.chunks] == ["c3", "c4"]
    assert state(machine) is State.OPEN and machine.confirmed == 3
    assert send(machine, 1) == [5]


def test_resume_when_the_server_holds_everything_resends_nothing() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 3)
    generation = dropped(machine, generation)
    machine.info(generation, StreamInfo.parse(info(2)), 1.0)
    assert machine.take_actions() == []
    assert state(machine) is State.OPEN and machine.confirmed == 3


def test_resume_after_the_server_lost_confirmed_chunks_resends_them_from_the_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 5)
    machine.ack(generation, 3)
    assert machine.confirmed == 4
    generation = dropped(machine, generation)
    with caplog.at_level(logging.WARNING, "streamstraight_server"):
        machine.info(generation, StreamInfo.parse(info(0)), 1.0)  # a restart kept only seq 0
    resend = single(machine.take_actions(), Resend)
    assert [c.seq for c in resend.chunks] == [1, 2, 3, 4]
    assert machine.confirmed == 1
    assert "fewer than the 4 it had confirmed" in caplog.text


def test_resume_after_the_server_lost_everything_resends_everything() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 3)
    machine.ack(generation, 2)
    generation = dropped(machine, generation)
    machine.info(generation, StreamInfo.parse(info(None)), 1.0)
    resend = single(machine.take_actions(), Resend)
    assert [c.seq for c in resend.chunks] == [0, 1, 2]
    assert machine.confirmed == 0


def test_resume_fails_with_data_loss_when_the_window_no_longer_holds_the_lost_chunks() -> None:
    machine = make(max_in_flight_chunks=3)
    generation = opened(machine)
    send(machine, 3)
    machine.ack(generation, 2)
    send(machine, 2)  # evicts confirmed seq 0 and 1
    assert machine.window.oldest_held == 2
    generation = dropped(machine, generation)
    machine.info(generation, StreamInfo.parse(info(None)), 1.0)
    error = error_of(machine)
    assert isinstance(error, DataLossError) and isinstance(error, ConnectionLostError)
    assert error.missing == (0, 1)
    assert error.confirmed == 0 and error.sent == 5
    assert "0..1" in str(error)
    assert machine.take_actions() == []


def test_data_loss_names_only_the_chunks_neither_side_holds() -> None:
    machine = make(max_in_flight_chunks=3)
    generation = opened(machine)
    send(machine, 3)
    machine.ack(generation, 2)
    send(machine, 3)  # holds 3..5
    machine.ack(generation, 5)
    send(machine, 2)  # holds 5..7
    generation = dropped(machine, generation)
    machine.info(generation, StreamInfo.parse(info(2)), 1.0)  # holds 0..2
    error = error_of(machine)
    assert isinstance(error, DataLossError) and error.missing == (3, 4)
    assert error.confirmed == 3


def test_resume_fails_when_the_server_holds_more_than_was_sent() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 2)
    generation = dropped(machine, generation)
    machine.info(generation, StreamInfo.parse(info(5)), 1.0)
    error = error_of(machine)
    assert type(error) is ConnectionLostError and "another producer" in str(error)


def test_resume_after_end_was_sent_sends_end_again() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 3)
    machine.end("completed", 0.5)
    single(machine.take_actions(), SendEnd)
    assert state(machine) is State.ENDING
    generation = dropped(machine, generation)
    machine.info(generation, StreamInfo.parse(info(1)), 1.0)
    actions = machine.take_actions()
    assert [type(a) for a in actions] == [Resend, SendEnd]
    assert [c.seq for c in actions[0].chunks] == [2]  # type: ignore[union-attr]
    assert actions[1] == SendEnd(generation, {"reason": "completed", "lastSeq": 2})
    assert state(machine) is State.ENDING
    machine.end_answer(generation, EndAnswer.parse({"success": True, "endRedisId": "9-0"}))
    assert state(machine) is State.ENDED and machine.end_redis_id == "9-0"
    assert machine.confirmed == 3


def test_end_asked_for_while_resuming_goes_out_after_the_resume() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 1)
    machine.connection_lost(generation, 1.0)
    generation = connect_action(machine).generation
    machine.end("completed", 1.0)
    assert machine.take_actions() == []
    machine.handshake_ok(generation, 1.0)
    machine.info(generation, StreamInfo.parse(info(0)), 1.0)
    assert single(machine.take_actions(), SendEnd).generation == generation


def test_info_after_a_drop_saying_ended_with_our_reason_and_every_chunk_is_success() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 3)
    machine.end("completed", 0.5)
    machine.take_actions()
    generation = dropped(machine, generation)  # the END answer was lost
    machine.info(generation, StreamInfo.parse(info(2, ended=True, endReason="completed")), 1.0)
    assert state(machine) is State.ENDED and machine.ready(Goal.ENDED)
    assert machine.confirmed == 3 and machine.take_actions() == []


def test_ended_without_a_reason_and_every_chunk_is_success_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 3)
    machine.end("completed", 0.5)
    machine.take_actions()
    generation = dropped(machine, generation)
    with caplog.at_level(logging.WARNING, "streamstraight_server"):
        machine.info(generation, StreamInfo.parse(info(2, ended=True)), 1.0)
    assert state(machine) is State.ENDED
    assert "does not say why it ended" in caplog.text


def test_ended_with_fewer_chunks_is_data_loss() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 4)
    machine.end("completed", 0.5)
    machine.take_actions()
    generation = dropped(machine, generation)
    machine.info(generation, StreamInfo.parse(info(1, ended=True, endReason="completed")), 1.0)
    error = error_of(machine)
    assert isinstance(error, DataLossError) and error.missing == (2, 3)
    assert error.confirmed == 2


def test_ended_with_no_chunks_at_all_is_data_loss() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 2)
    machine.end("completed", 0.5)
    machine.take_actions()
    generation = dropped(machine, generation)
    machine.info(generation, StreamInfo.parse(info(None, ended=True)), 1.0)
    error = error_of(machine)
    assert isinstance(error, DataLossError) and error.missing == (0, 1)
    assert error.confirmed == 0


def test_ended_for_another_reason_is_not_success() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 2)
    machine.end("completed", 0.5)
    machine.take_actions()
    generation = dropped(machine, generation)
    machine.info(
        generation, StreamInfo.parse(info(1, ended=True, endReason="producer-disconnected")), 1.0
    )
    error = error_of(machine)
    assert type(error) is ConnectionLostError and "producer-disconnected" in str(error)


def test_ended_while_we_never_sent_end_is_not_success() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 2)
    generation = dropped(machine, generation)
    machine.info(
        generation, StreamInfo.parse(info(1, ended=True, endReason="inactivity-timeout")), 1.0
    )
    assert type(error_of(machine)) is ConnectionLostError


def test_no_stream_info_after_a_resume_fails() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 2)
    dropped(machine, generation, now=1.0)
    deadline = machine.next_deadline()
    assert deadline is not None and deadline <= 1.0 + INFO_WAIT
    machine.poll(1.0 + INFO_WAIT)
    error = error_of(machine)
    assert type(error) is ConnectionLostError and "stream:info" in str(error)


def test_no_stream_info_after_a_resume_with_nothing_sent_just_reopens() -> None:
    machine = make()
    generation = opened(machine)
    dropped(machine, generation, now=1.0)
    machine.poll(1.0 + INFO_WAIT)
    assert state(machine) is State.OPEN


def test_stream_busy_during_a_resume_is_retried() -> None:
    machine = make(resume_attempts=5)
    generation = opened(machine)
    send(machine, 1)
    generation = dropped(machine, generation)
    machine.server_error(
        generation, ServerError.parse({"code": "stream-busy", "message": "busy"}), 1.0
    )
    retry = connect_action(machine)
    assert retry.generation == generation + 1 and retry.delay > 0
    assert state(machine) is State.RESUMING
    machine.handshake_ok(retry.generation, 1.5)
    machine.info(retry.generation, StreamInfo.parse(info(0)), 1.5)
    assert state(machine) is State.OPEN


def test_a_fatal_refusal_of_a_resume_fails_with_the_refusal_as_cause() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 1)
    machine.connection_lost(generation, 1.0)
    refusal = HandshakeRejectedError("ended", code="stream-ended")
    machine.connect_failed(connect_action(machine).generation, refusal, 1.0)
    error = error_of(machine)
    assert type(error) is ConnectionLostError and error.__cause__ is refusal


def test_resume_attempts_exhausted() -> None:
    machine = make(resume_attempts=3, resume_timeout=100.0)
    generation = opened(machine)
    send(machine, 1)
    machine.connection_lost(generation, 1.0)
    failure = ConnectionRefusedError("refused")
    for attempt in range(3):
        action = connect_action(machine)
        assert (action.delay == 0.0) == (attempt == 0)  # the first reconnect is immediate
        machine.connect_failed(action.generation, failure, 1.0)
    assert machine.take_actions() == []
    error = error_of(machine)
    assert type(error) is ConnectionLostError and error.__cause__ is failure
    assert "3 attempts" in str(error)


def test_resume_timeout_exhausted_through_poll() -> None:
    machine = make(resume_attempts=50, resume_timeout=4.0)
    generation = opened(machine)
    send(machine, 1)
    machine.connection_lost(generation, 1.0)
    assert machine.next_deadline() == 5.0
    machine.poll(4.99)
    assert state(machine) is State.RESUMING
    machine.poll(5.0)
    assert type(error_of(machine)) is ConnectionLostError


def test_resume_timeout_exhausted_on_a_failed_attempt() -> None:
    machine = make(resume_attempts=50, resume_timeout=4.0)
    generation = opened(machine)
    send(machine, 1)
    machine.connection_lost(generation, 1.0)
    machine.connect_failed(connect_action(machine).generation, ConnectionError("x"), 5.0)
    assert machine.take_actions() == []
    assert type(error_of(machine)) is ConnectionLostError


def test_resume_attempts_zero_fails_on_the_first_drop() -> None:
    machine = make(resume_attempts=0)
    generation = opened(machine)
    machine.connection_lost(generation, 1.0)
    assert machine.take_actions() == []
    assert type(error_of(machine)) is ConnectionLostError


def test_a_resumed_connection_that_keeps_dropping_before_info_runs_out_of_attempts() -> None:
    machine = make(resume_attempts=3, resume_timeout=1000.0)
    generation = opened(machine)
    send(machine, 1)
    machine.connection_lost(generation, 1.0)
    now = 1.0
    for _ in range(10):
        actions = machine.take_actions()
        if not actions:
            break
        action = single(actions, Connect)
        now += action.delay
        machine.handshake_ok(action.generation, now)
        machine.connection_lost(action.generation, now)
    assert type(error_of(machine)) is ConnectionLostError


def test_a_first_connection_that_keeps_dropping_before_info_runs_out_of_attempts() -> None:
    machine = make(num_connect_retries=2)
    machine.start(0.0)
    now = 0.0
    for _ in range(10):
        actions = machine.take_actions()
        if not actions:
            break
        action = single(actions, Connect)
        now += action.delay
        machine.handshake_ok(action.generation, now)
        machine.connection_lost(action.generation, now)
    error = error_of(machine)
    assert isinstance(error, ConnectError) and error.attempts == 3


# -- ending --------------------------------------------------------------------------------


def test_end_answered_success() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 2)
    machine.end("completed", 1.0)
    assert single(machine.take_actions(), SendEnd) == SendEnd(
        generation, {"reason": "completed", "lastSeq": 1}
    )
    assert state(machine) is State.ENDING and not machine.ready(Goal.ENDED)
    with pytest.raises(WriterClosedError):
        machine.send("x", 1)
    machine.end_answer(generation, EndAnswer.parse({"success": True, "endRedisId": "1-0"}))
    assert state(machine) is State.ENDED and machine.ready(Goal.ENDED)
    assert machine.confirmed == 2 and machine.end_redis_id == "1-0"
    assert machine.next_deadline() is None


def test_end_of_an_empty_stream_says_last_seq_0() -> None:
    machine = make()
    opened(machine)
    machine.end("producer-error", 0.0)
    assert single(machine.take_actions(), SendEnd).payload == {
        "reason": "producer-error",
        "lastSeq": 0,
    }


def test_end_twice_sends_end_once() -> None:
    machine = make()
    opened(machine)
    machine.end("completed", 0.0)
    assert len(machine.take_actions()) == 1
    with pytest.raises(WriterClosedError):
        machine.end("completed", 0.0)
    assert machine.take_actions() == []


def test_end_answered_success_false() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 1)
    machine.end("completed", 0.0)
    machine.end_answer(
        generation, EndAnswer.parse({"success": False, "error": "lastSeq 0 does not match"})
    )
    error = error_of(machine)
    assert type(error) is EndRejectedError and "does not match" in str(error)
    assert error.confirmed == 0 and error.sent == 1


@pytest.mark.parametrize("answer", [None, "ok", {"success": "yes"}, {}, [True], 1])
def test_end_answered_with_garbage(answer: object) -> None:
    machine = make()
    generation = opened(machine)
    machine.end("completed", 0.0)
    machine.end_answer(generation, EndAnswer.parse(answer))
    assert type(error_of(machine)) is EndRejectedError


def test_end_timeout_through_poll() -> None:
    machine = make(end_timeout=3.0)
    opened(machine)
    machine.end("completed", 10.0)
    assert machine.next_deadline() == 13.0
    machine.poll(12.99)
    assert state(machine) is State.ENDING
    machine.poll(13.0)
    error = error_of(machine)
    assert type(error) is EndTimeoutError and isinstance(error, TimeoutError)


def test_end_timeout_given_to_end_wins() -> None:
    machine = make(end_timeout=30.0)
    opened(machine)
    machine.end("producer-error", 0.0, timeout=2.0)
    assert machine.next_deadline() == 2.0


def test_a_drop_while_ending_stops_the_end_timer_until_end_is_sent_again() -> None:
    machine = make(end_timeout=1.0, resume_timeout=100.0)
    generation = opened(machine)
    machine.end("completed", 0.0)
    machine.take_actions()
    generation = dropped(machine, generation, now=0.5)
    machine.poll(1.25)  # past the first END's deadline: that END went out on a dead connection
    assert state(machine) is State.RESUMING
    machine.info(generation, StreamInfo.parse(info(None)), 1.25)
    assert single(machine.take_actions(), SendEnd).generation == generation
    assert state(machine) is State.ENDING and machine.next_deadline() == 2.25


# -- acks, the probe and timeouts ----------------------------------------------------------


def test_ack_timeout() -> None:
    machine = make(ack_timeout=5.0)
    generation = opened(machine)
    send(machine, 3)
    machine.ack(generation, 0)  # the server confirms chunks: no probe
    machine.begin_wait(Goal.FLUSHED, 10.0)
    assert machine.next_deadline() == 15.0
    machine.ack(generation, 1)
    machine.poll(14.0)  # progress pushes the deadline back
    assert machine.next_deadline() == 19.0
    machine.poll(18.99)
    assert state(machine) is State.OPEN
    machine.poll(19.0)
    error = error_of(machine)
    assert type(error) is AckTimeoutError and error.confirmed == 2 and error.sent == 3


def test_flush_is_ready_once_everything_is_confirmed() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 3)
    machine.begin_wait(Goal.FLUSHED, 0.0)
    assert machine.wake_at == 3
    assert not machine.ack(generation, 1)
    assert not machine.ready(Goal.FLUSHED)
    assert machine.ack(generation, 2)
    assert machine.ready(Goal.FLUSHED)


def test_the_ack_probe_turns_on_end_only_after_two_seconds_exactly_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine = make(ack_timeout=15.0)
    generation = opened(machine)
    send(machine, 2)
    machine.begin_wait(Goal.FLUSHED, 10.0)
    assert machine.next_deadline() == 10.0 + ACK_PROBE == 12.0
    machine.poll(11.99)
    assert not machine.end_only and not machine.ready(Goal.FLUSHED)
    with caplog.at_level(logging.WARNING, "streamstraight_server"):
        machine.poll(12.0)
    assert machine.end_only and machine.ready(Goal.FLUSHED)
    assert machine.next_deadline() is None  # no ack timeout in END-only mode
    machine.poll(100.0)
    assert state(machine) is State.OPEN
    machine.end_wait()
    assert caplog.text.count("sends no per-chunk acks") == 1

    # acks come back: flow control again, and never a second probe
    assert machine.ack(generation, 0) is False
    assert not machine.end_only
    send(machine, 1)
    machine.begin_wait(Goal.FLUSHED, 200.0)
    assert machine.next_deadline() == 215.0  # the ack timeout, not a probe
    machine.poll(202.5)
    assert not machine.end_only and not machine.ready(Goal.FLUSHED)
    machine.poll(215.0)
    assert type(error_of(machine)) is AckTimeoutError


def test_a_long_resume_does_not_count_towards_the_ack_probe() -> None:
    machine = make(ack_timeout=15.0, resume_timeout=100.0)
    generation = opened(machine)
    send(machine, 2)
    machine.begin_wait(Goal.FLUSHED, 1.0)
    machine.connection_lost(generation, 1.5)
    generation = connect_action(machine).generation
    machine.handshake_ok(generation, 11.0)  # reconnecting took ten seconds
    machine.info(generation, StreamInfo.parse(info(None)), 11.0)
    assert [c.seq for c in single(machine.take_actions(), Resend).chunks] == [0, 1]
    machine.poll(11.0)
    assert not machine.end_only  # the server gets its two seconds to ack the resent chunks
    assert machine.next_deadline() == 11.0 + ACK_PROBE
    assert machine.ack(generation, 1)
    assert machine.ready(Goal.FLUSHED) and not machine.end_only


def test_end_only_mode_evicts_unconfirmed_chunks_to_make_room() -> None:
    machine = make(max_in_flight_chunks=2, ack_timeout=15.0)
    opened(machine)
    send(machine, 2)
    assert machine.send("x", 1) is WAIT_FOR_ROOM
    machine.begin_wait(Goal.ROOM, 0.0)
    machine.poll(ACK_PROBE)
    assert machine.end_only and machine.ready(Goal.ROOM, 1)
    machine.end_wait()
    assert send(machine, 3) == [2, 3, 4]
    assert machine.window.oldest_held == 3


def test_the_probe_is_capped_by_a_short_ack_timeout() -> None:
    machine = make(ack_timeout=0.5)
    opened(machine)
    send(machine, 1)
    machine.begin_wait(Goal.FLUSHED, 0.0)
    assert machine.next_deadline() == 0.5
    machine.poll(0.5)
    assert machine.end_only and state(machine) is State.OPEN


def test_no_probe_once_acks_were_seen() -> None:
    machine = make(ack_timeout=5.0)
    generation = opened(machine)
    send(machine, 2)
    machine.ack(generation, 0)
    machine.begin_wait(Goal.FLUSHED, 0.0)
    machine.poll(ACK_PROBE)
    assert not machine.end_only
    assert machine.next_deadline() == 5.0


def test_waiting_for_open_or_end_starts_no_ack_timer() -> None:
    machine = make()
    machine.start(0.0)
    machine.begin_wait(Goal.OPEN, 0.0)
    assert machine.next_deadline() is None


# -- stale events --------------------------------------------------------------------------


def test_events_of_an_old_connection_are_ignored() -> None:
    machine = make(resume_attempts=5)
    old = opened(machine)
    send(machine, 4)
    machine.ack(old, 0)
    current = dropped(machine, old)
    machine.info(old, StreamInfo.parse(info(None, ended=True)), 1.0)
    machine.server_error(old, ServerError.parse({"code": "internal", "message": "boom"}), 1.0)
    machine.connect_failed(old, AuthenticationError("no"), 1.0)
    machine.end_answer(old, EndAnswer.parse({"success": True, "endRedisId": "x"}))
    machine.handshake_ok(old, 1.0)
    machine.connection_lost(old, 1.0)
    assert not machine.ack(old, 3)
    assert state(machine) is State.RESUMING and machine.take_actions() == []
    assert machine.confirmed == 1  # an ack of the dropped connection confirms nothing now
    machine.info(current, StreamInfo.parse(info(0)), 1.0)
    assert [c.seq for c in single(machine.take_actions(), Resend).chunks] == [1, 2, 3]


def test_a_late_ack_from_before_a_server_restart_does_not_inflate_confirmed() -> None:
    machine = make()
    old = opened(machine)
    send(machine, 3)
    current = dropped(machine, old)
    machine.info(current, StreamInfo.parse(info(None)), 1.0)  # the restarted server holds nothing
    machine.take_actions()
    machine.ack(old, 2)  # in flight from the server before it restarted
    assert machine.confirmed == 0
    machine.server_error(current, ServerError.parse({"code": "internal", "message": "boom"}), 2.0)
    assert error_of(machine).confirmed == 0


def test_a_second_stream_info_on_one_connection_is_ignored() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 2)
    machine.info(generation, StreamInfo.parse(info(None, ended=True)), 1.0)
    assert state(machine) is State.OPEN


# -- after the end: failed and closed machines ---------------------------------------------


def test_a_failed_machine_raises_a_fresh_copy_of_its_error_every_time() -> None:
    machine = make(max_in_flight_chunks=2)
    generation = opened(machine)
    send(machine, 2)
    machine.ack(generation, 1)
    send(machine, 2)
    generation = dropped(machine, generation)
    machine.info(generation, StreamInfo.parse(info(None)), 1.0)
    cause = machine.error
    assert isinstance(cause, DataLossError)
    raised: list[BaseException] = []
    calls = [
        lambda: machine.send("x", 1),
        lambda: machine.ready(Goal.ROOM, 1),
        lambda: machine.ready(Goal.ENDED),
        lambda: machine.end("completed", 2.0),
        machine.raise_if_failed,
    ]
    for call in calls:
        depths = set()
        for _ in range(3):
            with pytest.raises(DataLossError) as caught:
                call()
            raised.append(caught.value)
            depths.add(len(_frames(caught.value)))
        assert len(depths) == 1  # raised again, a copy gains no frames of earlier raises
    assert len({id(e) for e in raised}) == len(raised) and cause not in raised
    for error in raised:
        assert isinstance(error, DataLossError)
        assert error.missing == (0, 1) and error.confirmed == 0 and error.sent == 4
        assert str(error) == str(cause)
    assert cause.__traceback__ is None  # the stored error itself is never raised


def test_a_failed_machine_ignores_later_failures_and_events() -> None:
    machine = make()
    generation = opened(machine)
    machine.server_error(
        generation, ServerError.parse({"code": "internal", "message": "first"}), 0.0
    )
    machine.fail(EndTimeoutError("second"))
    machine.connection_lost(generation, 1.0)
    machine.poll(100.0)
    machine.close()
    assert state(machine) is State.FAILED and machine.take_actions() == []
    assert machine.next_deadline() is None
    assert "first" in str(error_of(machine))


def test_a_closed_machine_raises_writer_closed() -> None:
    machine = make()
    generation = opened(machine)
    send(machine, 1)
    machine.close()
    assert state(machine) is State.CLOSED and machine.take_actions() == []
    for call in (
        lambda: machine.send("x", 1),
        lambda: machine.ready(Goal.FLUSHED),
        lambda: machine.ready(Goal.ENDED),
        lambda: machine.end("completed", 0.0),
    ):
        with pytest.raises(WriterClosedError):
            call()
    machine.connection_lost(generation, 1.0)
    machine.info(generation, StreamInfo.parse(info(None)), 1.0)
    assert state(machine) is State.CLOSED and machine.take_actions() == []
    assert machine.next_deadline() is None


def test_close_while_connecting_drops_the_pending_connect() -> None:
    machine = make()
    machine.start(0.0)
    machine.close()
    assert machine.take_actions() == []


def test_an_ended_machine_refuses_more_chunks_and_stays_ended() -> None:
    machine = make()
    generation = opened(machine)
    machine.end("completed", 0.0)
    machine.take_actions()
    machine.end_answer(generation, EndAnswer.parse({"success": True, "endRedisId": "1-0"}))
    with pytest.raises(WriterClosedError, match="has ended"):
        machine.send("x", 1)
    machine.close()
    machine.connection_lost(generation, 1.0)
    assert state(machine) is State.ENDED and machine.ready(Goal.ENDED)
    assert machine.take_actions() == []


# -- deadlines -----------------------------------------------------------------------------


def test_next_deadline_is_set_whenever_something_timed_is_pending() -> None:
    machine = make(ack_timeout=5.0, end_timeout=3.0, resume_timeout=7.0)
    machine.start(0.0)
    generation = connect_action(machine).generation
    assert machine.next_deadline() is None  # the driver times the connection attempt
    machine.handshake_ok(generation, 0.0)
    assert machine.next_deadline() == INFO_WAIT
    machine.info(generation, StreamInfo.parse(info(None)), 0.0)
    assert machine.next_deadline() is None
    send(machine, 1)
    machine.begin_wait(Goal.FLUSHED, 1.0)
    assert machine.next_deadline() == 1.0 + ACK_PROBE
    machine.connection_lost(generation, 2.0)
    assert machine.next_deadline() == 9.0  # resume_timeout
    generation = connect_action(machine).generation
    machine.handshake_ok(generation, 2.5)
    assert machine.next_deadline() == 2.5 + INFO_WAIT
    machine.info(generation, StreamInfo.parse(info(None)), 2.5)
    machine.take_actions()
    assert machine.next_deadline() == 2.5 + ACK_PROBE  # probe is due from the new start
    machine.end_wait()
    machine.end("completed", 3.0)
    assert machine.next_deadline() == 6.0


def test_heartbeat_is_due_only_while_open_and_idle() -> None:
    machine = make()
    machine.start(0.0)
    assert not machine.heartbeat_due()  # not open yet
    generation = connect_action(machine).generation
    machine.handshake_ok(generation, 0.0)
    machine.info(generation, StreamInfo.parse(info(None)), 0.0)
    assert machine.heartbeat_due()  # open, and nothing sent since the last look
    send(machine, 1, now=5.0)
    assert not machine.heartbeat_due()  # a chunk went out during this interval
    assert machine.heartbeat_due()  # and none during the next
    machine.close()
    assert not machine.heartbeat_due()


def _frames(error: BaseException) -> list[object]:
    frames: list[object] = []
    tb = error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def test_an_empty_stream_ended_during_a_drop_reported_with_last_seq_0_is_delivered() -> None:
    machine = make()
    machine.start(0.0)
    generation = connect_action(machine).generation
    machine.handshake_ok(generation, 0.0)
    machine.info(generation, StreamInfo.parse(info(None)), 0.0)
    machine.end("completed", 1.0)
    machine.take_actions()
    generation = dropped(machine, generation)
    # PROTOCOL: lastSeq is 0 for both an empty stream and a one-chunk one
    machine.info(
        generation, StreamInfo.parse({"lastSeq": 0, "ended": True, "endReason": "completed"}), 2.0
    )
    assert machine.state is State.ENDED and machine.error is None
