"""The driver of one stream's state machine: its socket, its timers and the writer's waiting.

Every decision is the machine's (``_core/machine.py``); this module only performs what the
machine asks for and tells it what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .._core.errors import StreamstraightServerError
from .._core.machine import (
    ABORT_END_TIMEOUT,
    WAIT_FOR_ROOM,
    Action,
    Connect,
    Goal,
    Resend,
    SendEnd,
    StreamMachine,
)
from .._core.options import ServerOptions, StreamOptions
from .._core.protocol import (
    EV_ACK,
    EV_CONNECTION_ERROR,
    EV_END,
    EV_HEARTBEAT,
    EV_INFO,
    EV_STREAM_ERROR,
    EndAnswer,
    ProducerEndReason,
    ServerError,
    StreamInfo,
    producer_auth,
)
from .._core.stderr_fallback import FOR_A_PERSON
from .._core.version import sdk_version
from .._core.watch import StreamWatch, WatchHub
from .._shims._async import (
    AsyncEvent,
    AsyncLock,
    AsyncSocket,
    AsyncTask,
    AsyncTicker,
    SocketError,
    StateGuard,
    monotonic,
    spawn_connect,
)
from .connector import handshake

logger = logging.getLogger("streamstraight_server")

#: a waiting writer looks at the machine at least this often, whatever it expects
MAX_IDLE_WAIT = 5.0


class AsyncStreamSession:
    """One stream over one connection at a time (a new one after each drop)."""

    def __init__(
        self,
        options: ServerOptions,
        stream: StreamOptions,
        on_close: Callable[[AsyncStreamSession], None] | None = None,
        hub: WatchHub | None = None,
    ) -> None:
        self.options = options
        self.stream = stream
        now = monotonic()
        #: this stream's figures and events (stats, telemetry)
        self.watch = hub.watch(stream.stream_id, now) if hub else StreamWatch(stream.stream_id, now)
        self.machine = StreamMachine(
            stream.stream_id,
            options,
            overwrite=stream.overwrite_existing_stream,
            observer=self.watch,
        )
        self._guard = StateGuard()
        self.watch.attach(self.machine, self._guard)
        self._lock = AsyncLock()  # one writer call at a time
        self._wake = AsyncEvent()
        self._stop = AsyncEvent()
        self._socket: AsyncSocket | None = None
        self._socket_generation = 0
        self._heartbeat: AsyncTicker | None = None
        self._opener: AsyncTask | None = None
        self._opened = AsyncEvent()  # the background opener is done, either way
        self._closed = False
        self._on_close = on_close
        #: False when the owner reports the stream's failure itself (a tee), so that it is
        #: logged once
        self.log_failure = True
        self._failure_reported = False

    def __repr__(self) -> str:
        return f"<AsyncStreamSession {self.machine!r}>"

    @property
    def live(self) -> bool:
        """Not ended, failed or closed: a dropped connection still counts (it resumes)."""
        return self.machine.live

    @property
    def connected(self) -> bool:
        socket = self._socket
        return socket is not None and socket.connected and self.machine.linked

    def _report_failure(self) -> None:
        """The stream's failure, logged once for a person (unless its owner reports it)."""
        error = self.machine.error
        if error is None or self._failure_reported:
            return
        self._failure_reported = True
        if self.log_failure:
            logger.error("%s", error, extra=FOR_A_PERSON)

    # -- what the socket says (runs on the socket's reader) ----------------------------

    def _bind(self, generation: int) -> tuple[dict[str, Any], Any]:
        machine, guard, wake = self.machine, self._guard, self._wake
        counters = self.watch.counters

        def on_ack(payload: Any = None) -> None:
            if isinstance(payload, dict):
                with guard:
                    woke = machine.ack(generation, payload.get("seq"))
                    if machine.confirmed > counters.sample_seq:  # one chunk in 16 is timed
                        counters.samples_confirmed(machine.confirmed, monotonic())
                if woke:
                    wake.set()

        def on_info(payload: Any = None) -> None:
            with guard:
                machine.info(generation, StreamInfo.parse(payload), monotonic())
            wake.set()

        def on_error(payload: Any = None) -> None:
            with guard:
                machine.server_error(generation, ServerError.parse(payload), monotonic())
            wake.set()

        def on_disconnect() -> None:
            with guard:
                machine.connection_lost(generation, monotonic())
            wake.set()

        handlers = {
            EV_ACK: on_ack,
            EV_INFO: on_info,
            EV_STREAM_ERROR: on_error,
            EV_CONNECTION_ERROR: on_error,
        }
        return handlers, on_disconnect

    def _on_end_answer(self, generation: int) -> Callable[[Any], None]:
        def on_answer(answer: Any = None) -> None:
            with self._guard:
                self.machine.end_answer(generation, EndAnswer.parse(answer))
            self._wake.set()

        return on_answer

    # -- performing the machine's actions ----------------------------------------------

    async def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Connect):
                await self._connect(action)
            elif isinstance(action, Resend):
                await self._resend(action)
            elif isinstance(action, SendEnd):
                await self._send_end(action)

    async def _connect(self, action: Connect) -> None:
        await self._drop_socket()
        if action.delay and await self._stop.wait(action.delay):
            return  # closed meanwhile
        handlers, on_disconnect = self._bind(action.generation)
        socket = AsyncSocket(handlers, on_disconnect)
        self._socket, self._socket_generation = socket, action.generation
        auth = producer_auth(self.stream.stream_id, sdk_version(), action.overwrite)
        try:
            await handshake(socket, self.options, auth, resuming=action.resuming)
        except (SocketError, StreamstraightServerError) as exc:
            if self._socket is socket:
                self._socket = None
            with self._guard:
                self.machine.connect_failed(action.generation, exc, monotonic())
            if not isinstance(exc, StreamstraightServerError) and not self._closed:
                logger.warning(
                    "stream %r: connection attempt failed: %s", self.stream.stream_id, exc
                )
            return
        if self._closed:
            await socket.close()
            return
        with self._guard:
            self.machine.handshake_ok(action.generation, monotonic())

    def _socket_of(self, generation: int) -> AsyncSocket | None:
        return self._socket if self._socket_generation == generation else None

    async def _resend(self, action: Resend) -> None:
        socket = self._socket_of(action.generation)
        try:
            if socket is None:
                raise SocketError("not connected")
            self.watch.resent(len(action.chunks), sum(chunk.size for chunk in action.chunks))
            for chunk in action.chunks:
                await socket.emit_chunk(chunk.seq, chunk.data)
        except SocketError:
            with self._guard:
                self.machine.connection_lost(action.generation, monotonic())

    async def _send_end(self, action: SendEnd) -> None:
        socket = self._socket_of(action.generation)
        try:
            if socket is None:
                raise SocketError("not connected")
            await socket.emit_with_ack(
                EV_END, action.payload, self._on_end_answer(action.generation)
            )
        except SocketError:
            with self._guard:
                self.machine.connection_lost(action.generation, monotonic())

    async def _drop_socket(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close()

    # -- waiting -----------------------------------------------------------------------

    async def _drive(self, goal: Goal, size: int = 0) -> None:
        """Perform the machine's actions and wait until ``goal`` is met, or raise its error."""
        machine = self.machine
        with self._guard:
            machine.begin_wait(goal, monotonic())
        try:
            while True:
                self._wake.clear()  # before looking, so that no wake-up is missed
                now = monotonic()
                with self._guard:
                    deadline = machine.next_deadline()
                if deadline is not None and now >= deadline:
                    await self._settle(deadline)
                with self._guard:
                    machine.poll(now)
                    actions = machine.take_actions()
                    done = not actions and machine.ready(goal, size)
                    deadline = machine.next_deadline()
                if actions:
                    await self._perform(actions)
                    continue
                if done:
                    return
                wait = MAX_IDLE_WAIT if deadline is None else min(deadline - now, MAX_IDLE_WAIT)
                if wait > 0:
                    socket = self._socket
                    if socket is None:
                        await self._wake.wait(wait)
                        continue
                    socket.awaiting(True)
                    try:
                        await self._wake.wait(wait)
                    finally:
                        socket.awaiting(False)
        except StreamstraightServerError:
            if machine.failed:
                self._report_failure()
                await self._drop_socket()
            raise
        finally:
            with self._guard:
                machine.end_wait()

    async def _settle(self, deadline: float) -> None:
        """Before a deadline counts as missed, let the reader take what arrived before it: a
        starved process is not a server that did not answer."""
        socket = self._socket
        if socket is not None:
            await socket.settle(deadline)

    # -- the writer's calls ------------------------------------------------------------

    async def open(self, *, wait: bool = True) -> None:
        """Connect (with retries for transient failures) and learn where the stream stands.

        ``wait`` False returns at once and connects in the background: chunks sent meanwhile
        wait in the window, and a failure is raised by the writer's next call."""
        with self._guard:
            self.machine.start(monotonic())
        if not wait:
            self._opener = spawn_connect(self._open_in_background, name="streamstraight-open")
            if self._opener is not None:
                return
        try:
            await self._connect_now()
        except BaseException:
            await self.close()
            raise

    async def _connect_now(self) -> None:
        async with self._lock:
            await self._drive(Goal.OPEN)
        interval = self.options.heartbeat_interval
        if interval is not None and not self._closed:
            self._heartbeat = AsyncTicker(interval, self._beat)

    async def _open_in_background(self) -> None:
        try:
            await self._connect_now()
        except StreamstraightServerError:
            pass  # the machine holds the error: the writer's next call raises it
        finally:
            self._opened.set()

    async def send(self, data: str, size: int) -> int:
        """Hand one encoded chunk of ``size`` UTF-8 bytes to the server; returns its seq.

        Waits only while the window is full or the connection is being resumed."""
        machine = self.machine
        if machine.connecting:  # lock-free: the opener holds the lock while it connects
            counters = self.watch.counters
            with self._guard:
                seq = machine.send(data, size) if machine.connecting else WAIT_FOR_ROOM
                if seq is not WAIT_FOR_ROOM and seq >= counters.next_sample:
                    counters.sample(seq, monotonic())
            if seq is not WAIT_FOR_ROOM:
                counters.bytes_sent += size
                return seq
        async with self._lock:
            counters = self.watch.counters
            try:
                with self._guard:
                    seq = machine.send(data, size)
                    # read with the seq: a drop seen by the reader meanwhile moves it on
                    generation = machine.generation
                while seq is WAIT_FOR_ROOM:
                    await self._drive(Goal.ROOM, size)
                    with self._guard:
                        seq = machine.send(data, size)
                        generation = machine.generation
            except StreamstraightServerError:
                self._report_failure()
                raise
            if seq >= counters.next_sample:  # one chunk in 16 is timed until confirmed
                with self._guard:
                    counters.sample(seq, monotonic())
            counters.bytes_sent += size
            # only this call (under self._lock) connects, so the socket is that generation's
            socket = self._socket
            try:
                if socket is None:
                    raise SocketError("not connected")
                await socket.emit_chunk(seq, data)
            except SocketError:
                # the chunk stays in the window: the resume resends it if the server lacks it
                with self._guard:
                    machine.connection_lost(generation, monotonic())
            return seq

    async def flush(self) -> None:
        """Return once the server has confirmed every chunk sent so far."""
        async with self._lock:
            await self._drive(Goal.FLUSHED)

    async def end(self, reason: ProducerEndReason, timeout: float | None = None) -> str:
        """Send END and return the server's id for it once the server confirms it."""
        async with self._lock:
            with self._guard:
                self.machine.end(reason, monotonic(), timeout=timeout)
            self.watch.end_reason = reason
            await self._drive(Goal.ENDED)
            self.watch.finish(monotonic())
            return self.machine.end_redis_id or ""

    async def abort(self) -> None:
        """After an exception or a cancellation: END with ``producer-error`` if the connection
        is up (waiting a few seconds at most), then close. Never raises."""
        try:
            if self.machine.writable or self.machine.connecting:
                await self.end(
                    "producer-error", timeout=min(self.options.end_timeout, ABORT_END_TIMEOUT)
                )
        except StreamstraightServerError as exc:
            logger.warning(
                "stream %r: could not end the stream after an error: %s", self.stream.stream_id, exc
            )
        finally:
            await self.close()

    async def _beat(self) -> None:
        """Every ``heartbeat_interval``: a heartbeat if nothing was sent meanwhile."""
        with self._guard:
            due = self.machine.heartbeat_due()
            socket = self._socket_of(self.machine.generation)
        if due and socket is not None:
            await socket.post(EV_HEARTBEAT, {})

    async def close(self, *, connect_wait: float | None = None) -> None:
        """Close the connection and stop the heartbeat; a live stream is left without END.
        Idempotent.

        Chunks that ``send()`` took while the first connection was being made wait for the
        background connect to carry them, up to ``connect_wait`` seconds (one connect timeout
        by default). The machine is open as soon as ``stream:info`` is read, before the
        connect has sent those chunks: so the connect's end is awaited, not the state."""
        if self._closed:
            return
        opener = self._opener
        if opener is not None and self.machine.sent and not self._opened.is_set():
            wait = self.options.connect_timeout if connect_wait is None else connect_wait
            await self._opened.wait(wait)
        self._closed = True
        with self._guard:
            self.machine.close()
        self._report_failure()
        self._stop.set()
        self._wake.set()  # a writer waiting on the server sees the close at once
        await self._drop_socket()
        opener, self._opener = self._opener, None
        if opener is not None:
            await opener.join()
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            await heartbeat.stop()
        self.watch.finish(monotonic())
        if self._on_close is not None:
            self._on_close(self)
