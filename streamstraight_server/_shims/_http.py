"""HTTP for token requests: a blocking POST whose timeout is a deadline for the whole request,
and decoding an answer's text (both flavours).

requests (urllib3 under it) applies its timeout to each socket operation: a server that answers
one byte every few hundred milliseconds keeps a request alive for as long as it likes. Here the
request is http.client's, over a socket whose every operation (connecting, sending, each read of
the status line, headers and body) waits at most until one deadline. No thread is started.
Like the asyncio flavour (aiohttp, ``trust_env`` off), it uses no proxy from the environment and
the default TLS context, and it follows no redirect, so the API key goes nowhere else.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


class DeadlinePassed(TimeoutError):
    """The request's deadline passed."""


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlinePassed("the deadline passed")
    return left


class _Reader(io.RawIOBase):
    """The socket's reading side; each read waits at most until the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_left(self._deadline))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What http.client uses of a socket, each operation within the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_left(self._deadline))
        self._sock.sendall(data)

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self._sock, self._deadline))

    def close(self) -> None:
        """http.client closes its connection as soon as an answer says it will close, before
        the body is read: the socket itself is closed by ``post`` once it is done."""


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    """A TCP connection to the first address that answers, all of them within the deadline."""
    failure: OSError | None = None
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_left(deadline))
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            if isinstance(exc, DeadlinePassed):
                raise
            failure = exc
    raise failure or OSError(f"no address for {host}")


def post(url: str, headers: Mapping[str, str], timeout: float, limit: int) -> tuple[int, str, bool]:
    """POST ``url`` without a body: the answer's status, its text (at most ``limit`` bytes of
    it) and whether that is all of it.

    Raises ``TimeoutError`` once ``timeout`` seconds have passed, whatever the server is doing,
    and ``OSError`` or ``http.client.HTTPException`` when the exchange fails."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    sock = _connect(host, port, deadline)
    try:
        if secure:
            sock.settimeout(_left(deadline))  # the handshake as a whole waits at most this
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        kind = http.client.HTTPSConnection if secure else http.client.HTTPConnection
        connection = kind(host, port)
        connection.sock = _DeadlineSocket(sock, deadline)
        connection.request("POST", parts.path or "/", headers=dict(headers))
        response = connection.getresponse()
        body = response.read(limit + 1)
        return (
            response.status,
            decode(body[:limit], response.headers.get_content_charset()),
            (len(body) <= limit),
        )
    finally:
        sock.close()


def decode(body: bytes, charset: str | None) -> str:
    """An answer's text in its charset (UTF-8 by default or when unknown), never failing."""
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")
