"""Fetching client tokens for browsers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.errors import StreamstraightTokenError
from .._core.options import ServerOptions
from .._core.redact import scrub
from .._core.tokens import auth_headers, parse_token_response, token_url
from .._shims._async import AsyncHttp, SocketError


async def request_client_token(options: ServerOptions) -> str:
    """POST ``/v1/token`` with the API key and return the token the server minted."""
    url = token_url(options.base_url)
    try:
        status, body = await AsyncHttp.post(
            url, auth_headers(options.api_key), options.http_timeout
        )
    except SocketError as exc:
        message = scrub(str(exc), options.api_key)
        raise StreamstraightTokenError(f"the token request failed: {message}") from None
    return parse_token_response(status, body, options.api_key)


async def fetch_client_token(
    options: Mapping[str, Any] | ServerOptions | None = None, **kwargs: Any
) -> str:
    """Fetch a short-lived client token for a browser (the official SDK's function).

    Takes the official options dict, or keywords (``api_key``, ``base_url``, ``http_timeout``);
    ``api_key`` and ``base_url`` default to ``STREAMSTRAIGHT_API_KEY`` and
    ``STREAMSTRAIGHT_API_BASE_URL``.
    """
    return await request_client_token(ServerOptions.build(options, **kwargs))
