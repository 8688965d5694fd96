"""Web servers started for real on the examples: gunicorn (``examples.flask_app:app`` unless
told otherwise) and uvicorn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .examples import wait_until_listening
from .helpers import REPO, closed_port


@contextmanager
def gunicorn(
    log: Path, *options: str, app: str = "examples.flask_app:app"
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``gunicorn app`` with ``options``, on a free port of 127.0.0.1 and with the test's
    environment; yields its port and master process, stops it afterwards."""
    port = closed_port()
    with served(
        log,
        port,
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "30",
        *options,
        app,
    ) as process:
        yield port, process


@contextmanager
def uvicorn(log: Path, app: str, *options: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``uvicorn app`` with ``options``, as ``gunicorn()`` does."""
    port = closed_port()
    with served(
        log, port, "uvicorn", "--host", "127.0.0.1", "--port", str(port), *options, app
    ) as process:
        yield port, process


@contextmanager
def served(log: Path, port: int, *command: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m command...``, listening on ``port``; SIGTERM (then SIGKILL) at the end."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", *command], cwd=REPO, env=env, stdout=output, stderr=output
        )
    try:
        wait_until_listening(port, process, log)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
