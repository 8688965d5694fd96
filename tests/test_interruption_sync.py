"""Ctrl-C (KeyboardInterrupt) and exceptions in blocking code that writes a stream."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from streamstraight_server import Streamstraight
from streamstraight_server.devserver import ThreadedDevServer


def sdk_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if "devserver" not in t.name and t is not threading.main_thread()
    ]


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
    assert set(sdk_threads()) <= before


def test_finished_client_leaves_no_thread(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    before = set(sdk_threads())
    for index in range(3):
        Streamstraight(**options, stream_id=f"t{index}", heartbeat_interval=0.05).stream(["x"])
    assert set(sdk_threads()) <= before
