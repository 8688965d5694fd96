"""Ctrl-C (KeyboardInterrupt) and exceptions in blocking code that writes a stream."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from streamstraight_server import Streamstraight, WriterClosedError
from streamstraight_server.devserver import ThreadedDevServer


def sdk_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if "devserver" not in t.name and t is not threading.main_thread()
    ]


def threads_left(before: set[threading.Thread], timeout: float = 1.0) -> set[threading.Thread]:
    """The SDK's threads not in ``before`` still there after ``timeout`` (the I/O thread ends
    a moment after its last connection)."""
    deadline = time.monotonic() + timeout
    while (left := set(sdk_threads()) - before) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def test_keyboard_interrupt_ends_with_producer_error_and_leaves_no_thread(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    before = set(sdk_threads())
    client = Streamstraight(**options, stream_id="ctrl-c", heartbeat_interval=0.05)
    with pytest.raises(KeyboardInterrupt):
        with client.stream_writer() as writer:
            writer.send("first")
            raise KeyboardInterrupt
    snap = server.wait_for_end("ctrl-c", timeout=5)
    assert snap.end_reason == "producer-error" and snap.data == ['"first"']
    assert not client.connected
    assert not threads_left(before)


def test_finished_client_leaves_no_thread(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    before = set(sdk_threads())
    for index in range(3):
        Streamstraight(**options, stream_id=f"t{index}", heartbeat_interval=0.05).stream(["x"])
    assert not threads_left(before)


def test_disconnect_wakes_a_writer_waiting_for_room(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    server.faults.ack_delay = 5.0
    client = Streamstraight(
        **{**options, "ack_timeout": 10.0}, stream_id="waiting", max_in_flight_chunks=2
    )
    writer = client.stream_writer()
    writer.send(0)
    writer.send(1)
    outcome: list[BaseException] = []

    def blocked_send() -> None:
        try:
            writer.send(2)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=blocked_send)
    thread.start()
    thread.join(0.2)
    assert thread.is_alive()
    started = time.monotonic()
    client.disconnect()
    thread.join(5)
    assert time.monotonic() - started < 1.0
    assert len(outcome) == 1 and isinstance(outcome[0], WriterClosedError)
