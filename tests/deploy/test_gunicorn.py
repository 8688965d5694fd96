"""The README's Flask recipe, unchanged, under gunicorn's own workers: recycled after
``--max-requests``, stopped with SIGTERM, and on gevent with and without ``--preload``. What
counts is what Streamstraight holds afterwards."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from streamstraight_server.testing import StreamstraightFixture
from tests.support.examples import (
    answer_chunks,
    answer_text,
    dechunk,
    read_then_disconnect,
    request,
)
from tests.support.web_servers import gunicorn

#: from the request to the end of every stream: the fake model takes 0.8 s per answer
END_TIMEOUT = 40.0


def assert_whole(streamstraight: StreamstraightFixture, stream_id: str, prompt: str) -> None:
    snap = streamstraight.wait_for_end(stream_id, timeout=END_TIMEOUT)
    assert (snap.end_reason, snap.data) == ("completed", answer_chunks(prompt)), stream_id


def test_a_sync_worker_recycled_by_max_requests_finishes_its_answer(
    streamstraight: StreamstraightFixture, tmp_path: Path
) -> None:
    log = tmp_path / "gunicorn.log"
    with gunicorn(log, "--worker-class", "sync", "--max-requests", "1") as (port, _):
        for index in range(3):  # each request is its worker's last
            # two refused attempts (retried after 0.5 s and 1 s): the answer reaches the
            # browser, and the worker exits, before the stream has even started
            streamstraight.inject(refuse_connections=2)
            status, body = request(port, "GET", f"/chat/mr-{index}?prompt=p{index}")
            assert status == 200 and dechunk(body) == answer_text(f"p{index}").encode()
            assert_whole(streamstraight, f"answer-mr-{index}", f"p{index}")
    assert "Autorestarting worker" in log.read_text()


def test_sigterm_to_gthread_workers_loses_no_answer(
    streamstraight: StreamstraightFixture, tmp_path: Path
) -> None:
    log = tmp_path / "gunicorn.log"
    with gunicorn(log, "--worker-class", "gthread", "--threads", "8") as (port, master):
        # six browsers: three leave after the first word, three are still reading at SIGTERM
        with ThreadPoolExecutor(6) as pool:
            readers = [
                pool.submit(request, port, "GET", f"/chat/term-{i}?prompt=t{i}") for i in range(3)
            ]
            for i in range(3, 6):
                read_then_disconnect(port, f"/chat/term-{i}?prompt=t{i}", until=b"-0 ")
            time.sleep(0.1)
            master.send_signal(signal.SIGTERM)
            for reader in readers:
                status, body = reader.result(timeout=END_TIMEOUT)
                assert status == 200 and body.endswith(b"0\r\n\r\n")  # read to its end
        master.wait(END_TIMEOUT)
    for i in range(6):
        assert_whole(streamstraight, f"answer-term-{i}", f"t{i}")


@pytest.mark.parametrize("preload", [False, True], ids=["patched-first", "preload"])
def test_gevent_workers_stream_whole_answers(
    streamstraight: StreamstraightFixture, tmp_path: Path, preload: bool
) -> None:
    """With ``--preload`` the app, and this package, are imported before gevent patches."""
    pytest.importorskip("gevent")
    options = ["--worker-class", "gevent", "--worker-connections", "50"]
    if preload:
        options.append("--preload")
    started = time.monotonic()
    with gunicorn(tmp_path / "gunicorn.log", *options) as (port, _):
        with ThreadPoolExecutor(20) as pool:
            answers = list(
                pool.map(
                    lambda i: request(port, "GET", f"/chat/gevent-{preload}-{i}?prompt=g{i}"),
                    range(20),
                )
            )
        status, token = request(port, "POST", "/streamstraight-token")
    assert all(status == 200 for status, _ in answers)
    for i in range(20):
        assert dechunk(answers[i][1]) == answer_text(f"g{i}").encode()
        assert_whole(streamstraight, f"answer-gevent-{preload}-{i}", f"g{i}")
    assert status == 200 and b'"token"' in token
    assert time.monotonic() - started < 60  # twenty answers of 0.8 s run side by side
