"""Opening a producer socket: the handshake, retried for transient failures only."""

from __future__ import annotations

import logging
from collections.abc import Callable

from .._core.backoff import retry_delay
from .._core.errors import ConnectError, ConnectTimeoutError, StreamstraightServerAbortError
from .._core.options import ServerOptions
from .._core.protocol import ProducerAuth
from .._core.refusals import classify_refusal
from .._core.tokens import auth_headers
from .._shims._async import AsyncSocket, SocketError, SocketRefused, SocketTimeout, sleep

logger = logging.getLogger("streamstraight_server")


async def open_producer_socket(
    options: ServerOptions,
    auth: ProducerAuth,
    new_socket: Callable[[], AsyncSocket],
    *,
    attempts: int,
    resuming: bool,
    aborted: Callable[[], bool],
) -> AsyncSocket:
    """A connected socket, after at most ``attempts`` handshakes.

    A rejected key or a refused stream raises at once; other failures are retried after
    ``connect_retry_delay_ms``, doubled each time. ``aborted()`` turning true (``disconnect()``
    was called meanwhile) raises :class:`StreamstraightServerAbortError`.
    """
    stream_id = auth.get("streamId")
    headers = auth_headers(options.api_key)
    last: SocketError | None = None
    for attempt in range(attempts):
        if aborted():
            raise StreamstraightServerAbortError()
        if attempt:
            await sleep(retry_delay(options.connect_retry_delay_ms, attempt - 1))
        socket = new_socket()
        try:
            await socket.connect(options.base_url, headers, auth, options.connect_timeout)
        except SocketRefused as refused:
            fatal = classify_refusal(
                str(refused), refused.data, refused.http_status, resuming=resuming
            )
            if fatal is not None:
                raise fatal from None
            last = refused
        except SocketError as failure:
            last = failure
        else:
            if aborted():
                await socket.close()
                raise StreamstraightServerAbortError()
            logger.info(
                "stream %r: connected to %s (attempt %d)", stream_id, options.base_url, attempt + 1
            )
            return socket
        logger.warning(
            "stream %r: connection attempt %d/%d failed: %s", stream_id, attempt + 1, attempts, last
        )
    error_type = ConnectTimeoutError if isinstance(last, SocketTimeout) else ConnectError
    raise error_type(
        f"could not connect to {options.base_url} after {attempts} attempt"
        f"{'s' if attempts > 1 else ''}: {last}",
        attempts=attempts,
    )
