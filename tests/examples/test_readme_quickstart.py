"""The README's quickstart app, as written, under uvicorn: its answers, and its failures.

A stale key (``streamstraight dev`` restarted, which makes a new key) and an answer whose stream
has ended both leave the HTTP response whole; each failure is one clear line on stderr when the
app set up no logging, and exactly one record when it did.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from streamstraight_server.devserver import ThreadedDevServer
from tests.support.examples import STARTUP_TIMEOUT, dechunk, request
from tests.support.helpers import child_env, closed_port

README = Path(__file__).resolve().parent.parent.parent / "README.md"
ANSWER = "You said 'hi'. This answer streams one word at a time. "
FALLBACK = "streamstraight_server ERROR: "
# a wrapper that configures logging as an app would, then runs uvicorn as its command line does
WITH_LOGGING = (
    "import logging, sys, uvicorn; "
    "logging.basicConfig(format='RECORD %(name)s %(levelname)s %(message)s'); "
    "uvicorn.run('app:app', host='127.0.0.1', port=int(sys.argv[1]))"
)


def quickstart_app() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    [app] = [block for block in blocks if "def fake_model" in block and "acheck()" in block]
    return str(app)


@contextmanager
def uvicorn_app(
    folder: Path, server: ThreadedDevServer, port: int, *, configured: bool
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """The quickstart's ``app.py`` under uvicorn on ``port``; yields it and its stderr file."""
    (folder / "app.py").write_text(quickstart_app(), encoding="utf-8")
    env = child_env(server, PYTHONUNBUFFERED="1")
    command = (
        [sys.executable, "-c", WITH_LOGGING, str(port)]
        if configured
        else [
            sys.executable,
            "-m",
            "uvicorn",
            "app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    )
    errors = folder / "stderr.log"
    with errors.open("wb") as err:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    try:
        wait_until_listening(process, port, errors)
        yield process, errors
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wait_until_listening(process: subprocess.Popen[bytes], port: int, errors: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"uvicorn exited with {process.returncode}:\n{errors.read_text()}")
        if "Uvicorn running on" in errors.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"uvicorn did not start within {STARTUP_TIMEOUT}s:\n{errors.read_text()}")


def body_text(raw: bytes) -> str:
    """The text of a chunked HTTP/1.1 body."""
    return dechunk(raw).decode()


def lines_about(errors: Path, stream_id: str, timeout: float = 15.0) -> list[str]:
    """The stderr lines naming ``stream_id``, once at least one has been written."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in errors.read_text().splitlines() if f"'{stream_id}'" in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.mark.parametrize("configured", [False, True], ids=["no logging", "logging configured"])
def test_quickstart_failures_are_one_line_each_and_the_answers_whole(
    tmp_path: Path, configured: bool
) -> None:
    port = closed_port()
    first = ThreadedDevServer(producer_grace=2.0)
    first.start()
    try:
        with uvicorn_app(tmp_path, first, port, configured=configured) as (app, errors):
            status, body = request(port, "GET", "/chat/1?prompt=hi")
            assert (status, body_text(body)) == (200, ANSWER)
            assert first.wait_for_end("answer-1").end_reason == "completed"
            assert not lines_about(errors, "answer-1", timeout=0.5)

            # the same message id again: its stream has ended, and the browser notices nothing
            status, body = request(port, "GET", "/chat/1?prompt=hi")
            assert (status, body_text(body)) == (200, ANSWER)
            ended = lines_about(errors, "answer-1")

            # streamstraight dev restarted on its port without --keep-key: a new key
            first.stop()
            with ThreadedDevServer(port=int(first.base_url.rsplit(":", 1)[1])) as second:
                status, body = request(port, "GET", "/chat/2?prompt=hi")
                assert (status, body_text(body)) == (200, ANSWER)
                stale = lines_about(errors, "answer-2")
                assert second.snapshot("answer-2") is None  # Streamstraight got nothing
    finally:
        first.stop()
    assert app.returncode is not None
    output = errors.read_text()
    prefix = "RECORD streamstraight_server ERROR " if configured else FALLBACK
    assert ended == [
        f"{prefix}stream 'answer-1': streaming to Streamstraight failed; the response went on "
        "without it: the server refused the stream: stream 'answer-1' has ended (completed). "
        "Give each answer a new stream_id, or pass overwrite_existing_stream=True to replace the "
        "stream; no chunks were sent"
    ], output
    assert stale == [
        f"{prefix}stream 'answer-2': streaming to Streamstraight failed; the response went on "
        "without it: the server rejected the API key: invalid or missing API key (this server "
        "makes a new API key each time it starts). Check STREAMSTRAIGHT_API_KEY or the api_key "
        "option; no chunks were sent"
    ], output
    ours = [line for line in output.splitlines() if "streamstraight_server" in line]
    assert ours == ended + stale  # nothing else, and never twice
    assert first.api_key not in output


def test_quickstart_with_a_wrong_key_stops_at_start(tmp_path: Path) -> None:
    with ThreadedDevServer() as server:
        (tmp_path / "app.py").write_text(quickstart_app(), encoding="utf-8")
        env = child_env(
            STREAMSTRAIGHT_API_BASE_URL=server.base_url, STREAMSTRAIGHT_API_KEY="sk_dev_stale"
        )
        done = subprocess.run(
            [sys.executable, "-m", "uvicorn", "app:app", "--port", str(closed_port())],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert "AuthenticationError: the server at " in done.stderr
    assert "rejected the API key" in done.stderr and "Application startup failed" in done.stderr
    assert "sk_dev_stale" not in done.stderr
