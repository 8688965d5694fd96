"""The plain HTTP routes of the dev server: ``POST /v1/token`` and ``GET /healthz``."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from streamstraight_server._core.protocol import TOKEN_PATH

from .config import Faults
from .handshake import api_key_ok, wrong_key_message
from .store import Store
from .tokens import TokenIssuer


def add_http_routes(
    app: web.Application,
    api_key: str,
    issuer: TokenIssuer,
    faults: Callable[[], Faults],
    store: Store,
    key_made_this_run: bool = False,
) -> None:
    async def token(request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization")
        if not api_key_ok(authorization, api_key):
            error = wrong_key_message(key_made_this_run)
            store.report("refused", None, role="token request", code="unauthorized", detail=error)
            if faults().echo_credentials:
                error += f" (got Authorization: {authorization})"
            return web.json_response({"error": error}, status=401)
        return web.json_response({"token": issuer.mint()})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_post(TOKEN_PATH, token)
    app.router.add_get("/healthz", health)
