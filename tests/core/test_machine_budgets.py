"""Budgets belong to the stream: a server that accepts, answers and drops again renews none.

Resume attempts and time, END's deadline and the ack deadline each bound the whole stream; only
new confirmations (or an idle stream's drop) start a resume afresh. The machine alone, with a
made-up clock (helpers from ``test_machine``).
"""

from __future__ import annotations

import pytest

from streamstraight_server._core.acks import RESUME_GRACE
from streamstraight_server._core.errors import (
    AckTimeoutError,
    ConnectionLostError,
    EndTimeoutError,
)
from streamstraight_server._core.machine import (
    Connect,
    Goal,
    Resend,
    SendEnd,
    State,
    StreamMachine,
)
from streamstraight_server._core.protocol import StreamInfo
from tests.core.test_machine import connect_action, error_of, info, make, opened, send, state


def reconnect(machine: StreamMachine, now: float, last_seq: int | None) -> int:
    """Perform the pending Connect: handshake and ``stream:info``; returns the generation."""
    action = connect_action(machine)
    generation = action.generation
    machine.handshake_ok(generation, now + action.delay)
    machine.info(generation, StreamInfo.parse(info(last_seq)), now + action.delay)
    return generation


def test_a_server_that_accepts_and_drops_without_storing_runs_out_of_attempts() -> None:
    machine = make(resume_attempts=3, resume_timeout=1000.0)
    generation = opened(machine)
    send(machine, 5)
    machine.begin_wait(Goal.FLUSHED, 0.0)
    now, connections = 1.0, 0
    machine.connection_lost(generation, now)
    # every reconnection gets stream:info (nothing held), is given every chunk, and drops
    while state(machine) is not State.FAILED:
        assert connections < 10, "the machine never gives up"
        generation = reconnect(machine, now, None)
        connections += 1
        assert state(machine) is State.OPEN
        (resend,) = machine.take_actions()
        assert isinstance(resend, Resend) and [c.seq for c in resend.chunks] == [0, 1, 2, 3, 4]
        now += 0.01
        machine.connection_lost(generation, now)
    assert connections == 3
    error = error_of(machine)
    assert type(error) is ConnectionLostError
    assert "3 attempts" in str(error) and "without confirming anything new" in str(error)
    assert error.confirmed == 0 and error.sent == 5


def test_reconnections_that_make_no_progress_wait_between_them() -> None:
    machine = make(resume_attempts=5, resume_timeout=1000.0, connect_retry_delay_ms=100)
    generation = opened(machine)
    send(machine, 1)
    machine.begin_wait(Goal.FLUSHED, 0.0)
    machine.connection_lost(generation, 1.0)
    delays = []
    for _ in range(3):
        action = connect_action(machine)
        delays.append(action.delay)
        machine._actions.append(action)
        generation = reconnect(machine, 1.0, None)
        machine.take_actions()
        machine.connection_lost(generation, 1.0)
    assert delays[0] == 0.0 and all(d > 0 for d in delays[1:])  # the first is immediate


def test_the_resume_timeout_counts_the_time_reconnecting_over_every_attempt() -> None:
    machine = make(resume_attempts=100, resume_timeout=4.0, connect_retry_delay_ms=0)
    generation = opened(machine)
    send(machine, 1)
    machine.begin_wait(Goal.FLUSHED, 0.0)
    now = 10.0
    machine.connection_lost(generation, now)
    for _ in range(3):  # each reconnection takes a second, then the connection lasts five
        now += 1.0
        generation = reconnect(machine, now, None)
        machine.take_actions()
        now += 5.0
        machine.poll(now)
        assert state(machine) is State.OPEN
        machine.connection_lost(generation, now)
    assert state(machine) is State.RESUMING
    assert machine.next_deadline() == pytest.approx(now + 1.0)  # 3 of its 4 seconds are used
    machine.poll(now + 1.0)
    assert type(error_of(machine)) is ConnectionLostError


@pytest.mark.parametrize("how", ["acks", "stream:info"])
def test_a_server_that_confirms_something_new_renews_the_budget(how: str) -> None:
    machine = make(resume_attempts=2, resume_timeout=1000.0)
    generation = opened(machine)
    send(machine, 20)
    machine.begin_wait(Goal.FLUSHED, 0.0)
    now = 1.0
    machine.connection_lost(generation, now)
    for held in range(10):  # ten drops, each after the server stored one more chunk
        generation = reconnect(machine, now, held - 1 if held else None)
        machine.take_actions()
        if how == "acks":
            assert not machine.ack(generation, held)
        machine.connection_lost(generation, now)
        assert state(machine) is State.RESUMING
    assert machine.take_actions()


def test_an_idle_stream_resumes_with_the_whole_budget_after_every_drop() -> None:
    machine = make(resume_attempts=1, resume_timeout=1000.0)
    generation = opened(machine)
    send(machine, 2)
    machine.ack(generation, 1)  # everything is confirmed, nobody waits
    for now in range(1, 20):
        machine.connection_lost(generation, float(now))
        generation = reconnect(machine, float(now), 1)
        assert state(machine) is State.OPEN and machine.take_actions() == []


