"""The plain HTTP routes of the dev server: ``POST /v1/token`` and ``GET /healthz``."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from streamstraight_server._core.protocol import TOKEN_PATH

from .config import Faults
from .handshake import api_key_ok
from .tokens import TokenIssuer


def add_http_routes(
    app: web.Application, api_key: str, issuer: TokenIssuer, faults: Callable[[], Faults]
) -> None:
    async def token(request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization")
        if not api_key_ok(authorization, api_key):
            error = "invalid or missing API key"
            if faults().echo_credentials:
                error += f" (got Authorization: {authorization})"
            return web.json_response({"error": error}, status=401)
        return web.json_response({"token": issuer.mint()})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_post(TOKEN_PATH, token)
    app.router.add_get("/healthz", health)
