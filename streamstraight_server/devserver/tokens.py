"""Client tokens of the dev server: HS256 JWTs minted by ``POST /v1/token``.

Claims:

- ``iss``: ``"streamstraight-local"``
- ``iat`` / ``exp``: issue and expiry time (seconds since the epoch); lifetime ``token_ttl``
- ``jti``: a random id, unique per token
- ``scope``: ``"stream:read"`` (tokens let a consumer read any stream; the request has no stream id)
- ``kid``: a random, non-secret id of the signing key (also in the JWT header). It is never derived
  from the API key.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

ISSUER = "streamstraight-local"
SCOPE = "stream:read"
ALGORITHM = "HS256"


class TokenError(Exception):
    """The token is missing, malformed, badly signed, expired or has the wrong claims."""


class TokenIssuer:
    def __init__(self, secret: str, default_ttl: float) -> None:
        self._secret = secret
        self.default_ttl = default_ttl
        self.key_id = "local-" + secrets.token_hex(6)

    def mint(self, ttl: float | None = None) -> str:
        now = int(time.time())
        lifetime = self.default_ttl if ttl is None else ttl
        claims = {
            "iss": ISSUER,
            "iat": now,
            "exp": now + round(lifetime),
            "jti": secrets.token_urlsafe(12),
            "scope": SCOPE,
            "kid": self.key_id,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"kid": self.key_id})

    def verify(self, token: object) -> dict[str, Any]:
        if not isinstance(token, str) or not token:
            raise TokenError("missing token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"invalid token ({type(exc).__name__})") from exc
        if claims.get("scope") != SCOPE:
            raise TokenError("token lacks scope stream:read")
        return claims
