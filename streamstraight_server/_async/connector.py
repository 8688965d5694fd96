"""One handshake: connect a socket, and turn a refusal into the error it deserves."""

from __future__ import annotations

import logging

from .._core.options import ServerOptions
from .._core.protocol import ProducerAuth
from .._core.redact import scrub, scrub_data, scrub_exception, shown
from .._core.refusals import classify_refusal
from .._core.tokens import auth_headers
from .._shims._async import AsyncSocket, SocketError, SocketRefused

logger = logging.getLogger("streamstraight_server")


async def handshake(
    socket: AsyncSocket, options: ServerOptions, auth: ProducerAuth, *, resuming: bool
) -> None:
    """Connect ``socket`` to the stream of ``auth``.

    Raises a :class:`StreamstraightServerError` when retrying cannot help (a rejected key, a
    refused stream), and the transport's ``SocketError`` when it may. Either way nothing the
    server said goes on unscrubbed (a server may echo the key it was sent) or unbounded.
    """
    failure: SocketError | None = None
    try:
        await socket.connect(
            options.base_url,
            options.socketio_path,
            auth_headers(options.api_key),
            auth,
            options.connect_timeout,
        )
    except SocketError as exc:
        failure = exc
    if failure is not None:
        # raised here, outside the except block: the raw failure is not the new one's context
        raise _scrubbed(failure, options, resuming=resuming)
    logger.info("stream %r: connected to %s", auth.get("streamId"), options.base_url)


def _scrubbed(failure: SocketError, options: ServerOptions, *, resuming: bool) -> Exception:
    """The error to raise for a failed handshake, holding nothing unscrubbed."""
    key = options.api_key
    if isinstance(failure, SocketRefused):
        message = scrub(str(failure), key)
        data = scrub_data(failure.data, key)
        fatal = classify_refusal(message, data, failure.http_status, resuming=resuming)
        if fatal is not None:
            fatal.server_message = message
            return fatal
        return SocketRefused(shown(message), data, failure.http_status)
    scrub_exception(failure, key)  # in place: its cause is kept (what a ConnectError names)
    text = shown(str(failure))
    if text != str(failure):
        failure.args = (text,)
    return failure
