"""The plain HTTP routes of the dev server: ``POST /v1/token`` and ``GET /healthz``."""

from __future__ import annotations

from aiohttp import web

from streamstraight_server._core.protocol import TOKEN_PATH

from .handshake import api_key_ok
from .tokens import TokenIssuer


def add_http_routes(app: web.Application, api_key: str, issuer: TokenIssuer) -> None:
    async def token(request: web.Request) -> web.Response:
        if not api_key_ok(request.headers.get("Authorization"), api_key):
            return web.json_response({"error": "invalid or missing API key"}, status=401)
        return web.json_response({"token": issuer.mint()})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_post(TOKEN_PATH, token)
    app.router.add_get("/healthz", health)
