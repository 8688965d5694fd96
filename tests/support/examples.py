"""The examples: what their fake model writes, running one under its real server, and an HTTP
client that leaves mid-answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .helpers import REPO, closed_port

STARTUP_TIMEOUT = 60.0
#: how many words the examples' fake model writes
WORDS = 40


def answer_chunks(prompt: str = "word") -> list[str]:
    """The stream's chunks: each word as JSON text."""
    return [f'"{prompt}-{i} "' for i in range(WORDS)]


def answer_text(prompt: str = "word") -> str:
    """The HTTP response's body."""
    return "".join(f"{prompt}-{i} " for i in range(WORDS))


@contextmanager
def example_server(script: str, log: Path) -> Iterator[int]:
    """``python examples/<script>`` on a free port of 127.0.0.1 (``PORT``), with the test's
    environment (the ``streamstraight`` fixture points it at the local Streamstraight server).
    Yields the port once the server accepts connections; stops it afterwards."""
    port = closed_port()
    env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "examples" / script)],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_listening(port, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the example exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(
        f"the example did not listen within {STARTUP_TIMEOUT}s:\n{log.read_text()}"
    )


def request(port: int, method: str, path: str) -> tuple[int, bytes]:
    """One whole HTTP/1.1 request; returns the status and the raw body (chunked or not)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_request_bytes(method, path))
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


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


def read_then_disconnect(port: int, path: str, until: bytes) -> bytes:
    """GET ``path``, read until ``until`` shows in the body, then close the connection at once,
    as a browser tab that is closed mid-answer does. Returns what was read."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.sendall(_request_bytes("GET", path))
        received = b""
        while until not in received.partition(b"\r\n\r\n")[2]:
            chunk = sock.recv(65536)
            assert chunk, f"the server closed the response before {until!r}: {received!r}"
            received += chunk
    finally:
        sock.close()
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return received


def _request_bytes(method: str, path: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
