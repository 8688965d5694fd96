"""Client tokens: the request, its answer, and reading a token's claims.

``token_claims`` decodes WITHOUT verifying the signature: the SDK holds no key to verify with
and only reads the expiry to decide when to fetch a new token. Never trust these claims for
authorisation.
"""

from __future__ import annotations

import json
from typing import Any

import jwt

from .errors import StreamstraightTokenError, TokenAuthenticationError
from .protocol import TOKEN_PATH
from .redact import scrub, shown

#: a reused token is replaced this long before it expires (seconds)
REFRESH_MARGIN = 30.0
#: the most of the token endpoint's answer that is read (a JWT is a few hundred bytes)
MAX_ANSWER_BYTES = 64 * 1024


def token_url(base_url: str) -> str:
    return base_url.rstrip("/") + TOKEN_PATH


def auth_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def parse_token_response(
    status: int, body: str, api_key: str | None = None, *, complete: bool = True
) -> str:
    """The token from the endpoint's answer, or a :class:`StreamstraightTokenError`.

    ``complete`` is False when ``body`` is only the first ``MAX_ANSWER_BYTES`` of a longer
    answer: an error answer is quoted from it, a 2xx one cannot hold a token.

    What the server said goes into the error scrubbed of ``api_key`` and of anything shaped like a
    token (a server may echo the request's ``Authorization`` header), and cut short afterwards;
    the error's ``server_message`` holds all of it, scrubbed.
    """
    if not 200 <= status < 300:
        hint = " (check the API key)" if status in (401, 403) else ""
        said = _server_message(body)
        detail = shown(said, api_key)
        rejected = status in (401, 403)
        raise (TokenAuthenticationError if rejected else StreamstraightTokenError)(
            f"the token endpoint answered HTTP {status}{hint}" + (f": {detail}" if detail else ""),
            status=status,
            server_message=scrub(said, api_key) if said else None,
        )
    if not complete:
        raise StreamstraightTokenError(
            f"the token endpoint answered HTTP {status} with more than {MAX_ANSWER_BYTES:,} "
            "bytes, which is no token",
            status=status,
        )
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        raise StreamstraightTokenError(
            f"the token endpoint answered HTTP {status} with a body that is not JSON",
            status=status,
        ) from None
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise StreamstraightTokenError(
            "the token endpoint's answer has no 'token' string", status=status
        )
    if token.count(".") != 2 or any(c.isspace() for c in token):
        raise StreamstraightTokenError(
            "the token endpoint's 'token' is not a JWT (three dot-separated parts)",
            status=status,
        )
    return token


def _server_message(body: str) -> str:
    """What an error answer says: its ``error`` or ``message`` string, else the body itself
    (whole: it is scrubbed before it is cut)."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        return body.strip()
    if isinstance(answer, dict):
        for key in ("error", "message"):
            if isinstance(answer.get(key), str):
                return str(answer[key])
    return ""


def token_claims(token: str) -> dict[str, Any]:
    """The token's claims, decoded without verifying the signature (see module doc)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise StreamstraightTokenError(f"the client token is not a readable JWT: {exc}") from None
    return dict(claims)


def token_expiry(token: str) -> float | None:
    """Expiry of a token as a UNIX time, or None when it carries no ``exp``."""
    exp = token_claims(token).get("exp")
    return float(exp) if isinstance(exp, (int, float)) else None


class TokenCache:
    """Keeps one token until ``REFRESH_MARGIN`` seconds before it expires."""

    __slots__ = ("_expires", "_token")

    def __init__(self) -> None:
        self._token: str | None = None
        self._expires = 0.0

    def __repr__(self) -> str:
        return f"TokenCache(held={self._token is not None})"

    def get(self, now: float) -> str | None:
        if self._token is not None and now < self._expires - REFRESH_MARGIN:
            return self._token
        return None

    def put(self, token: str) -> None:
        expires = token_expiry(token)
        self._token = token if expires is not None else None
        self._expires = expires or 0.0
