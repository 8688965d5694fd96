"""The blocking flavour's one I/O thread: timers, settling, ending when idle, and fork()."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from streamstraight_server._shims._ioloop import LINGER, IOLoop


def io_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "streamstraight-io"]


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_timers_run_once_or_repeatedly_until_cancelled() -> None:
    loop = IOLoop()
    once: list[float] = []
    ticks: list[float] = []
    loop.schedule(0.05, lambda: once.append(time.monotonic()))
    ticker = loop.schedule(0.02, lambda: ticks.append(time.monotonic()), every=0.02)
    wait_until(lambda: len(ticks) >= 5 and once)
    ticker.cancel()
    seen = len(ticks)
    time.sleep(0.1)
    assert len(once) == 1 and len(ticks) <= seen + 1


def test_the_thread_ends_when_idle_and_comes_back_when_needed() -> None:
    loop = IOLoop()
    ran = threading.Event()
    loop.call(ran.set)
    assert ran.wait(5)
    wait_until(lambda: loop._thread is None, timeout=LINGER + 5)
    again = threading.Event()
    loop.run(again.set)
    assert again.is_set()


def test_settle_waits_for_a_pass_that_began_after_the_given_time() -> None:
    loop = IOLoop()
    timer = loop.schedule(60, lambda: None)  # keeps the loop busy, parked in select()
    after = time.monotonic()
    assert loop.settle(after, timeout=5)
    assert loop.caught_up >= after
    timer.cancel()


def test_settle_gives_up_when_the_loop_cannot_run() -> None:
    loop = IOLoop()
    hold = threading.Event()

    def stuck() -> None:  # the loop is held in a callback: starved
        hold.wait(10)

    loop.call(stuck)
    time.sleep(0.05)
    started = time.monotonic()
    assert not loop.settle(time.monotonic(), timeout=0.2)
    assert time.monotonic() - started < 2
    hold.set()


def test_a_failing_callback_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = IOLoop()

    def broken() -> None:
        raise RuntimeError("a bug in a callback")

    with caplog.at_level(logging.ERROR, logger="streamstraight_server.transport"):
        loop.call(broken)
        done = threading.Event()
        loop.run(done.set)
    assert done.is_set()
    assert any("callback failed" in record.getMessage() for record in caplog.records)


def test_a_forked_child_gets_a_loop_of_its_own() -> None:
    script = textwrap.dedent(
        """
        import os, threading
        from streamstraight_server._shims._ioloop import io_loop
        parent = io_loop()
        ticked = threading.Event()
        parent.schedule(0.01, ticked.set)
        assert ticked.wait(5)
        pid = os.fork()
        if pid == 0:
            child = io_loop()
            ran = threading.Event()
            child.schedule(0.01, ran.set)
            os._exit(0 if child is not parent and ran.wait(5) else 1)
        _, status = os.waitpid(pid, 0)
        raise SystemExit(os.waitstatus_to_exitcode(status))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
