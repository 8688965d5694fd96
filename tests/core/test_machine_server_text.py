"""What the server says reaches errors and logs scrubbed, then bounded; its hints are checked.

The machine alone (helpers from ``test_machine``), with a key of realistic length.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from streamstraight_server._core.errors import (
    ConnectionLostError,
    EndRejectedError,
    StreamError,
    StreamstraightServerError,
)
from streamstraight_server._core.machine import Goal, State, StreamMachine
from streamstraight_server._core.protocol import EndAnswer, ServerError, StreamInfo
from tests.core.test_machine import STREAM, error_of, info, make, opened, send, state
from tests.hostile.fragments import key_fragments

KEY = "sk_test_q3Lm9Vx2Rt7Yw4Pz8Ks1Nd6Hf5"
MB = 1024 * 1024


def keyed(**options: Any) -> StreamMachine:
    return make(api_key=KEY, **options)


def assert_safe(error: StreamstraightServerError, caplog: pytest.LogCaptureFixture) -> None:
    """Short, names the stream, no key fragment in the error or any record."""
    message = str(error)
    assert len(message) < 1000 and repr(STREAM) in message
    for text in [message, repr(error), *(r.getMessage() for r in caplog.records)]:
        assert not key_fragments(text, KEY), text[:300]
    assert all(len(r.getMessage()) < 1000 for r in caplog.records)


def megabyte() -> str:
    return f"{KEY} " + "blah " * (MB // 5) + f"{KEY[:-1]} end"


def test_a_stream_error_of_a_megabyte_is_bounded_and_kept_whole_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine = keyed()
    generation = opened(machine)
    machine.server_error(
        generation, ServerError.parse({"message": megabyte(), "code": "internal"}), 0.0
    )
    error = error_of(machine)
    assert isinstance(error, StreamError) and error.code == "internal"
    assert_safe(error, caplog)
    assert "characters in all" in str(error)
    assert error.server_message is not None and len(error.server_message) > MB
    assert not key_fragments(error.server_message, KEY)
    assert error.server_message.startswith("*** blah") and error.server_message.endswith("*** end")


@pytest.mark.parametrize("offset", [0, 150, 180, 250, 299, 320])
def test_the_key_anywhere_near_the_cut_of_an_end_answer_leaves_nothing(
    offset: int, caplog: pytest.LogCaptureFixture
) -> None:
    for answer in (
        {"success": False, "error": "x" * offset + KEY + "y" * 500},
        {"success": None, "echo": "x" * offset + KEY + "y" * 500},
        "x" * offset + KEY + "y" * 500,
    ):
        machine = keyed()
        generation = opened(machine)
        machine.end("completed", 0.0)
        machine.end_answer(generation, EndAnswer.parse(answer))
        error = error_of(machine)
        assert type(error) is EndRejectedError
        assert_safe(error, caplog)


def test_a_garbage_end_answer_is_shown_as_its_repr_bounded() -> None:
    machine = keyed()
    generation = opened(machine)
    machine.end("completed", 0.0)
    deep: Any = "bottom"
    for _ in range(5000):
        deep = [deep]
    machine.end_answer(generation, EndAnswer.parse({"success": "maybe", "why": deep}))
    error = error_of(machine)
    assert "the server answered END with {'success': 'maybe', 'why': [[[" in str(error)
    assert "<nested too deep>" in (error.server_message or "")


def test_an_error_code_is_bounded_and_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    machine = keyed()
    generation = opened(machine)
    machine.server_error(
        generation, ServerError.parse({"message": "m", "code": KEY + "-" * MB}), 0.0
    )
    error = error_of(machine)
    assert isinstance(error, StreamError) and error.code is not None
    assert error.code.startswith("***-") and len(error.code) < 120
    assert_safe(error, caplog)


@pytest.mark.parametrize("retry", [-5000, -1, 30_001, 10**12, 1.5, "100", True, [1]])
def test_a_retry_hint_out_of_range_is_ignored_with_a_warning(
    retry: object, caplog: pytest.LogCaptureFixture
) -> None:
    machine = keyed()
    generation = opened(machine)
    with caplog.at_level(logging.WARNING, "streamstraight_server"):
        machine.server_error(
            generation, ServerError.parse({"message": "m", "retryInMs": retry}), 0.0
        )
    error = error_of(machine)
    assert isinstance(error, StreamError) and error.retry_in_ms is None
    assert any("retryInMs" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("retry", [0, 1500, 30_000, None])
def test_a_retry_hint_in_range_is_passed_on_silently(
    retry: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    machine = keyed()
    generation = opened(machine)
    with caplog.at_level(logging.WARNING, "streamstraight_server"):
        machine.server_error(
            generation, ServerError.parse({"message": "m", "retryInMs": retry}), 0.0
        )
    error = error_of(machine)
    assert isinstance(error, StreamError) and error.retry_in_ms == retry
    assert not any("retryInMs" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("last_seq", [10**30, 2**53, -1, 1.0, "3", True])
def test_a_last_seq_that_is_not_a_seq_counts_as_null(last_seq: object) -> None:
    machine = keyed()
    machine.start(0.0)
    (action,) = machine.take_actions()
    machine.handshake_ok(action.generation, 0.0)
    machine.info(action.generation, StreamInfo.parse(info(None) | {"lastSeq": last_seq}), 0.0)
    assert state(machine) is State.OPEN and machine.send("a", 1) == 0


def test_an_end_id_is_scrubbed_and_one_that_is_not_an_id_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for redis_id, expected in ((f"1-0 {KEY}", "1-0 ***"), ("9" * 5000, ""), (["1-0"], "")):
        machine = keyed()
        generation = opened(machine)
        machine.end("completed", 0.0)
        machine.end_answer(generation, EndAnswer.parse({"success": True, "endRedisId": redis_id}))
        assert machine.ready(Goal.ENDED) and machine.end_redis_id == expected
    assert all(len(r.getMessage()) < 1000 for r in caplog.records)


def test_an_end_reason_from_the_server_is_bounded_and_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine = keyed(resume_timeout=100.0)
    generation = opened(machine)
    send(machine, 2)
    machine.end("completed", 0.0)
    machine.take_actions()
    machine.connection_lost(generation, 1.0)
    (action,) = machine.take_actions()
    machine.handshake_ok(action.generation, 1.0)
    reason = "r" * 5000 + KEY
    machine.info(action.generation, StreamInfo.parse(info(1, ended=True, endReason=reason)), 1.0)
    error = error_of(machine)
    assert type(error) is ConnectionLostError and "ended it (rrrr" in str(error)
    assert_safe(error, caplog)