def test_a_writer_waiting_through_drops_with_nothing_outstanding_runs_out() -> None:
    machine = make(resume_attempts=2, resume_timeout=1000.0)
    generation = opened(machine)
    machine.begin_wait(Goal.OPEN, 0.0)  # a send() waiting for the connection
    machine.connection_lost(generation, 1.0)
    for _ in range(5):
        if state(machine) is State.FAILED:
            break
        generation = reconnect(machine, 1.0, None)
        machine.connection_lost(generation, 1.0)
    assert type(error_of(machine)) is ConnectionLostError


def test_a_server_that_drops_every_end_runs_out_of_attempts() -> None:
    machine = make(resume_attempts=3, resume_timeout=1000.0, end_timeout=1000.0)
    generation = opened(machine)
    send(machine, 3)
    machine.ack(generation, 2)
    machine.end("completed", 0.0)
    machine.begin_wait(Goal.ENDED, 0.0)
    ends = 0
    while state(machine) is not State.FAILED:
        assert ends < 10
        (action,) = machine.take_actions()
        assert isinstance(action, SendEnd)
        ends += 1
        machine.connection_lost(generation, 1.0)
        if state(machine) is State.FAILED:
            break
        generation = reconnect(machine, 1.0, 2)  # the server holds every chunk
    assert ends == 4  # END on the first connection, then three resumes
    error = error_of(machine)
    assert type(error) is ConnectionLostError and error.confirmed == 3


def test_ends_deadline_counts_its_wait_on_every_connection() -> None:
    machine = make(
        end_timeout=10.0, resume_timeout=1000.0, resume_attempts=100, connect_retry_delay_ms=0
    )
    generation = opened(machine)
    send(machine, 1)
    machine.ack(generation, 0)
    machine.end("completed", 0.0)
    machine.take_actions()
    now = 0.0
    for _ in range(3):  # the server sits on END for three seconds, then drops
        now += 3.0
        machine.connection_lost(generation, now)
        now += 0.5
        generation = reconnect(machine, now, 0)
        assert isinstance(machine.take_actions()[0], SendEnd)
    assert machine.next_deadline() == pytest.approx(now + 1.0)  # 9 of its 10 s are used
    machine.poll(now + 1.0)
    error = error_of(machine)
    assert type(error) is EndTimeoutError


def test_a_resent_end_gets_a_moment_however_little_is_left() -> None:
    machine = make(end_timeout=2.0, resume_timeout=1000.0)
    generation = opened(machine)
    machine.end("completed", 0.0)
    machine.take_actions()
    machine.connection_lost(generation, 1.99)
    generation = reconnect(machine, 5.0, None)
    assert isinstance(machine.take_actions()[0], SendEnd)
    assert machine.next_deadline() == 5.0 + RESUME_GRACE


def test_the_ack_deadline_moves_only_by_the_time_spent_reconnecting() -> None:
    machine = make(
        ack_timeout=10.0, resume_timeout=1000.0, resume_attempts=100, connect_retry_delay_ms=0
    )
    generation = opened(machine)
    send(machine, 3)
    machine.ack(generation, 0)  # acks are seen: no probe
    machine.begin_wait(Goal.FLUSHED, 0.0)
    now = 0.0
    for _ in range(2):  # three connected seconds without an ack, a drop, two seconds away
        now += 3.0
        machine.poll(now)
        machine.connection_lost(generation, now)
        now += 2.0
        generation = reconnect(machine, now, 0)
        assert isinstance(machine.take_actions()[0], Resend)
    assert machine.next_deadline() == pytest.approx(10.0 + 2 * 2.0)  # 6 of its 10 s are used
    machine.poll(13.99)
    assert state(machine) is State.OPEN
    machine.poll(14.0)
    assert type(error_of(machine)) is AckTimeoutError


def test_a_lower_last_seq_after_a_restart_is_no_progress_until_it_is_passed() -> None:
    machine = make(resume_attempts=2, resume_timeout=1000.0)
    generation = opened(machine)
    send(machine, 4)
    machine.ack(generation, 3)
    send(machine, 1)
    machine.begin_wait(Goal.FLUSHED, 0.0)
    machine.connection_lost(generation, 1.0)
    # the server restarted with two chunks, is given the rest, acks them back to four
    generation = reconnect(machine, 1.0, 1)
    (resend,) = machine.take_actions()
    assert isinstance(resend, Resend) and [c.seq for c in resend.chunks] == [2, 3, 4]
    machine.ack(generation, 3)
    for _ in range(2):  # four is no more than it had confirmed before: no progress
        machine.connection_lost(generation, 1.0)
        if state(machine) is State.FAILED:
            break
        generation = reconnect(machine, 1.0, 1)
        machine.take_actions()
    assert type(error_of(machine)) is ConnectionLostError


def test_connect_actions_of_a_continued_resume_are_never_overwrite() -> None:
    machine = make(resume_attempts=3, resume_timeout=1000.0, overwrite=True)
    generation = opened(machine)
    send(machine, 1)
    machine.begin_wait(Goal.FLUSHED, 0.0)
    machine.connection_lost(generation, 1.0)
    generation = reconnect(machine, 1.0, None)
    machine.take_actions()
    machine.connection_lost(generation, 1.0)
    action = connect_action(machine)
    assert isinstance(action, Connect) and not action.overwrite
