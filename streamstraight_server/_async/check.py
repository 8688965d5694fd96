"""``acheck()``: at an app's start, is the server there and does it accept the API key?

A token request is the check: it needs the key, costs the server nothing that lasts, and
reaches the same base URL as the streams.
"""

from __future__ import annotations

import logging

from .._core.errors import AuthenticationError, ConnectError, StreamstraightTokenError
from .._core.options import ServerOptions
from .._core.unreachable import os_reason, unreachable_advice
from .tokens import request_client_token

logger = logging.getLogger("streamstraight_server")


async def check_server(options: ServerOptions) -> None:
    """Raise :class:`AuthenticationError` when the key is rejected, :class:`ConnectError` when
    the server cannot be reached or does not answer as a Streamstraight server."""
    base_url = options.base_url
    try:
        await request_client_token(options)
    except StreamstraightTokenError as exc:
        if isinstance(exc, AuthenticationError):
            # "the token endpoint answered HTTP 401 (...): <the server's reason>"
            said = exc.message.split(": ", 1)[1] if ": " in exc.message else ""
            raise AuthenticationError(
                f"the server at {base_url} rejected the API key (HTTP {exc.status}"
                f"{': ' + said if said else ''}). Check STREAMSTRAIGHT_API_KEY or the api_key "
                "option"
            ) from None
        if exc.status is None:
            raise ConnectError(
                f"cannot reach the server at {base_url} ({os_reason(exc.message)}). "
                f"{unreachable_advice(base_url)}",
                attempts=1,
            ) from None
        raise ConnectError(
            f"the server at {base_url} does not answer as a Streamstraight server "
            f"({exc.message}). Check STREAMSTRAIGHT_API_BASE_URL or the base_url option",
            attempts=1,
        ) from None
    logger.info("the server at %s answers and accepts the API key", base_url)
