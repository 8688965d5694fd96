"""gunicorn started for real on the README's Flask recipe (``examples/flask_app.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.examples.running import REPO, wait_until_listening
from tests.helpers import closed_port


@contextmanager
def gunicorn(log: Path, *options: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``gunicorn examples.flask_app:app`` with ``options``, on a free port of 127.0.0.1 and
    with the test's environment; yields its port and master process, stops it afterwards."""
    port = closed_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "30",
        *options,
        "examples.flask_app:app",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=output)
    try:
        wait_until_listening(port, process, log)
        yield port, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def dechunk(body: bytes) -> bytes:
    """The payload of a body sent with ``Transfer-Encoding: chunked``."""
    payload = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        payload += rest[:size]
        body = rest[size + 2 :]
    return payload
