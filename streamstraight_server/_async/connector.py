"""One handshake: connect a socket, and turn a refusal into the error it deserves."""

from __future__ import annotations

import logging

from .._core.options import ServerOptions
from .._core.protocol import ProducerAuth
from .._core.redact import scrub
from .._core.refusals import classify_refusal
from .._core.tokens import auth_headers
from .._shims._async import AsyncSocket, SocketRefused

logger = logging.getLogger("streamstraight_server")


async def handshake(
    socket: AsyncSocket, options: ServerOptions, auth: ProducerAuth, *, resuming: bool
) -> None:
    """Connect ``socket`` to the stream of ``auth``.

    Raises a :class:`StreamstraightServerError` when retrying cannot help (a rejected key, a
    refused stream), and the transport's ``SocketError`` when it may.
    """
    try:
        await socket.connect(
            options.base_url,
            options.socketio_path,
            auth_headers(options.api_key),
            auth,
            options.connect_timeout,
        )
    except SocketRefused as refused:
        # a server may echo the key it was sent: nothing of its text goes on unscrubbed
        key = options.api_key
        message = scrub(str(refused), key)
        data = {k: scrub(v, key) if isinstance(v, str) else v for k, v in refused.data.items()}
        fatal = classify_refusal(message, data, refused.http_status, resuming=resuming)
        if fatal is not None:
            raise fatal from None
        raise SocketRefused(message, data, refused.http_status) from None
    logger.info("stream %r: connected to %s", auth.get("streamId"), options.base_url)
