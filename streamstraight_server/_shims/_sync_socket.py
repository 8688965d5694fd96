"""The blocking flavour's connection: websocket-client connects, the process's I/O thread reads.

``connect()`` runs on the caller's thread under one deadline (a watchdog on the I/O thread cuts
the socket when it passes, however slowly the server trickles its bytes). Then the socket turns
non-blocking and joins the I/O thread, which reads it, answers the server's pings and calls the
handlers. ``emit*()`` write on the caller's thread; a frame the I/O thread has to send while a
writer holds the socket (a pong, a heartbeat) is written by that writer before it lets go.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import websocket

from .._core.errors import describe
from ._frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameReader,
    control_frame,
    text_frame,
)
from ._ioloop import IOLoop, io_loop
from ._transport import (
    Handler,
    SocketError,
    SocketRefused,
    SocketTimeout,
    http_status_of,
    refusal_of,
    transport_logger,
)
from ._wire import (
    MAX_MESSAGE_BYTES,
    Phase,
    ProtocolError,
    WireConnection,
    chunk_message,
    websocket_url,
)

#: how long a write may wait for a server that does not read before the connection is dropped
SEND_TIMEOUT = 30.0
_RECV_SIZE = 65536
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class Socket:
    """One Socket.IO connection, read by the process's I/O thread."""

    def __init__(self, handlers: Mapping[str, Handler], on_disconnect: Callable[[], None]) -> None:
        self._wire = WireConnection(handlers, self._on_wire_closed)
        self._on_disconnect = on_disconnect
        self._frames = FrameReader(MAX_MESSAGE_BYTES)
        self._sock: socket.socket | None = None
        self._loop: IOLoop | None = None
        self._send_lock = threading.Lock()
        self._deferred: deque[bytes] = deque()  # frames for the next holder of the send lock
        self._backlog = b""  # the rest of a frame the I/O thread could not finish writing
        self._closed = False
        self._last_read = 0.0

    @property
    def connected(self) -> bool:
        return self._wire.connected and not self._closed

    # -- the handshake, on the caller's thread -----------------------------------------------

    def connect(
        self,
        url: str,
        path: str,
        headers: Mapping[str, str],
        auth: Mapping[str, Any],
        timeout: float,
    ) -> None:
        deadline = time.monotonic() + timeout
        loop = io_loop()
        ws = websocket.WebSocket(skip_utf8_validation=True)
        cut = threading.Lock()
        finished = False

        def past_deadline() -> None:  # on the I/O thread
            with cut:
                sock = ws.sock
                if not finished and sock is not None:
                    try:
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
                    except OSError:
                        pass

        watchdog = loop.schedule(timeout, past_deadline)
        sock: socket.socket | None = None
        try:
            try:
                ws.connect(  # type: ignore[no-untyped-call]
                    websocket_url(url, path),
                    header=dict(headers),
                    timeout=timeout,
                    suppress_origin=True,
                    redirect_limit=0,  # a redirect would carry the API key elsewhere
                )
                sock = ws.sock
                assert sock is not None
                self._wire.start(auth)
                self._handshake(sock, deadline)
            except SocketTimeout:
                raise
            except SocketError as exc:
                if time.monotonic() >= deadline:  # the watchdog cut a handshake that hung
                    raise SocketTimeout(f"no handshake within {timeout:g}s") from exc
                raise
            except Exception as exc:
                raise self._failure(exc, deadline, timeout) from exc
            finally:
                with cut:
                    finished = True
                watchdog.cancel()
        except BaseException:
            self._closed = True
            if ws.sock is not None:
                ws.sock.close()
            raise
        assert sock is not None
        sock.setblocking(False)
        self._sock = sock
        self._loop = loop
        self._last_read = time.monotonic()
        loop.call(lambda: loop.register(self))

    def _handshake(self, sock: socket.socket, deadline: float) -> None:
        wire = self._wire
        while not wire.handshake_done:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                raise SocketError("the server closed the connection during the handshake")
            for opcode, payload in self._frames.feed(data):
                if opcode == OP_TEXT:
                    for reply in wire.receive(payload.decode("utf-8")):
                        sock.sendall(text_frame(reply))
                elif opcode == OP_PING:
                    sock.sendall(control_frame(OP_PONG, payload))
                elif opcode == OP_CLOSE:
                    raise SocketError("the server closed the connection during the handshake")
        if wire.phase is Phase.REFUSED:
            raise refusal_of(wire.refusal or {})
        if wire.phase is not Phase.CONNECTED:
            raise SocketError("the server closed the connection during the handshake")

    def _failure(self, exc: Exception, deadline: float, timeout: float) -> SocketError:
        status = http_status_of(exc)
        if status is not None:
            return SocketRefused(
                f"the server refused the WebSocket upgrade with HTTP {status}", {}, status
            )
        if isinstance(exc, TimeoutError | websocket.WebSocketTimeoutException) or (
            time.monotonic() >= deadline
        ):
            return SocketTimeout(f"no handshake within {timeout:g}s")
        if isinstance(exc, ProtocolError | FrameError | UnicodeDecodeError):
            return SocketError(f"the server broke the protocol during the handshake: {exc}")
        return SocketError(describe(exc))

    # -- reading, on the I/O thread ----------------------------------------------------------

    def fileno(self) -> int:
        assert self._sock is not None
        return self._sock.fileno()

    def on_readable(self, budget: int) -> bool:
        sock = self._sock
        if sock is None or self._closed:
            return False
        taken = 0
        while taken < budget:
            try:
                data = sock.recv(_RECV_SIZE)
            except _WOULD_BLOCK:
                return False
            except OSError as exc:
                self._lost(f"the connection failed: {describe(exc)}")
                return False
            if not data:
                self._lost("the server closed the connection")
                return False
            taken += len(data)
            self._last_read = time.monotonic()
            drained = len(data) < _RECV_SIZE and not _tls_pending(sock)
            try:
                messages = self._frames.feed(data)
            except FrameError as exc:
                transport_logger.warning("dropping a connection that sent %s", exc)
                self._lost(str(exc))
                return False
            for opcode, payload in messages:
                self._message(opcode, payload)
                if self._closed:
                    return False
            if drained:  # a short read emptied the socket: the selector says when more comes
                return False
        return True

    def _message(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_TEXT:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                self._wire.receive_binary(payload)  # not text: ignored, with a warning once
                return
            for reply in self._wire.receive(text):
                self._write_nowait(text_frame(reply))
        elif opcode == OP_BINARY:
            self._wire.receive_binary(payload)
        elif opcode == OP_PING:
            self._write_nowait(control_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self._write_nowait(control_frame(OP_CLOSE))
            self._lost("the server closed the WebSocket")

    def on_writable(self) -> None:
        if self._send_lock.acquire(blocking=False):
            try:
                self._write_some(b"")
            finally:
                self._send_lock.release()

    def check_alive(self, caught_up: float) -> None:
        silent = caught_up - self._last_read
        if self._wire.connected and silent > self._wire.liveness_timeout:
            self._lost(f"the server sent nothing (not even a ping) for {silent:.0f}s")

    def _lost(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_reading()
        self._wire.lost(reason)

    def _on_wire_closed(self, reason: str) -> None:
        transport_logger.info("connection closed: %s", reason)
        self._closed = True
        self._stop_reading()
        self._on_disconnect()

    def _stop_reading(self) -> None:
        """Leave the I/O thread and fail pending writes; the descriptor is closed by close()."""
        loop, sock = self._loop, self._sock
        if loop is not None and sock is not None:
            loop.unregister(self)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- writing -------------------------------------------------------------------------

    def _send(self, frame: bytes) -> None:
        """Write a whole frame on the caller's thread."""
        if self._closed or self._sock is None:
            raise SocketError("not connected")
        with self._send_lock:
            if self._backlog:
                backlog, self._backlog = self._backlog, b""
                self._write_all(backlog)
            self._write_all(frame)
            self._write_deferred()
        if self._deferred:
            self._write_nowait(b"")

    def _write_all(self, data: bytes) -> None:
        sock = self._sock
        assert sock is not None
        view = memoryview(data)
        deadline: float | None = None
        while view:
            try:
                written = sock.send(view)
            except _WOULD_BLOCK:
                now = time.monotonic()
                deadline = deadline or now + SEND_TIMEOUT
                if now >= deadline or not _wait_writable(sock, deadline - now):
                    self._closed_by_writer(f"the server read nothing for {SEND_TIMEOUT:g}s")
                continue
            except OSError as exc:
                self._closed_by_writer(describe(exc))
            view = view[written:]

    def _closed_by_writer(self, reason: str) -> None:
        loop = self._loop
        if loop is not None:
            loop.call(lambda: self._lost(reason))
        raise SocketError(reason)

    def _write_deferred(self) -> None:
        while self._deferred:
            self._write_all(self._deferred.popleft())

    def _write_nowait(self, frame: bytes) -> None:
        """Write ``frame`` without waiting (on the I/O thread): now if the socket is free,
        else through the writer holding it, else when the socket can take it."""
        if self._closed:
            return
        if frame:
            self._deferred.append(frame)
        if not self._send_lock.acquire(blocking=False):
            return  # the holder writes the deferred frames before it lets go
        try:
            self._write_some(b"")
        finally:
            self._send_lock.release()

    def _write_some(self, extra: bytes) -> None:
        """With the send lock held, on the I/O thread: write what the socket takes now."""
        parts = [self._backlog]
        while self._deferred:  # popleft, not clear(): another thread may be appending
            parts.append(self._deferred.popleft())
        pending = b"".join(parts) + extra
        sock = self._sock
        if not pending or sock is None or self._closed:
            self._backlog = b""
            return
        try:
            written = sock.send(pending)
        except _WOULD_BLOCK:
            written = 0
        except OSError as exc:
            self._backlog = b""
            self._lost(f"the connection failed: {describe(exc)}")
            return
        self._backlog = pending[written:]
        if self._backlog and self._loop is not None:
            self._loop.want_write(self)

    # -- the session's calls -----------------------------------------------------------------

    def emit(self, event: str, data: Any) -> None:
        self._send(text_frame(self._wire.event(event, data)))

    def emit_chunk(self, seq: int, data: str) -> None:
        self._send(text_frame(chunk_message(seq, data)))

    def emit_with_ack(self, event: str, data: Any, callback: Handler) -> None:
        """Emit with a Socket.IO ack; ``callback`` runs on the I/O thread with the answer."""
        if self._closed:
            raise SocketError("not connected")
        self._send(text_frame(self._wire.event_with_ack(event, data, callback)))

    def post(self, event: str, data: Any) -> None:
        """Send without waiting, at most once, dropped if the connection is gone."""
        self._write_nowait(text_frame(self._wire.event(event, data)))

    def awaiting(self, waiting: bool) -> None:
        """The session starts (True) or stops (False) waiting for the server: the I/O thread
        then reads without its busy pause."""
        loop = self._loop
        if loop is not None:
            loop.awaiting(waiting)

    def settle(self, after: float) -> None:
        """Return once the I/O thread has read what arrived before ``after``: a deadline is
        only over when the reader ran past it (a starved process is not a silent server)."""
        loop = self._loop
        if loop is not None and not self._closed:
            loop.settle(after, timeout=SEND_TIMEOUT)

    def close(self) -> None:
        """Say goodbye if connected, and let the I/O thread close the socket once it no longer
        watches it. Returns without waiting for the I/O thread."""
        goodbye = text_frame(self._wire.disconnect()) if self.connected else b""
        self._closed = True
        self._wire.abandon()
        loop, sock = self._loop, self._sock
        if sock is None:
            return
        if self._send_lock.acquire(timeout=1.0):
            try:
                sock.send(goodbye + control_frame(OP_CLOSE))
            except OSError:
                pass
            finally:
                self._send_lock.release()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if loop is None:
            sock.close()
            return

        def forget() -> None:
            loop.unregister(self)
            sock.close()

        loop.call(forget)


def _tls_pending(sock: socket.socket) -> bool:
    """Whether TLS holds decrypted bytes that the selector cannot see."""
    return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0


def _wait_writable(sock: socket.socket, timeout: float) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_WRITE)
        return bool(selector.select(timeout))
