"""Fetching client tokens for browsers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.errors import StreamstraightTokenError
from .._core.options import ServerOptions
from .._core.redact import shown
from .._core.tokens import MAX_ANSWER_BYTES, auth_headers, parse_token_response, token_url
from .._shims._async import AsyncHttp, SocketError


async def request_client_token(options: ServerOptions) -> str:
    """POST ``/v1/token`` with the API key and return the token the server minted."""
    url = token_url(options.base_url)
    failure: SocketError | None = None
    try:
        status, body, complete = await AsyncHttp.post(
            url, auth_headers(options.api_key), options.http_timeout, MAX_ANSWER_BYTES
        )
    except SocketError as exc:
        failure = exc
    if failure is not None:
        # raised outside the except block: the transport's exception is not its context
        message = shown(str(failure), options.api_key)
        raise StreamstraightTokenError(f"the token request failed: {message}")
    return parse_token_response(status, body, options.api_key, complete=complete)


async def fetch_client_token(
    options: Mapping[str, Any] | ServerOptions | None = None, **kwargs: Any
) -> str:
    """Fetch a short-lived client token for a browser (the official SDK's function).

    Takes the official options dict, or keywords (``api_key``, ``base_url``, ``http_timeout``);
    ``api_key`` and ``base_url`` default to ``STREAMSTRAIGHT_API_KEY`` and
    ``STREAMSTRAIGHT_API_BASE_URL``.
    """
    return await request_client_token(ServerOptions.build(options, **kwargs))
